"""Planner semantics: order, review phase, refusals for drafts/forks, request-changes wins."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from prbot.config.loader import parse_config_text
from prbot.rules.context import PRContext
from prbot.rules.pipeline import Pipeline, compile_config, default_pipeline
from prbot.rules.plan import Plan, plan, review_phase

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)

CONFIG = """\
version: 1
labels:
  documentation: {paths: ["docs/**", "*.md"]}
  python: {paths: ["**/*.py"]}
  automerge: {}
notify:
  chat: {type: webhook, url_env: CHAT_URL}
permissions:
  approve: {allow_drafts: %(approve_drafts)s, allow_forks: %(approve_forks)s}
  merge: {allow_forks: %(merge_forks)s}
rules:
  - name: review
    do:
      review: {min_severity: warning, max_comments: 15, instructions: Be brief.}
  - name: docs review focus
    if: ["files~=^docs/"]
    do:
      review: {max_comments: 5, instructions: Check links.}
      describe: {}
  - name: labels from paths
    do:
      label: {from_paths: true}
  - name: approve clean
    if: ["#findings-error=0", "author-association=MEMBER"]
    do:
      approve: {body: "LGTM {{ author }}"}
  - name: block on errors
    if: ["#findings-error>0"]
    do:
      request-changes: {}
      notify: {channel: chat, message: "{{ findings.error }} errors in {{ pr.title }}"}
  - name: merge
    if: ["#approved-reviews-by>=1", "check-success=ci", "label=automerge"]
    do:
      merge: {method: squash}
  - name: ask reviewers
    do:
      request-reviewers: {users: [Alice, bob]}
  - name: green check
    if: ["#findings-error=0"]
    do:
      set-status: {name: prbot, conclusion: success, description: "ok {{ pr.title }}"}
  - name: red check
    if: ["#findings-warning>0"]
    do:
      set-status: {name: prbot, conclusion: failure}
"""


def pipeline(**perm: bool) -> Pipeline:
    opts = {"approve_drafts": False, "approve_forks": False, "merge_forks": False}
    opts.update(perm)
    text = CONFIG % {k: str(v).lower() for k, v in opts.items()}
    return compile_config(parse_config_text(text).config)


def ctx(**kw: Any) -> PRContext:
    base: dict[str, Any] = {
        "now": NOW,
        "author": "alice",
        "author_association": "MEMBER",
        "title": "Improve docs",
        "files": ("docs/guide.md", "src/app.py"),
        "labels": {"automerge"},
        "approved_reviews_by": {"carol"},
        "check_success": {"ci"},
        "findings_by_severity": {"error": 0, "warning": 0},
        "head_sha": "a" * 40,
    }
    base.update(kw)
    return PRContext(**base)


def kinds_by_rule(p: Plan) -> dict[str, list[str]]:
    return {r.name: [a.kind for a in r.actions] for r in p.rules if r.actions}


def reasons(p: Plan) -> dict[str, str]:
    return {f"{r.rule}/{r.kind}": r.reason for r in p.refusals}


def test_clean_member_pr_is_approved_and_merged_with_the_reviewed_sha() -> None:
    p = plan(pipeline(), ctx())
    assert p.kinds() == (
        "review",
        "review",
        "describe",
        "label",
        "approve",
        "merge",
        "request-reviewers",
        "set-status",
    )
    merge = next(a for a in p.actions if a.kind == "merge")
    assert merge.params["sha"] == "a" * 40 and merge.params["method"] == "squash"
    assert p.head_sha == "a" * 40
    approve = next(a for a in p.actions if a.kind == "approve")
    assert approve.params["body"] == "LGTM alice"
    assert p.refusals == ()


def test_review_phase_comes_first_and_merges_settings_in_rule_order() -> None:
    p = plan(pipeline(), ctx())
    assert [a.kind for a in p.actions[:3]] == ["review", "review", "describe"]
    assert dict(p.review.review or {}) == {
        "instructions": "Be brief.\n\nCheck links.",
        "max_comments": 5,  # the later rule overrides
        "min_severity": "warning",
        "rules": ["review", "docs review focus"],
    }
    assert p.review.describe == {"rules": ["docs review focus"]}
    # Without docs files only the first review rule applies.
    phase = review_phase(pipeline(), ctx(files=("src/app.py",)))
    assert phase.review is not None and phase.review["max_comments"] == 15
    assert phase.describe is None


def test_review_phase_equals_the_plans_review_phase() -> None:
    c = ctx(findings_by_severity={"error": 3})
    assert review_phase(pipeline(), c) == plan(pipeline(), c).review


def test_request_changes_wins_over_approve_and_merge() -> None:
    p = plan(pipeline(), ctx(findings_by_severity={"error": 2}, author_association="MEMBER"))
    assert "approve" not in p.kinds() and "merge" not in p.kinds()
    assert "request-changes" in p.kinds()
    assert "request-changes from rule 'block on errors' wins" in reasons(p)["merge/merge"]
    notify = next(a for a in p.actions if a.kind == "notify")
    assert notify.params == {"channel": "chat", "message": "2 errors in Improve docs"}


def test_approve_needs_its_own_conditions() -> None:
    p = plan(pipeline(), ctx(author_association="CONTRIBUTOR"))
    assert "approve" not in p.kinds()
    rule = next(r for r in p.rules if r.name == "approve clean")
    assert not rule.matched and rule.refusals == ()
    assert [leaf.result for leaf in rule.explanation.leaves()] == [True, False]


def test_drafts_refused_unless_allowed() -> None:
    p = plan(pipeline(), ctx(draft=True))
    assert "approve" not in p.kinds() and "merge" not in p.kinds()
    assert reasons(p)["approve clean/approve"].startswith("the PR is a draft")
    assert "allow_drafts" in reasons(p)["merge/merge"]
    allowed = plan(pipeline(approve_drafts=True), ctx(draft=True))
    assert "approve" in allowed.kinds() and "merge" not in allowed.kinds()


def test_forks_refused_unless_allowed() -> None:
    p = plan(pipeline(), ctx(fork=True))
    assert reasons(p)["approve clean/approve"].startswith("the PR comes from a fork")
    assert "merge" not in p.kinds()
    both = plan(pipeline(approve_forks=True, merge_forks=True), ctx(fork=True))
    assert {"approve", "merge"} <= set(both.kinds())


def test_merge_refused_without_a_reviewed_sha() -> None:
    p = plan(pipeline(), ctx(head_sha=""))
    assert "merge" not in p.kinds()
    assert "head SHA is unknown" in reasons(p)["merge/merge"]


def test_the_author_is_never_asked_to_review() -> None:
    p = plan(pipeline(), ctx(author="ALICE"))
    action = next(a for a in p.actions if a.kind == "request-reviewers")
    assert action.params["users"] == ["bob"]
    only_author = plan(pipeline(), ctx(author="bob"))
    assert [a.params["users"] for a in only_author.actions if a.kind == "request-reviewers"] == [
        ["Alice"]
    ]


def test_most_severe_status_wins_for_one_check_name() -> None:
    p = plan(pipeline(), ctx(findings_by_severity={"error": 0, "warning": 1}))
    statuses = [a for a in p.actions if a.kind == "set-status"]
    assert [(a.rule, a.params["conclusion"]) for a in statuses] == [("red check", "failure")]
    assert "reported as failure by rule 'red check'" in reasons(p)["green check/set-status"]


def test_status_description_is_rendered_and_capped() -> None:
    p = plan(pipeline(), ctx(title="t" * 400))
    status = next(a for a in p.actions if a.kind == "set-status")
    assert len(str(status.params["description"])) == 140


def test_labels_from_paths_and_label_changes() -> None:
    p = plan(pipeline(), ctx())
    label = next(a for a in p.actions if a.kind == "label")
    assert label.params == {"add": ["documentation", "python"], "remove": []}
    assert p.label_changes() == (("documentation", "python"), ())
    nothing = plan(pipeline(), ctx(files=("Makefile",)))
    assert "label" not in nothing.kinds()
    assert "no label applies" in reasons(nothing)["labels from paths/label"]


def test_later_label_rule_wins() -> None:
    text = """\
labels: {a: {}, b: {}}
rules:
  - name: one
    do: {label: {add: [a, b]}}
  - name: two
    if: [draft]
    do: {label: {remove: [a]}}
"""
    pipe = compile_config(parse_config_text(text).config)
    assert plan(pipe, ctx(draft=True)).label_changes() == (("b",), ("a",))
    assert plan(pipe, ctx()).label_changes() == (("a", "b"), ())


def test_duplicate_approvals_and_merges_are_planned_once() -> None:
    text = """\
rules:
  - name: first
    if: [label=x]
    do: {approve: {}, merge: {}}
  - name: second
    if: [label=x]
    do: {approve: {}, merge: {method: rebase}}
"""
    p = plan(compile_config(parse_config_text(text).config), ctx(labels={"x"}))
    assert [(a.kind, a.rule) for a in p.actions] == [("approve", "first"), ("merge", "first")]
    assert "already planned by rule 'first'" in reasons(p)["second/merge"]


def test_default_pipeline_reviews_and_reports_but_never_approves_or_merges() -> None:
    for findings in ({"error": 0}, {"error": 4, "warning": 1}):
        p = plan(default_pipeline(), ctx(findings_by_severity=findings))
        assert p.default
        assert "approve" not in p.kinds() and "merge" not in p.kinds()
        assert p.kinds() == ("review", "set-status")
        assert p.review.review == {"min_severity": "info", "rules": ["review"]}
    status = next(a for a in p.actions if a.kind == "set-status")
    assert status.params["conclusion"] == "failure"
    assert status.params["description"] == "4 error(s), 5 finding(s)"


def test_plan_accepts_a_bare_rule_list_with_safe_defaults() -> None:
    text = "rules:\n  - name: ok\n    if: [label=x]\n    do: {approve: {}}\n"
    pipe = compile_config(parse_config_text(text).config)
    p = plan(pipe.rules, ctx(labels={"x"}, fork=True))
    assert p.kinds() == () and "fork" in reasons(p)["ok/approve"]


def test_to_dict_is_json_safe_and_deterministic() -> None:
    one = json.dumps(plan(pipeline(), ctx()).to_dict(), sort_keys=True)
    two = json.dumps(plan(pipeline(), ctx()).to_dict(), sort_keys=True)
    assert one == two
    doc = json.loads(one)
    assert doc["matched"][0] == "review" and doc["version"] == 1
    rule = next(r for r in doc["rules"] if r["name"] == "approve clean")
    assert rule["conditions"]["children"][0]["actual"] == 0


def test_planning_is_total_on_a_hostile_context() -> None:
    hostile = ctx(
        title="{{ pr.url }} @here <!-- x -->", author="@@", files=("../../etc/passwd",) * 300
    )
    p = plan(pipeline(), hostile)
    approve = next(a for a in p.actions if a.kind == "approve")
    assert "@\u200b@\u200b" in str(approve.params["body"])
    json.dumps(p.to_dict())
