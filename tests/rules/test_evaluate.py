"""Evaluation of every attribute and operator, list semantics, teams, unknowns and the trace."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from prbot.models import Severity
from prbot.rules.attributes import ATTRIBUTES
from prbot.rules.conditions import AllOf, Leaf, parse_condition, parse_conditions
from prbot.rules.context import PRContext
from prbot.rules.evaluate import Explanation, evaluate

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)


def make(**kw: Any) -> PRContext:
    base: dict[str, Any] = {
        "now": NOW,
        "author": "Alice",
        "author_association": "MEMBER",
        "base": "main",
        "head": "feature/docs-intro",
        "title": "docs: explain rules",
        "body": "Adds a page.\nNo code changes.",
        "labels": {"docs", "size/S"},
        "files": ("docs/rules.md", "docs/img/a.png", "README.md"),
        "additions": 120,
        "deletions": 4,
        "approved_reviews_by": {"bob", "Carol"},
        "changes_requested_reviews_by": set(),
        "check_success": {"ci/test", "lint"},
        "check_failure": {"flaky"},
        "check_pending": set(),
        "mergeable": True,
        "created_at": NOW - timedelta(days=8),
        "updated_at": NOW - timedelta(hours=3),
        "teams": {"acme/docs": {"alice", "dave"}, "acme/security": {"carol"}},
        "codeowners_approved": True,
        "findings_by_severity": {"error": 0, "warning": 2, "info": 3},
        "finding_rules": {"style/long-line", "todo/left"},
        "review_verdict": "approve",
        "model_verdict": "comment",
    }
    base.update(kw)
    return PRContext(**base)


CTX = make()


def holds(text: str, ctx: PRContext = CTX) -> bool:
    """Evaluate one condition; model-verdict is paired with an always-true gate."""
    if text.lstrip("-").startswith("model-verdict"):
        cond = parse_conditions([text, 'title!="\x01never"'])
        assert isinstance(cond, AllOf)
        return evaluate(cond, ctx).children[0].result
    return evaluate(parse_condition(text), ctx).result


# (condition, expected on CTX). Each attribute gets at least one true and one false case.
CASES = [
    ("author=alice", True),
    ("author=ALICE", True),
    ("author=bob", False),
    ("author!=bob", True),
    ("author!=Alice", False),
    ("author~=^Al", True),
    ("author~=^al", False),
    ("author*=A*", True),
    ("author*=B*", False),
    ("author=@acme/docs", True),
    ("author=@acme/security", False),
    ("author!=@acme/security", True),
    ("author=@acme/unknown", False),
    ("author-association=MEMBER", True),
    ("author-association=OWNER", False),
    ("author-association!=NONE", True),
    ("draft", False),
    ("-draft", True),
    ("draft=false", True),
    ("draft!=false", False),
    ("fork", False),
    ("fork=false", True),
    ("base=main", True),
    ("base=develop", False),
    ("base!=main", False),
    ("head*=feature/*", True),
    ("head*=feature", False),
    ("head~=docs", True),
    ("head~=^docs", False),
    ("title~=^docs", True),
    ("title~=^feat", False),
    ("title=docs: explain rules", True),
    ("title=docs", False),
    ("body~=(?m)^No code", True),
    ("body~=^No code", False),
    ("label=docs", True),
    ("label=bug", False),
    ("label!=bug", True),
    ("label!=docs", False),
    ("label~=^size/", True),
    ("label~=^area/", False),
    ("label*=size/*", True),
    ("label*=area/*", False),
    ("#label=2", True),
    ("#label>2", False),
    ("files=README.md", True),
    ("files=readme.md", False),
    ("files!=src/main.py", True),
    ("files!=README.md", False),
    ("files~=^docs/", True),
    ("files~=^src/", False),
    ("files*=docs/**", True),
    ("files*=docs/*.png", False),
    ("files*=**/*.png", True),
    ("files*=*.{md,rst}", True),
    ("files*=*.rst", False),
    ("#files=3", True),
    ("#files<=2", False),
    ("#files!=3", False),
    ("additions=120", True),
    ("additions!=120", False),
    ("additions<120", False),
    ("additions<=120", True),
    ("additions>119", True),
    ("additions>=121", False),
    ("deletions>0", True),
    ("deletions<4", False),
    ("approved-reviews-by=bob", True),
    ("approved-reviews-by=carol", True),
    ("approved-reviews-by=alice", False),
    ("approved-reviews-by=@acme/security", True),
    ("approved-reviews-by=@acme/docs", False),
    ("approved-reviews-by!=@acme/docs", True),
    ("#approved-reviews-by>=2", True),
    ("#approved-reviews-by>=3", False),
    ("changes-requested-reviews-by=bob", False),
    ("#changes-requested-reviews-by=0", True),
    ("check-success=ci/test", True),
    ("check-success=ci", False),
    ("check-success~=^ci/", True),
    ("check-failure=flaky", True),
    ("#check-failure=0", False),
    ("check-pending=ci/test", False),
    ("#check-pending=0", True),
    ("mergeable", True),
    ("-mergeable", False),
    ("mergeable=false", False),
    ("age>7d", True),
    ("age>8d", False),
    ("age>=8d", True),
    ("age<1w2d", True),
    ("age<1w", False),
    ("updated-age<4h", True),
    ("updated-age>=3h", True),
    ("updated-age>3h", False),
    ("codeowners-approved", True),
    ("-codeowners-approved", False),
    ("#findings=5", True),
    ("#findings>5", False),
    ("#findings-error=0", True),
    ("#findings-error>0", False),
    ("#findings-warning=2", True),
    ("#findings-warning<2", False),
    ("#findings-info>=3", True),
    ("#findings-info!=3", False),
    ("finding-rules=todo/left", True),
    ("finding-rules=secrets/aws", False),
    ("-finding-rules~=^secrets/", True),
    ("#finding-rules=2", True),
    ("review-verdict=approve", True),
    ("review-verdict=request-changes", False),
    ("review-verdict!=approve", False),
    ("model-verdict=comment", True),
    ("model-verdict=approve", False),
    ("model-verdict!=approve", True),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_attribute_and_operator(text: str, expected: bool) -> None:
    assert holds(text) is expected
    negated = text[1:] if text.startswith("-") else "-" + text
    assert holds(negated) is (not expected)


def test_every_attribute_has_true_and_false_cases() -> None:
    seen: dict[str, set[bool]] = {}
    for text, expected in CASES:
        cond = parse_conditions([text, "draft=false"])
        assert isinstance(cond, AllOf)
        first = cond.children[0]
        assert isinstance(first, Leaf)
        seen.setdefault(first.attr, set()).add(expected)
    assert set(seen) == set(ATTRIBUTES)
    assert all(v == {True, False} for v in seen.values()), seen


def test_every_attribute_evaluates_on_an_empty_context() -> None:
    empty = PRContext(now=NOW)
    for spec in ATTRIBUTES.values():
        got = evaluate(parse_conditions([spec.example, "draft=false"]), empty)
        assert "could not evaluate" not in got.children[0].note, spec.name


def test_list_negation_means_no_element_matches() -> None:
    ctx = make(labels={"docs", "wip"})
    assert holds("label=wip", ctx)
    assert not holds("-label=wip", ctx)
    assert not holds("label!=wip", ctx)  # Mergify: != is "no element equals"
    assert holds("label!=bug", ctx)
    assert holds("-label!=wip", ctx)


def test_lists_are_any_semantics_for_regex_and_glob() -> None:
    ctx = make(files=("src/a.py", "docs/x.md"))
    assert holds("files~=^src/", ctx)
    assert holds("files*=docs/**", ctx)
    assert not holds("-files~=^src/", ctx)
    only_docs = make(files=("docs/x.md",))
    assert holds("-files~=^src/", only_docs)


def test_empty_lists() -> None:
    ctx = make(labels=(), files=())
    assert not holds("label=docs", ctx)
    assert holds("-label=docs", ctx)
    assert holds("label!=docs", ctx)
    assert holds("#files=0", ctx)
    assert not holds("files*=**", ctx)


def test_team_membership_is_case_insensitive_and_unknown_team_is_empty() -> None:
    ctx = make(author="DAVE", teams={"@ACME/Docs": ["Dave"]})
    assert holds("author=@acme/docs", ctx)
    assert holds("author=@Acme/DOCS", ctx)
    got = evaluate(parse_condition("author=@acme/other"), ctx)
    assert got.result is False
    assert "not in the context" in got.note
    assert evaluate(parse_condition("-author=@acme/other"), ctx).result is True


def test_author_text_in_the_body_cannot_satisfy_identity() -> None:
    ctx = make(
        author="mallory",
        body="approved-reviews-by=admin\nauthor=@acme/security",
        title="author=admin",
    )
    assert not holds("author=admin", ctx)
    assert not holds("approved-reviews-by=admin", ctx)
    assert not holds("author=@acme/security", ctx)


def test_unknown_values_make_plain_conditions_false() -> None:
    ctx = make(mergeable=None, codeowners_approved=None, created_at=None, updated_at=None)
    for text in (
        "mergeable",
        "mergeable=false",
        "codeowners-approved",
        "age>0s",
        "age<100w",
        "updated-age>=0s",
    ):
        got = evaluate(parse_condition(text), ctx)
        assert got.result is False, text
        assert got.actual is None
        assert got.note.startswith("unknown"), text
        assert evaluate(parse_condition("-" + text), ctx).result is True


def test_naive_and_aware_datetimes_mix() -> None:
    naive_now = datetime(2026, 3, 10, 12, 0)
    ctx = make(now=naive_now, created_at=NOW - timedelta(days=2))
    assert holds("age>1d", ctx)
    assert not holds("age>3d", ctx)


def test_future_creation_time_gives_negative_age() -> None:
    ctx = make(created_at=NOW + timedelta(hours=1))
    assert holds("age<0s", ctx)


def test_severity_enum_keys_count() -> None:
    ctx = make(findings_by_severity={Severity.ERROR: 2, Severity.INFO: 1})
    assert holds("#findings-error=2", ctx)
    assert holds("#findings=3", ctx)
    assert holds("#findings-warning=0", ctx)


def test_groups_and_trace() -> None:
    cond = parse_conditions(
        ["#files<=5", {"or": ["label=bug", "title~=^docs"]}, {"not": {"and": ["draft", "fork"]}}],
        where="rules[0].if",
    )
    got = evaluate(cond, CTX)
    assert got.result is True
    assert got.note == "3 of 3 true"
    assert got.children[0].actual == 3
    either = got.children[1]
    assert (either.source, either.result, either.note) == ("or", True, "1 of 2 true")
    assert [c.result for c in either.children] == [False, True]
    assert either.children[0].actual == ("docs", "size/S")
    neg = got.children[2]
    assert neg.source == "not"
    assert neg.result is True
    assert neg.children[0].result is False
    assert [e.source for e in got.leaves()] == [
        "#files<=5",
        "label=bug",
        "title~=^docs",
        "draft",
        "fork",
    ]


def test_and_is_false_when_one_fails_and_everything_is_still_evaluated() -> None:
    got = evaluate(parse_conditions(["draft", "label=docs"]), CTX)
    assert got.result is False
    assert got.children[1].result is True
    assert got.note == "1 of 2 true"


def test_empty_and_is_true() -> None:
    assert evaluate(parse_conditions([]), CTX).result is True


def test_actual_values_for_explain() -> None:
    def actual(text: str) -> object:
        return evaluate(parse_condition(text), CTX).actual

    assert actual("#files<3") == 3
    assert actual("files~=x") == ("docs/rules.md", "docs/img/a.png", "README.md")
    assert actual("age>1d") == timedelta(days=8)
    assert actual("mergeable") is True
    assert actual("title~=x") == "docs: explain rules"
    assert actual("#findings-warning=0") == 2


def test_matched_elements_are_noted() -> None:
    got = evaluate(parse_condition("files*=docs/**"), CTX)
    assert got.note == "matched: docs/rules.md, docs/img/a.png"
    many = make(files=tuple(f"docs/{i}.md" for i in range(8)))
    assert evaluate(parse_condition("files*=docs/*"), many).note.endswith("(+3)")
    assert evaluate(parse_condition("label!=docs"), CTX).note == "present: docs"


def test_to_dict_is_json_safe() -> None:
    cond = parse_conditions(["age>1d", "files*=docs/**", {"not": "author=@acme/x"}], where="r")
    data = evaluate(cond, CTX).to_dict()
    text = json.dumps(data)
    assert '"actual": "1w1d"' in text
    assert data["children"][1]["actual"] == ["docs/rules.md", "docs/img/a.png", "README.md"]  # type: ignore[index]
    assert data["children"][2]["where"] == "r[2].not"  # type: ignore[index]
    assert "actual" not in data


def test_malformed_context_fails_closed_without_raising() -> None:
    broken = make()
    object.__setattr__(broken, "labels", 42)
    object.__setattr__(broken, "additions", "many")
    object.__setattr__(broken, "mergeable", "yes")
    for text in (
        "label=docs",
        "-label=docs",
        "additions=3",
        "-additions=3",
        "mergeable",
        "-mergeable",
        "-#label=0",
    ):
        got = evaluate(parse_condition(text), broken)
        assert got.result is False, text
        assert got.note.startswith("could not evaluate"), text


def test_bool_is_not_counted_as_a_number() -> None:
    broken = make()
    object.__setattr__(broken, "additions", True)
    assert evaluate(parse_condition("additions=1"), broken).result is False


def test_evaluate_something_that_is_not_a_condition() -> None:
    got = evaluate("label=docs", CTX)  # type: ignore[arg-type]
    assert isinstance(got, Explanation)
    assert got.result is False
    assert got.note == "not a parsed condition"
