"""PRContext: normalisation of loose inputs and immutability."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from prbot.models import Severity
from prbot.rules.context import PRContext, team_key

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_defaults() -> None:
    ctx = PRContext(now=NOW)
    assert ctx.labels == frozenset()
    assert ctx.files == ()
    assert ctx.author_association == "NONE"
    assert ctx.mergeable is None
    assert dict(ctx.teams) == {}
    assert dict(ctx.findings_by_severity) == {}


def test_now_is_required() -> None:
    with pytest.raises(TypeError):
        PRContext()  # type: ignore[call-arg]


def test_collections_are_normalised() -> None:
    ctx = PRContext(
        now=NOW,
        labels=["a", "b", "a"],
        files=["x.py", "y.py"],
        approved_reviews_by={"Bob"},
        check_success=("ci",),
        finding_rules=[],
    )
    assert ctx.labels == frozenset({"a", "b"})
    assert ctx.files == ("x.py", "y.py")
    assert ctx.approved_reviews_by == frozenset({"Bob"})
    assert ctx.check_success == frozenset({"ci"})


def test_text_and_choices_are_normalised() -> None:
    ctx = PRContext(
        now=NOW,
        title=None,  # type: ignore[arg-type]
        author_association="member",
        review_verdict="APPROVE",
        model_verdict="Request-Changes",
    )
    assert ctx.title == ""
    assert ctx.author_association == "MEMBER"
    assert ctx.review_verdict == "approve"
    assert ctx.model_verdict == "request-changes"
    assert PRContext(now=NOW, author_association="").author_association == "NONE"


def test_teams_keys_and_members_are_case_folded() -> None:
    ctx = PRContext(now=NOW, teams={"@Acme/Docs": ["Alice", "BOB"]})
    assert dict(ctx.teams) == {"acme/docs": frozenset({"alice", "bob"})}
    assert team_key("@Acme/Docs ") == "acme/docs"


def test_severity_enum_keys_are_counted() -> None:
    ctx = PRContext(now=NOW, findings_by_severity={Severity.ERROR: 1, "Warning": 1, "WARNING": 2})
    assert dict(ctx.findings_by_severity) == {"error": 1, "warning": 3}
    assert all(type(k) is str for k in ctx.findings_by_severity)


def test_a_bare_string_is_not_a_collection() -> None:
    with pytest.raises(TypeError, match="labels must be a collection"):
        PRContext(now=NOW, labels="docs")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="files must be a collection"):
        PRContext(now=NOW, files="a.py")  # type: ignore[arg-type]


def test_frozen_and_hashable() -> None:
    ctx = PRContext(now=NOW, teams={"a/b": ["x"]}, findings_by_severity={"info": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.title = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ctx.teams["a/c"] = frozenset()  # type: ignore[index]
    assert hash(ctx) == hash(
        PRContext(now=NOW, teams={"a/b": ["x"]}, findings_by_severity={"info": 1})
    )
