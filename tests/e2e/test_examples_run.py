"""Every example config, end to end: read from the base branch of a fake GitHub PR and run dry.

Also: slash commands honoured only from the associations, users or teams the config allows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_github_run import DIFF, _event
from tests.fakes.github_server import FakeGitHub
from tests.helpers import REPO, prbot

EXAMPLES = sorted((REPO / "examples" / "configs").glob("*.yml"))


@pytest.mark.parametrize("config", EXAMPLES, ids=lambda p: p.stem)
def test_example_config_runs_against_a_fake_forge(
    tmp_path: Path, fake_github: FakeGitHub, config: Path
) -> None:
    pr = fake_github.prs[1]
    pr.diff = DIFF
    fake_github.files[(pr.base_sha, ".prbot.yml")] = config.read_bytes()
    run = prbot(
        "run",
        "--dry-run",
        "--json",
        "--model",
        "builtin",
        cwd=tmp_path,
        env=_event(tmp_path, fake_github),
    )
    assert run.code == 0, run.err
    doc = run.json()
    assert doc["plan"]["default_rules"] is False
    assert doc["dry_run"] is True and all(w["skipped"] for w in doc["writes"])
    assert (
        not fake_github.calls("POST")
        and not fake_github.calls("PUT")
        and not fake_github.calls("PATCH")
    )
    # The risky actions never run on this contributor's PR with a planted secret.
    kinds = [a["kind"] for a in doc["plan"]["actions"]]
    assert "approve" not in kinds and "merge" not in kinds


def _comment_event(tmp: Path, fake: FakeGitHub, *, author: str, association: str) -> dict[str, str]:
    env = _event(tmp, fake)
    payload = {
        "action": "created",
        "issue": {"number": 1, "pull_request": {"url": "x"}},
        "comment": {
            "id": 5,
            "body": "/prbot review",
            "user": {"login": author, "type": "User"},
            "author_association": association,
        },
        "repository": {"full_name": fake.repo},
        "sender": {"login": author},
    }
    Path(env["GITHUB_EVENT_PATH"]).write_text(json.dumps(payload))
    return {**env, "GITHUB_EVENT_NAME": "issue_comment"}


def test_slash_command_permissions(tmp_path: Path, fake_github: FakeGitHub) -> None:
    pr = fake_github.prs[1]
    pr.diff = DIFF
    config = b"version: 1\npermissions:\n  commands: {associations: [OWNER], teams: ['@octo/reviewers']}\n"
    fake_github.files[(pr.base_sha, ".prbot.yml")] = config
    stranger = prbot(
        "run",
        "--json",
        cwd=tmp_path,
        env=_comment_event(tmp_path, fake_github, author="mallory", association="CONTRIBUTOR"),
    )
    assert stranger.code == 0, stranger.err
    assert "not allowed" in stranger.json()["nothing_to_do"]
    assert not fake_github.reviews
    fake_github.teams[("octo", "reviewers", "trent")] = "active"
    member = prbot(
        "run",
        "--json",
        cwd=tmp_path,
        env=_comment_event(tmp_path, fake_github, author="trent", association="CONTRIBUTOR"),
    )
    assert member.code == 0, member.err
    assert member.json()["nothing_to_do"] is None
    assert len(fake_github.reviews) == 1
