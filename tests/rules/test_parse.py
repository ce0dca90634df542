"""Parsing and type-checking of rule conditions: accepted forms and every error message."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from prbot.rules.conditions import (
    AllOf,
    AnyOf,
    ConditionSyntaxError,
    Leaf,
    Not,
    TeamRef,
    leaves,
    parse_condition,
    parse_conditions,
)
from prbot.rules.patterns import Glob


def leaf(text: str) -> Leaf:
    cond = parse_condition(text)
    assert isinstance(cond, Leaf)
    return cond


def error(obj: object, *, where: str = "") -> ConditionSyntaxError:
    with pytest.raises(ConditionSyntaxError) as info:
        parse_condition(obj, where=where)
    return info.value


# --- accepted forms ---------------------------------------------------------------------------


def test_plain_leaf_fields() -> None:
    got = leaf("label=docs")
    assert (got.attr, got.op, got.value, got.negate, got.count) == (
        "label",
        "=",
        "docs",
        False,
        False,
    )
    assert got.source == "label=docs"


def test_negated_count_leaf() -> None:
    got = leaf("-#files>10")
    assert (got.attr, got.op, got.value, got.negate, got.count) == ("files", ">", 10, True, True)


@pytest.mark.parametrize("text", ["base = main", "  base=main  ", "base\t=\tmain", "base= main"])
def test_spaces_around_operator_are_allowed(text: str) -> None:
    got = leaf(text)
    assert (got.attr, got.op, got.value) == ("base", "=", "main")


def test_spaces_after_minus_and_hash() -> None:
    got = leaf("- # files <= 5")
    assert (got.negate, got.count, got.attr, got.op, got.value) == (True, True, "files", "<=", 5)


@pytest.mark.parametrize(
    ("text", "negate", "value"),
    [
        ("draft", False, True),
        ("-draft", True, True),
        ("draft=false", False, False),
        ("draft=TRUE", False, True),
    ],
)
def test_bare_boolean_means_true(text: str, negate: bool, value: bool) -> None:
    got = leaf(text)
    assert (got.attr, got.op, got.negate, got.value) == ("draft", "=", negate, value)


@pytest.mark.parametrize("op", ["<=", ">=", "!=", "=", "<", ">"])
def test_every_int_operator_is_read_whole(op: str) -> None:
    got = leaf(f"additions{op}5")
    assert got.op == op
    assert got.value == 5


def test_negative_and_signed_integers() -> None:
    assert leaf("additions>-1").value == -1
    assert leaf("additions>+3").value == 3


def test_operator_characters_inside_the_value_belong_to_the_value() -> None:
    got = leaf("title=a=b<c")
    assert (got.op, got.value) == ("=", "a=b<c")
    assert leaf("title!==x").value == "=x"


def test_quoted_values_are_verbatim() -> None:
    assert leaf('title=" padded "').value == " padded "
    assert leaf("title=''").value == ""
    assert leaf("title='say \"hi\"'").value == 'say "hi"'
    assert leaf(r'title~="^\d+ "').value.pattern == r"^\d+ "  # type: ignore[attr-defined]


def test_regex_value_is_compiled() -> None:
    got = leaf(r"title~=^(feat|fix)(\(.+\))?:")
    assert isinstance(got.value, re.Pattern)
    assert got.value.search("fix(core): x")


def test_glob_value_is_compiled() -> None:
    got = leaf("files*=docs/**")
    assert isinstance(got.value, Glob)
    assert str(got.value) == "docs/**"


def test_duration_value() -> None:
    assert leaf("age>1w2d").value == timedelta(days=9)
    assert leaf("updated-age<=90m").value == timedelta(minutes=90)


def test_team_reference_on_login_attributes() -> None:
    assert leaf("author=@Acme/Docs").value == TeamRef("acme/docs")
    assert leaf("approved-reviews-by=@acme/sec").value == TeamRef("acme/sec")
    assert leaf("author=@group/sub/team").value == TeamRef("group/sub/team")


def test_at_sign_is_literal_on_other_attributes() -> None:
    assert leaf("label=@acme/x").value == "@acme/x"
    assert leaf("title=@here").value == "@here"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("author-association=member", "MEMBER"),
        ("author-association=First-Time-Contributor", "FIRST_TIME_CONTRIBUTOR"),
        ("review-verdict=APPROVE", "approve"),
        ("model-verdict=request_changes", "request-changes"),
    ],
)
def test_choice_values_are_normalised(text: str, canonical: str) -> None:
    cond = parse_conditions([text, "check-success=ci"])
    assert isinstance(cond, AllOf)
    first = cond.children[0]
    assert isinstance(first, Leaf)
    assert first.value == canonical


def test_list_is_implicit_and_with_locations() -> None:
    cond = parse_conditions(["draft", {"or": ["label=a", {"not": "fork"}]}], where="rules[1].if")
    assert isinstance(cond, AllOf)
    assert cond.where == "rules[1].if"
    first, second = cond.children
    assert isinstance(first, Leaf)
    assert first.where == "rules[1].if[0]"
    assert isinstance(second, AnyOf)
    assert second.where == "rules[1].if[1].or"
    inner = second.children[1]
    assert isinstance(inner, Not)
    assert inner.where == "rules[1].if[1].or[1].not"
    assert [x.source for x in leaves(cond)] == ["draft", "label=a", "fork"]


def test_empty_top_level_list_is_allowed_and_tuple_works() -> None:
    assert parse_conditions([]) == AllOf(())
    assert isinstance(parse_conditions(("draft",)), AllOf)


def test_example_from_the_docs_parses() -> None:
    cond = parse_conditions(
        [
            "#files<=5",
            "-files~=^src/",
            "author-association=MEMBER",
            "#findings-error=0",
            {"or": ["label=docs", "title~=^docs"]},
            {"not": {"and": ["draft", "fork"]}},
        ]
    )
    assert isinstance(cond, AllOf)
    assert len(cond.children) == 6


# --- errors: every message names the condition and teaches the fix ---------------------------


def test_unknown_attribute_with_did_you_mean() -> None:
    err = error("lable=docs", where="rules[0].if[2]")
    assert 'condition "lable=docs"' in err.message
    assert "unknown attribute 'lable'" in err.message
    assert "did you mean label?" in err.hint
    assert err.where == "rules[0].if[2]"
    assert str(err).startswith("rules[0].if[2]: ")
    assert err.position == 0


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("from-fork", "fork"),
        ("#added-lines>10", "additions"),
        ("updated-at>1d", "updated-age"),
        ("author_association=MEMBER", "author-association"),
        ("Label=x", "label"),
        ("#findings_error=0", "#findings-error"),
    ],
)
def test_names_from_other_tools_get_a_hint(text: str, suggestion: str) -> None:
    assert f"did you mean {suggestion}?" in error(text).hint


def test_unknown_attribute_without_a_close_match() -> None:
    err = error("zzzzqqq=1")
    assert "unknown attribute 'zzzzqqq'" in err.message
    assert "attribute table" in err.hint


def test_hash_on_a_non_list() -> None:
    err = error("#title>3")
    assert 'condition "#title>3"' in err.message
    assert "# counts the elements of a list, but title is text" in err.message
    assert "remove the #" in err.hint
    assert err.position == 0
    assert "a number" in error("#additions>3").message
    assert "true/false" in error("#draft").message


def test_hash_position_points_at_the_hash() -> None:
    err = error("-#title>3")
    assert err.position == 1
    assert err.pointer() == "-#title>3\n ^"


def test_count_only_attribute_without_hash() -> None:
    err = error("findings-error=0")
    assert "findings-error is a count: write it with #" in err.message
    assert "#findings-error=0" in err.hint


def test_less_than_on_a_string() -> None:
    err = error("title<3")
    assert "< compares numbers or durations, but title is text" in err.message
    assert "title takes = != ~= *=" in err.hint


def test_ordering_on_a_list_suggests_count() -> None:
    err = error("label>2")
    assert "label is a list" in err.message
    assert "#label>=2" in err.hint


def test_regex_on_an_int() -> None:
    err = error("additions~=1")
    assert "~= matches text, but additions is a number" in err.message
    assert "additions takes = != < <= > >=" in err.hint


def test_glob_on_a_bool() -> None:
    err = error("draft*=x")
    assert "*= matches text, but draft is true/false" in err.message
    assert "or just draft / -draft" in err.hint


def test_order_on_a_count_only_value_is_fine_but_regex_is_not() -> None:
    assert leaf("#findings>=2").value == 2
    assert "does not apply to a count" in error("#findings~=2").message


def test_equality_on_duration_is_refused() -> None:
    err = error("age=7d")
    assert "= cannot be used on age, which is a duration" in err.message
    assert "age takes < <= > >=" in err.hint


def test_regex_only_equality_on_choice_attributes() -> None:
    err = error("author-association~=MEM")
    assert "only = and != apply" in err.message


def test_invalid_regex() -> None:
    err = error("title~=(unclosed")
    assert 'condition "title~=(unclosed"' in err.message
    assert "invalid regex" in err.message
    assert "escape special characters" in err.hint
    assert err.position == len("title~=")


def test_regex_longer_than_the_cap() -> None:
    err = error("title~=" + "a" * 501)
    assert "regex longer than 500 characters" in err.message
    leaf("title~=" + "a" * 500)


def test_regex_with_nested_repeats_is_refused() -> None:
    err = error(r"body~=^(\w+\s?)*$")
    assert "exponential time" in err.message
    assert "drop one of the repeats" in err.hint


def test_invalid_glob() -> None:
    err = error("files*=docs/[abc")
    assert "unclosed [" in err.message
    assert r"\[" in err.hint
    assert "** must be a whole path segment" in error("files*=docs/a**").message
    assert "unclosed {" in error("files*={a,b").message
    assert "unmatched }" in error("files*=a}").message
    assert "empty glob" in error('files*=""').message


def test_duration_without_a_unit() -> None:
    err = error("age>7")
    assert 'condition "age>7"' in err.message
    assert "duration without a unit" in err.message
    assert "7d" in err.hint


def test_duration_with_a_word_unit_suggests_the_letter() -> None:
    assert "write 7d" in error("age>7days").hint
    assert "write 2h" in error("age>2 hours").hint


def test_author_association_not_in_the_list() -> None:
    err = error("author-association=MEMBERS")
    assert "'MEMBERS' is not a valid author-association" in err.message
    assert "did you mean MEMBER?" in err.hint
    assert "FIRST_TIME_CONTRIBUTOR" in err.hint


def test_verdict_not_in_the_list() -> None:
    err = error("review-verdict=approved")
    assert "not a valid review-verdict" in err.message
    assert "approve, comment, request-changes" in err.hint


def test_bad_boolean_value() -> None:
    err = error("draft=yes")
    assert "draft is true or false, got 'yes'" in err.message
    assert "-draft" in err.hint


def test_not_a_whole_number() -> None:
    for text in ("#files<=five", "additions>1.5", '#files<="5"', "additions>" + "9" * 19):
        err = error(text)
        assert "is not a whole number" in err.message, text


def test_missing_operator_and_value() -> None:
    assert "label needs an operator and a value" in error("label").message
    assert "#files needs an operator and a value" in error("#files").message
    err = error("label docs")
    assert "expected an operator after label" in err.message
    assert "*= (glob)" in err.hint


def test_missing_value() -> None:
    err = error("label=")
    assert "missing value after =" in err.message
    assert '""' in err.hint


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ("label==x", "="),
        ("additions≥3", ">="),
        ("additions≤3", "<="),
        ("label≠x", "!="),
        ("label:x", "="),
        ("title=~x", "~="),
    ],
)
def test_operators_from_other_languages(text: str, fix: str) -> None:
    err = error(text)
    assert "unknown operator" in err.message
    assert err.hint.startswith(f"write {fix},")


def test_unclosed_quote() -> None:
    err = error('title="abc')
    assert "unclosed quote" in err.message
    assert err.position == len("title=")


def test_double_negation_and_misplaced_minus() -> None:
    assert "negated twice" in error("--draft").message
    assert "the - goes before the #" in error("#-files>1").message


def test_empty_and_blank_conditions() -> None:
    for text in ("", "   ", "-", "#", "-#"):
        err = error(text)
        assert "empty condition" in err.message or "expected an attribute name" in err.message


def test_multi_line_condition_is_refused() -> None:
    err = error("label=a\nlabel=b")
    assert "a condition is one line" in err.message
    assert err.position == 7


def test_too_long_condition() -> None:
    assert "longer than 2000 characters" in error("title=" + "x" * 2100).message


def test_exact_path_with_wildcards_teaches_the_glob_operator() -> None:
    err = error("files=docs/**")
    assert "files= compares exact paths" in err.message
    assert "files*=docs/**" in err.hint
    assert "files*=docs/**" in error("files=glob:docs/**").hint
    assert "repository root" in error("files=./README.md").message
    assert "repository root" in error("files!=/etc/passwd").message
    assert leaf("files=pages/[id].tsx").value == "pages/[id].tsx"


def test_bad_team_reference() -> None:
    err = error("author=@justateam")
    assert "is not a team reference" in err.message
    assert "@org/team" in err.hint
    assert "author=justateam" in err.hint


# --- structure ---------------------------------------------------------------------------------


def test_and_with_a_non_list() -> None:
    err = error({"and": "draft"}, where="rules[0].if[3]")
    assert err.where == "rules[0].if[3].and"
    assert "expected a list of conditions, got str 'draft'" in err.message


def test_mapping_with_two_keys() -> None:
    err = error({"and": ["draft"], "or": ["fork"]})
    assert "exactly one key" in err.message
    assert "'and', 'or'" in err.message
    assert "needs exactly one key" in error({}).message


def test_not_with_a_list_and_empty_groups() -> None:
    assert "takes one condition, got a list" in error({"not": ["draft"]}).message
    assert "has no conditions" in error({"or": []}).message
    assert "has no conditions" in error({"and": []}).message


def test_yaml_mapping_instead_of_a_string() -> None:
    err = error({"label": "bug"})
    assert "YAML read 'label: …' as a mapping" in err.message
    assert '"label=bug"' in err.hint


def test_unknown_and_miscased_keys() -> None:
    assert "unknown key 'any'" in error({"any": ["x"]}).message
    assert "lower case" in error({"AND": ["draft"]}).message
    assert "unknown key 1" in error({1: ["draft"]}).message


def test_yaml_comment_gives_none() -> None:
    err = error(None)
    assert "empty condition" in err.message
    assert '"#files<=5"' in err.hint


@pytest.mark.parametrize("obj", [3, 2.5, True, b"draft", object(), ["draft"]])
def test_non_conditions(obj: object) -> None:
    err = error(obj)
    assert "a condition must be a string or an and/or/not mapping" in err.message


def test_parse_conditions_needs_a_list() -> None:
    for obj in ("draft", {"and": ["draft"]}, 3, None):
        with pytest.raises(ConditionSyntaxError, match="expected a list of conditions"):
            parse_conditions(obj)


def test_self_referencing_structure_is_refused() -> None:
    loop: list[object] = []
    loop.append({"or": loop})
    with pytest.raises(ConditionSyntaxError, match="nested too deeply"):
        parse_conditions(loop)


def test_exponential_alias_structure_is_refused_quickly() -> None:
    node: object = "draft"
    for _ in range(30):  # 2**30 leaves if expanded
        node = {"and": [node, node]}
    with pytest.raises(ConditionSyntaxError, match="too large"):
        parse_condition(node)


# --- model-verdict never decides alone -------------------------------------------------------


@pytest.mark.parametrize(
    "cond",
    [
        ["model-verdict=approve"],
        ["-model-verdict=request-changes"],
        [{"or": ["model-verdict=approve", "label=ok"]}],
        [{"not": {"and": ["model-verdict=comment", "label=x"]}}],
        [{"not": {"not": "model-verdict=approve"}}],
    ],
)
def test_model_verdict_alone_is_refused(cond: list[object]) -> None:
    with pytest.raises(ConditionSyntaxError) as info:
        parse_conditions(cond, where="rules[0].if")
    assert "model-verdict cannot decide on its own" in info.value.message
    assert info.value.where == "rules[0].if"


@pytest.mark.parametrize(
    "cond",
    [
        ["model-verdict=approve", "check-success=ci"],
        [{"or": [{"and": ["model-verdict=approve", "label=a"]}, "label=b"]}],
        [{"not": {"or": ["model-verdict=request-changes", "draft"]}}],
    ],
)
def test_model_verdict_next_to_a_deterministic_condition_is_fine(cond: list[object]) -> None:
    parsed = parse_conditions(cond)
    assert any(x.attr == "model-verdict" for x in leaves(parsed))


def test_model_gate_applies_to_parse_condition_too() -> None:
    with pytest.raises(ConditionSyntaxError, match="model-verdict"):
        parse_condition("model-verdict=approve")
