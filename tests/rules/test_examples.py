"""Every example config loads, and does what its comment says on two contrasting PRs."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from prbot.config.loader import load_config
from prbot.rules.context import PRContext
from prbot.rules.pipeline import Pipeline, compile_config
from prbot.rules.plan import Plan, plan

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "configs"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
SHA = "f" * 40


def pipeline(name: str) -> Pipeline:
    return compile_config(load_config(EXAMPLES / name).config)


def ctx(**kw: Any) -> PRContext:
    base: dict[str, Any] = {"now": NOW, "head_sha": SHA, "author": "someone", "title": "t"}
    base.update(kw)
    return PRContext(**base)


def refused(p: Plan) -> dict[str, str]:
    return {r.kind: r.reason for r in p.refusals}


def test_there_are_at_least_five_examples_and_all_load() -> None:
    names = sorted(p.name for p in EXAMPLES.glob("*.yml"))
    assert len(names) >= 5
    for name in names:
        assert pipeline(name).rules, name


def test_docs_auto_approve() -> None:
    pipe = pipeline("docs-auto-approve.yml")
    docs = plan(
        pipe,
        ctx(
            author="dana",
            author_association="MEMBER",
            files=("docs/intro.md", "README.md"),
            findings_by_severity={"warning": 1},
        ),
    )
    assert docs.kinds() == ("review", "label", "approve")
    assert docs.label_changes() == (("documentation",), ())
    assert next(a for a in docs.actions if a.kind == "approve").params["body"] == (
        "Docs-only change by dana: approved automatically (1 note(s))."
    )
    code = plan(
        pipe,
        ctx(
            author_association="MEMBER",
            files=("src/app.py", "docs/intro.md"),
            findings_by_severity={"error": 1},
        ),
    )
    assert "approve" not in code.kinds()
    assert code.kinds() == ("review", "label", "request-changes")


def test_dependency_bump_automerge() -> None:
    pipe = pipeline("dependency-bump-automerge.yml")
    green = ctx(
        author="dependabot[bot]",
        files=("requirements.txt",),
        check_success={"ci"},
        mergeable=True,
    )
    p = plan(pipe, green)
    assert p.kinds() == ("label", "approve", "merge")
    merge = next(a for a in p.actions if a.kind == "merge")
    assert merge.params == {
        "method": "squash",
        "delete_branch": True,
        "when_pipeline_succeeds": False,
        "sha": SHA,
    }
    assert p.label_changes() == (("dependencies",), ())
    # A human's PR with the same files: no approve or merge, reviewers requested instead.
    human = plan(pipe, ctx(author="mallory", files=("requirements.txt",), check_success={"ci"}))
    assert human.kinds() == ("request-reviewers",)
    # A bot bump from a fork is refused even when green.
    fork = plan(
        pipe, ctx(author="dependabot[bot]", fork=True, check_success={"ci"}, mergeable=True)
    )
    assert "merge" not in fork.kinds() and "fork" in refused(fork)["merge"]
    # Still pending: nothing merges.
    pending = plan(pipe, ctx(author="renovate", check_success={"ci"}, check_pending={"e2e"}))
    assert "merge" not in pending.kinds() and "approve" not in pending.kinds()


def test_llm_review_severity_gate() -> None:
    pipe = pipeline("llm-review-severity-gate.yml")
    clean = plan(pipe, ctx(findings_by_severity={"warning": 2, "info": 5}))
    assert clean.kinds() == ("review", "set-status")
    status = next(a for a in clean.actions if a.kind == "set-status")
    assert status.params["conclusion"] == "success"
    assert clean.review.review is not None and clean.review.review["max_comments"] == 20
    bad = plan(
        pipe,
        ctx(
            title="@channel leak",
            url="https://forge.example/pr/1",
            findings_by_severity={"error": 1},
            finding_rules={"secret/aws-access-key-id"},
        ),
    )
    # Within a rule actions run in the documented fixed order (request-changes before set-status).
    assert bad.kinds() == ("review", "request-changes", "set-status", "notify")
    notify = next(a for a in bad.actions if a.kind == "notify")
    assert notify.params["message"] == (
        "Possible secret in https://forge.example/pr/1 (@\u200bchannel leak) by someone"
    )


def test_monorepo_labels() -> None:
    pipe = pipeline("monorepo-labels.yml")
    both = plan(pipe, ctx(files=("web/app.tsx", "services/api/users.py", "deploy/k8s.yml")))
    assert both.label_changes() == (("area/backend", "area/frontend", "area/infra"), ())
    review = both.review.review
    assert review is not None
    assert str(review["instructions"]).startswith("Check accessibility")
    assert "SQL parameterisation" in str(review["instructions"])
    assert "request-reviewers" in both.kinds()
    stray = plan(pipe, ctx(files=("Makefile",)))
    assert stray.label_changes() == (("needs-triage",), ())
    assert stray.review.review == {"min_severity": "warning", "rules": ["review everything"]}
    assert "request-reviewers" not in stray.kinds()


@pytest.mark.parametrize("draft", [False, True])
def test_strict_two_approvals(draft: bool) -> None:
    pipe = pipeline("strict-two-approvals.yml")
    ready = ctx(
        draft=draft,
        labels={"automerge"},
        approved_reviews_by={"a", "b"},
        check_success={"ci"},
        mergeable=True,
    )
    p = plan(pipe, ready)
    if draft:
        assert "merge" not in p.kinds() and "draft" in refused(p)["merge"]
    else:
        assert p.kinds() == ("review", "comment", "merge")
        comment = next(a for a in p.actions if a.kind == "comment")
        assert comment.params["body"] == "Merging: two approvals and green checks on ffffffffffff."
    one = plan(pipe, ctx(labels={"automerge"}, approved_reviews_by={"a"}, check_success={"ci"}))
    assert one.kinds() == ("review", "comment")
    assert one.matched == ("review", "explain what is missing")
