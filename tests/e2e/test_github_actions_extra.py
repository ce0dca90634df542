"""End to end: ``comment``, ``describe`` (builtin) and ``notify`` (signed webhook) in ``prbot run``.

Each must land exactly once, and a second run on the same PR must change nothing: the comment is
found by its marker, the description section is unchanged, the notification is in the PR's log.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from prbot.app.execute import rule_slug
from prbot.notify import verify
from prbot.platforms.base import comment_marker
from prbot.review.describe import END, START
from tests.e2e.test_github_run import DIFF, _event
from tests.fakes.github_server import FakeGitHub
from tests.helpers import prbot
from tests.notify.test_webhook import Receiver

SECRET = "e2e-hook-secret-0123456789"
CONFIG = """\
version: 1
notify:
  team-hook: {type: webhook, url_env: TEAM_HOOK_URL, secret_env: TEAM_HOOK_SECRET}
  unset-hook: {type: slack, webhook_env: NOT_SET_ANYWHERE}
rules:
  - name: greet
    do:
      comment: {body: "Thanks {{ author }} for {{ pr.title }}"}
  - name: write the description
    do:
      describe: {}
  - name: tell the team
    do:
      notify: {channel: team-hook, message: "{{ findings.total }} finding(s) on {{ pr.url }}"}
  - name: broken channel
    do:
      notify: {channel: unset-hook}
"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def _writes(fake: FakeGitHub) -> int:
    return len(fake.calls("POST")) + len(fake.calls("PATCH")) + len(fake.calls("PUT"))


def test_comment_describe_notify_land_once(
    tmp_path: Path, fake_github: FakeGitHub, receiver: Receiver
) -> None:
    fake = fake_github
    pr = fake.prs[1]
    pr.diff = DIFF
    pr.body = "Human-written intro."
    fake.files[(pr.base_sha, ".prbot.yml")] = CONFIG.encode()
    env = {**_event(tmp_path, fake), "TEAM_HOOK_URL": receiver.url, "TEAM_HOOK_SECRET": SECRET}

    first = prbot("run", "--json", cwd=tmp_path, env=env)
    assert first.code == 0, first.err
    doc = first.json()
    # comment: one comment owned by the rule, with the rendered template.
    marker = comment_marker(rule_slug("greet"))
    owned = [c for c in fake.issue_comments if c["body"].startswith(marker)]
    assert len(owned) == 1 and "Thanks alice for Add feature" in owned[0]["body"]
    # describe: the human text is kept, prbot's section is appended.
    body = fake.prs[1].body
    assert body.startswith("Human-written intro.") and body.count(START) == 1
    assert body.rstrip().endswith(END) and "files changed" in body
    # notify: one signed delivery; the broken channel fails alone, in one line.
    assert len(receiver.requests) == 1
    req = receiver.requests[0]
    assert verify(SECRET, req.body, req.headers["x-prbot-signature"])
    assert "finding(s) on https://github.example/octo/demo/pull/1" in req.json()["message"]
    notes = [w for w in doc["writes"] if w["action"] == "notify"]
    assert any(w["ok"] for w in notes)
    assert any(
        w["detail"]
        == "notify channel 'unset-hook': environment variable NOT_SET_ANYWHERE is not set"
        for w in notes
    )
    assert all(SECRET not in w["detail"] and "/hooks/" not in w["detail"] for w in doc["writes"])
    assert SECRET not in first.out + first.err

    before = (_writes(fake), len(fake.issue_comments), fake.prs[1].body)
    second = prbot("run", "--json", cwd=tmp_path, env=env)
    assert second.code == 0, second.err
    assert (_writes(fake), len(fake.issue_comments), fake.prs[1].body) == before
    assert len(receiver.requests) == 1, "the notification must not be sent again"
    again = [w for w in second.json()["writes"] if w["action"] in ("comment", "describe")]
    assert again and all(w["skipped"] for w in again)


def test_describe_with_a_model_keeps_human_text(
    tmp_path: Path, fake_github: FakeGitHub, fake_model
) -> None:
    import json

    pr = fake_github.prs[1]
    pr.diff = DIFF
    pr.body = "Human intro that must survive."
    fake_github.files[(pr.base_sha, ".prbot.yml")] = (
        b"version: 1\nrules:\n  - name: d\n    do:\n      describe: {}\n"
    )

    def answer(req):
        if '"description"' in req.text and "findings" not in json.dumps(
            req.body.get("response_format", {})
        ):
            return json.dumps({"description": "Adds a helper and a guide paragraph."})
        return json.dumps({"summary": "", "findings": []})

    fake_model.responder = answer
    env = {
        **_event(tmp_path, fake_github),
        "PRBOT_MODEL": "openai/gpt-4o-mini",
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": fake_model.base_url,
    }
    run = prbot("run", "--json", cwd=tmp_path, env=env)
    assert run.code == 0, run.err
    assert pr.body.startswith("Human intro that must survive.")
    assert START in pr.body and END in pr.body
    assert "Adds a helper and a guide paragraph." in pr.body
    assert "AKIAZ7QWERTY234ABCDE" not in "".join(r.text for r in fake_model.requests)
    patches = len(fake_github.calls("PATCH", r"/pulls/1$"))
    again = prbot("run", "--json", cwd=tmp_path, env=env)
    assert again.code == 0, again.err
    assert len(fake_github.calls("PATCH", r"/pulls/1$")) == patches, (
        "unchanged description is not rewritten"
    )
