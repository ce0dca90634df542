"""The template sandbox: whitelisted names only, nothing evaluated, PR text made inert."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prbot.rules.context import PRContext
from prbot.rules.template import (
    MAX_VALUE_CHARS,
    TEMPLATE_FIELDS,
    TemplateError,
    compile_template,
    escape,
    template_values,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)


def ctx(**kw: object) -> PRContext:
    base: dict[str, object] = {
        "now": NOW,
        "author": "alice",
        "title": "Fix parser",
        "number": 42,
        "url": "https://forge.example/acme/app/pull/42",
        "head_sha": "0123456789abcdef0123",
        "labels": {"b", "a"},
        "files": ("x.py", "y.py"),
        "findings_by_severity": {"error": 1, "warning": 2},
        "review_verdict": "request-changes",
    }
    base.update(kw)
    return PRContext(**base)  # type: ignore[arg-type]


def render(text: str, **kw: object) -> str:
    return compile_template(text).render(template_values(ctx(**kw), rule="my rule"))


def test_substitutes_whitelisted_names() -> None:
    out = render(
        "#{{pr.number}} {{ pr.title }} by {{ author }}: {{ findings.error }}/{{ findings.total }}"
        " on {{ pr.head_sha }} [{{ pr.labels }}] {{ pr.files }} files, {{ rule.name }}"
    )
    assert out == "#42 Fix parser by alice: 1/3 on 0123456789ab [a, b] 2 files, my rule"


def test_every_whitelisted_name_has_a_value() -> None:
    assert set(template_values(ctx())) == set(TEMPLATE_FIELDS)


@pytest.mark.parametrize(
    "text",
    [
        "{{ __class__ }}",
        "{{ pr.title.__init__ }}",
        "{{ pr.title.upper() }}",
        "{{ pr.title | upper }}",
        "{{ pr['title'] }}",
        "{{ pr }}",
        "{{ 1 + 1 }}",
        "{{ }}",
        "{{ ctx.__dict__ }}",
        "{{ pr.body }}",
        "{{ lipsum.__globals__ }}",
        "{% for x in pr %}x{% endfor %}",
        "{{ pr.title ",
        "text {{ pr.title }} {{",
    ],
)
def test_injection_attempts_are_load_time_errors(text: str) -> None:
    with pytest.raises(TemplateError) as info:
        compile_template(text)
    assert info.value.position is not None and 0 <= info.value.position < len(text)


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(TemplateError) as info:
        compile_template("{{ pr.titel }}")
    assert "did you mean {{ pr.title }}?" in info.value.hint


def test_values_cannot_ping_or_inject_markup() -> None:
    out = render(
        "{{ pr.title }}", title="@everyone <!-- prbot:describe:start --> <!here> a&b\nnew line"
    )
    assert "@everyone" not in out and "@\u200beveryone" in out
    assert "<" not in out and ">" not in out and "\n" not in out
    assert "&amp;" in out and "&lt;!here&gt;" in out


def test_values_are_not_expanded_again() -> None:
    out = render("{{ pr.title }}", title="{{ pr.url }} {% for %}")
    assert out == "{{ pr.url }} {% for %}"


def test_long_values_are_cut() -> None:
    out = render("{{ pr.title }}", title="x" * 5000)
    assert len(out) == MAX_VALUE_CHARS and out.endswith("…")


def test_literal_text_is_kept_verbatim_and_lone_braces_are_fine() -> None:
    text = "Hi @team } }} {x} <b>bold</b>"
    assert compile_template(text).render({}) == text
    assert compile_template("").render({}) == ""


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_escape_never_leaves_a_live_mention_or_tag(value: str) -> None:
    out = escape(value)
    assert "<" not in out and ">" not in out and "\n" not in out and "\r" not in out
    assert all(out[i + 1] == "\u200b" for i, ch in enumerate(out) if ch == "@")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_compile_never_raises_anything_else(text: str) -> None:
    try:
        template = compile_template(text)
    except TemplateError:
        return
    assert set(template.names) <= set(TEMPLATE_FIELDS)
    template.render(template_values(ctx()))
