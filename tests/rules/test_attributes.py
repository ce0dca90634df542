"""The attribute registry: consistent with the parser, examples valid, hints useful."""

from __future__ import annotations

import pytest

from prbot.rules.attributes import (
    ATTRIBUTES,
    EQUALITY,
    MATCHING,
    ORDERING,
    AttrType,
    suggest,
)
from prbot.rules.conditions import AllOf, Leaf, parse_conditions

IDENTITY = {
    "author",
    "author-association",
    "approved-reviews-by",
    "changes-requested-reviews-by",
    "check-success",
    "check-failure",
    "check-pending",
    "mergeable",
    "codeowners-approved",
}


def test_the_attribute_set() -> None:
    expected = {
        "author", "author-association", "draft", "fork", "base", "head", "title", "body", "label",
        "files", "additions", "deletions", "approved-reviews-by", "changes-requested-reviews-by",
        "check-success", "check-failure", "check-pending", "mergeable", "age", "updated-age",
        "codeowners-approved", "findings", "findings-error", "findings-warning", "findings-info",
        "finding-rules", "review-verdict", "model-verdict",
    }  # fmt: skip
    assert set(ATTRIBUTES) == expected
    assert all(name == spec.name for name, spec in ATTRIBUTES.items())


def test_identity_attributes() -> None:
    assert {n for n, s in ATTRIBUTES.items() if s.identity} == IDENTITY
    assert not ATTRIBUTES["title"].identity
    assert not ATTRIBUTES["body"].identity


def test_only_model_verdict_is_a_model_signal() -> None:
    assert [n for n, s in ATTRIBUTES.items() if s.model] == ["model-verdict"]


@pytest.mark.parametrize("name", sorted(ATTRIBUTES))
def test_every_example_parses_to_its_attribute(name: str) -> None:
    spec = ATTRIBUTES[name]
    assert spec.description
    cond = parse_conditions([spec.example, "draft=false"])
    assert isinstance(cond, AllOf)
    first = cond.children[0]
    assert isinstance(first, Leaf)
    assert first.attr == name


def test_operator_sets() -> None:
    files = ATTRIBUTES["files"]
    assert files.operators(count=False) == EQUALITY | MATCHING
    assert files.operators(count=True) == EQUALITY | ORDERING
    assert ATTRIBUTES["age"].operators(count=False) == ORDERING
    assert ATTRIBUTES["draft"].operators(count=False) == EQUALITY
    assert ATTRIBUTES["author-association"].operators(count=False) == EQUALITY
    assert ATTRIBUTES["findings"].operators(count=False) == EQUALITY | ORDERING


def test_types_and_countability() -> None:
    assert ATTRIBUTES["files"].type is AttrType.PATHS
    assert ATTRIBUTES["label"].countable
    assert ATTRIBUTES["findings-error"].countable
    assert ATTRIBUTES["findings-error"].display == "#findings-error"
    assert not ATTRIBUTES["title"].countable
    assert ATTRIBUTES["label"].display == "label"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("lable", "label"),
        ("FILES", "files"),
        ("author_association", "author-association"),
        ("from-fork", "fork"),
        ("created-at", "age"),
        ("#findings_errors", "findings-error"),
        ("approvals", "approved-reviews-by"),
        ("xyzzy-plugh", None),
    ],
)
def test_suggest(name: str, expected: str | None) -> None:
    assert suggest(name) == expected
