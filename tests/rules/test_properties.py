"""Properties: the parser only ever raises ConditionSyntaxError, negation is exact, evaluation
never raises."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prbot.rules.attributes import (
    ASSOCIATIONS,
    ATTRIBUTES,
    EQUALITY,
    OPERATORS,
    ORDERING,
    VERDICTS,
    AttrType,
)
from prbot.rules.conditions import ConditionSyntaxError, parse_condition, parse_conditions
from prbot.rules.context import PRContext
from prbot.rules.evaluate import evaluate

NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)
GATE = 'title!="\x01never"'  # always true; lets model-verdict leaves be parsed on their own
FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NAMES = sorted(ATTRIBUTES)
WORDS = [
    "alice",
    "Bob",
    "carol",
    "main",
    "dev",
    "docs",
    "wip",
    "bug",
    "ci",
    "lint",
    "README.md",
    "docs/a.md",
    "src/x.py",
]
TEAMS = ["@acme/docs", "@acme/sec", "@acme/none"]
REGEXES = ["^a", "docs", "(?i)WIP", "md$", "^$", ".*", "^src/", r"\d"]
GLOBS = ["*", "**", "docs/**", "*.md", "a*", "{main,dev}", "**/*.py", "?ob"]
DURATIONS = ["0s", "30m", "12h", "1d", "7d", "1w2d", "100w"]


@st.composite
def leaf_texts(draw: st.DrawFn) -> str:
    """A valid, un-negated leaf condition for any attribute."""
    name = draw(st.sampled_from(NAMES))
    spec = ATTRIBUTES[name]
    space = draw(st.sampled_from(["", " "]))
    if spec.count_only or (spec.is_list and draw(st.booleans())):
        op = draw(st.sampled_from(sorted(EQUALITY | ORDERING)))
        return f"#{name}{space}{op}{space}{draw(st.integers(-1, 6))}"
    if spec.type is AttrType.BOOL:
        if draw(st.booleans()):
            return name
        return (
            f"{name}{draw(st.sampled_from(['=', '!=']))}{draw(st.sampled_from(['true', 'false']))}"
        )
    if spec.type is AttrType.INT:
        op = draw(st.sampled_from(sorted(EQUALITY | ORDERING)))
        return f"{name}{space}{op}{space}{draw(st.integers(-5, 400))}"
    if spec.type is AttrType.DURATION:
        return f"{name}{draw(st.sampled_from(sorted(ORDERING)))}{draw(st.sampled_from(DURATIONS))}"
    if spec.choices:
        return f"{name}{draw(st.sampled_from(['=', '!=']))}{draw(st.sampled_from(spec.choices))}"
    op = draw(st.sampled_from(["=", "!=", "~=", "*="]))
    if op == "~=":
        value = draw(st.sampled_from(REGEXES))
    elif op == "*=":
        value = draw(st.sampled_from(GLOBS))
    elif spec.logins and draw(st.booleans()):
        value = draw(st.sampled_from(TEAMS))
    else:
        value = draw(st.sampled_from(WORDS))
    return f"{name}{space}{op}{space}{value}"


def _times() -> st.SearchStrategy[datetime | None]:
    return st.none() | st.datetimes(
        min_value=datetime(2025, 1, 1),
        max_value=datetime(2026, 6, 1),
        timezones=st.none() | st.just(timezone.utc) | st.just(timezone(timedelta(hours=-7))),
    )


def _names(pool: list[str]) -> st.SearchStrategy[frozenset[str]]:
    return st.frozensets(st.sampled_from(pool), max_size=3)


contexts = st.builds(
    PRContext,
    now=st.just(NOW),
    author=st.sampled_from(["alice", "Bob", "", "mallory"]),
    author_association=st.sampled_from(ASSOCIATIONS),
    draft=st.booleans(),
    fork=st.booleans(),
    base=st.sampled_from(["main", "dev", ""]),
    head=st.sampled_from(["main", "feature/a", "dev"]) | st.text(max_size=8),
    title=st.text(max_size=20) | st.sampled_from(WORDS),
    body=st.text(max_size=40),
    labels=_names(["docs", "wip", "bug", "size/S"]),
    files=st.lists(
        st.sampled_from(["docs/a.md", "src/x.py", "README.md", "a/b/c.md"]) | st.text(max_size=8),
        max_size=4,
    ).map(tuple),
    additions=st.integers(0, 500),
    deletions=st.integers(0, 500),
    approved_reviews_by=_names(["alice", "bob", "Carol"]),
    changes_requested_reviews_by=_names(["alice", "bob"]),
    check_success=_names(["ci", "lint"]),
    check_failure=_names(["ci", "lint"]),
    check_pending=_names(["ci"]),
    mergeable=st.none() | st.booleans(),
    created_at=_times(),
    updated_at=_times(),
    teams=st.just({"acme/docs": ["alice", "bob"], "acme/sec": ["carol"]}),
    codeowners_approved=st.none() | st.booleans(),
    findings_by_severity=st.dictionaries(
        st.sampled_from(["info", "warning", "error"]), st.integers(0, 3)
    ),
    finding_rules=_names(["todo/left", "secrets/aws"]),
    review_verdict=st.sampled_from([*VERDICTS, ""]),
    model_verdict=st.sampled_from([*VERDICTS, ""]),
)


def _leaf_result(text: object, ctx: PRContext) -> bool:
    got = evaluate(parse_conditions([text, GATE]), ctx).children[0]
    assert "could not evaluate" not in got.note, got
    return got.result


@FAST
@given(leaf_texts(), contexts)
def test_negation_is_exact(text: str, ctx: PRContext) -> None:
    plain = _leaf_result(text, ctx)
    assert _leaf_result("-" + text, ctx) is (not plain)
    assert _leaf_result({"not": text}, ctx) is (not plain)
    assert _leaf_result({"not": "-" + text}, ctx) is plain


@FAST
@given(leaf_texts(), leaf_texts(), contexts)
def test_de_morgan(a: str, b: str, ctx: PRContext) -> None:
    either = _leaf_result({"or": [a, b]}, ctx)
    neither = _leaf_result({"and": ["-" + a, "-" + b]}, ctx)
    assert either is (not neither)
    assert _leaf_result({"and": [a, b]}, ctx) is (_leaf_result(a, ctx) and _leaf_result(b, ctx))


def _parse_or_syntax_error(obj: object) -> None:
    for parse in (parse_condition, parse_conditions):
        try:
            cond = parse(obj)
        except ConditionSyntaxError as exc:
            assert exc.message
            assert isinstance(str(exc), str)
        else:
            result = evaluate(cond, PRContext(now=NOW, files=("a/b.md",), labels={"x"})).result
            assert isinstance(result, bool)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_parser_never_crashes_on_any_text(text: str) -> None:
    _parse_or_syntax_error(text)


_PATTERN_CHARS = "*?[]{},/\\()+.^$|!ab09dwhms@-'\" #=<>~:"
grammar_texts = st.builds(
    lambda pre, name, sp, op, value: f"{pre}{name}{sp}{op}{sp}{value}",
    st.sampled_from(["", "-", "#", "-#", "#-", "--", " - "]),
    st.sampled_from([*NAMES, "x", "Label", "", "files_", "#files"]),
    st.sampled_from(["", " ", "\t"]),
    st.sampled_from([*OPERATORS, "", "==", ":", "≥", "=~"]),
    st.text(alphabet=_PATTERN_CHARS, max_size=24) | st.text(max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(grammar_texts)
def test_parser_never_crashes_on_grammar_shaped_text(text: str) -> None:
    _parse_or_syntax_error(text)


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.binary(max_size=4)
    | st.text(max_size=10)
    | grammar_texts
    | leaf_texts()
)
_keys = (
    st.sampled_from(["and", "or", "not", "AND", " or", "label", "draft"])
    | st.text(max_size=4)
    | st.integers()
    | st.none()
)
structures = st.recursive(
    _scalars,
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.tuples(kids, kids)
        | st.dictionaries(_keys, kids, max_size=2)
        | st.dictionaries(st.sampled_from(["and", "or", "not"]), kids, min_size=1, max_size=1)
    ),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(structures)
def test_parser_never_crashes_on_nested_structures(obj: object) -> None:
    _parse_or_syntax_error(obj)


@FAST
@given(st.lists(leaf_texts(), min_size=1, max_size=4), contexts)
def test_evaluation_never_raises_and_explains_every_leaf(items: list[str], ctx: PRContext) -> None:
    cond = parse_conditions([*items, GATE])
    got = evaluate(cond, ctx)
    assert [leaf.source for leaf in got.leaves()] == [t.strip() for t in items] + [GATE]
    assert got.result is all(leaf.result for leaf in got.leaves())
    assert isinstance(got.to_dict(), dict)
