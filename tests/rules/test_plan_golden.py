"""Golden ``Plan.to_dict()`` output for fixed contexts: ``--json`` and the audit must not drift.

Regenerate after an intended change with ``PRBOT_UPDATE_GOLDEN=1 pytest tests/rules`` and review
the diff of ``tests/rules/golden/``.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from prbot.config.loader import load_config
from prbot.rules.context import PRContext
from prbot.rules.pipeline import compile_config, default_pipeline
from prbot.rules.plan import plan

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "configs"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
# Read at import: the autouse fixture removes PRBOT_* variables before each test runs.
UPDATE = os.environ.get("PRBOT_UPDATE_GOLDEN") == "1"

CONTEXT = PRContext(
    now=NOW,
    number=7,
    url="https://forge.example/acme/app/pull/7",
    author="dana",
    author_association="MEMBER",
    title="docs: explain @everyone <b>rules</b>",
    base="main",
    head="docs/rules",
    head_sha="c0ffee" * 6 + "abcd",
    labels={"automerge"},
    files=("docs/rules.md", "README.md"),
    additions=40,
    deletions=3,
    approved_reviews_by={"erin", "frank"},
    check_success={"ci"},
    mergeable=True,
    created_at=NOW - timedelta(days=2),
    updated_at=NOW - timedelta(hours=1),
    findings_by_severity={"error": 0, "warning": 1, "info": 2},
    finding_rules={"todo-added"},
    review_verdict="comment",
)

CASES = {
    "default": lambda: default_pipeline(),
    "docs-auto-approve": lambda: compile_config(
        load_config(EXAMPLES / "docs-auto-approve.yml").config
    ),
    "strict-two-approvals": lambda: compile_config(
        load_config(EXAMPLES / "strict-two-approvals.yml").config
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_plan_matches_golden(name: str) -> None:
    text = json.dumps(plan(CASES[name](), CONTEXT).to_dict(), indent=2, sort_keys=True) + "\n"
    path = GOLDEN / f"plan-{name}.json"
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing {path.name}: run with PRBOT_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")
