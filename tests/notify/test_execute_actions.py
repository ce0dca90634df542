"""The executor's comment/describe/notify handling, in process against the fake GitHub."""

from __future__ import annotations

from datetime import datetime, timezone

from prbot.app.execute import execute, rule_slug
from prbot.config.loader import parse_config_text
from prbot.models import ReviewResult
from prbot.notify import PostOptions
from prbot.platforms.base import WriteResult, comment_marker
from prbot.platforms.github import GitHubPlatform, github_client
from prbot.review.describe import START
from prbot.rules.context import PRContext
from prbot.rules.pipeline import compile_config
from prbot.rules.plan import plan as make_plan
from tests.fakes.github_server import TOKEN, FakeGitHub
from tests.notify import test_webhook
from tests.notify.test_webhook import Receiver

#: The loopback receiver fixture, shared with the webhook tests.
receiver = test_webhook.receiver

CONFIG = """\
version: 1
notify:
  hook: {type: webhook, url_env: HOOK_URL}
rules:
  - name: Greet People!
    do:
      comment: {body: "hello {{ author }}"}
      describe: {}
      notify: {channel: hook, message: "msg for {{ pr.number }}"}
"""


def _run(fake: FakeGitHub, url: str, *, dry_run: bool = False) -> list[WriteResult]:
    cfg = parse_config_text(CONFIG).config
    client = github_client(fake.api_url, TOKEN, write_interval=0, sleep=lambda s: None, timeout=5)
    gh = GitHubPlatform(fake.repo, 1, token=TOKEN, client=client)
    pr = gh.get_pull_request()
    ctx = PRContext(now=datetime.now(timezone.utc), author=pr.author, number=1, url=pr.url)
    plan = make_plan(compile_config(cfg), ctx)
    recorded: list[WriteResult] = []
    ex = execute(plan, gh, pr, ReviewResult(), summary_body="s", record=recorded.append,
                 dry_run=dry_run, env={"HOOK_URL": url}, channels=cfg.notify,
                 notify_options=PostOptions(timeout=5, sleep=lambda s: None))  # fmt: skip
    assert ex.writes == recorded
    return recorded


def test_dry_run_sends_and_writes_nothing(fake_github: FakeGitHub, receiver: Receiver) -> None:
    writes = _run(fake_github, receiver.url, dry_run=True)
    assert {w.action for w in writes} == {"comment", "describe", "notify"}
    assert all(w.skipped for w in writes)
    assert (
        not receiver.requests and not fake_github.calls("POST") and not fake_github.calls("PATCH")
    )


def test_actions_land_once_and_notify_is_logged(
    fake_github: FakeGitHub, receiver: Receiver
) -> None:
    writes = _run(fake_github, receiver.url)
    by = {w.action: w for w in writes}
    assert by["comment"].ok and by["describe"].ok and by["notify"].ok and by["notify-log"].ok
    marker = comment_marker(rule_slug("Greet People!"))
    assert marker.startswith("<!-- prbot:comment:greet-people-")
    assert any(c["body"] == f"{marker}\nhello alice" for c in fake_github.issue_comments)
    assert START in fake_github.prs[1].body and len(receiver.requests) == 1
    again = _run(fake_github, receiver.url)
    assert all(w.skipped for w in again) and len(receiver.requests) == 1
    assert "already sent" in next(w.detail for w in again if w.action == "notify")


def test_rule_slugs_are_distinct() -> None:
    assert rule_slug("A b") != rule_slug("a-b")
    assert rule_slug("!!!").startswith("rule-")
    assert len(rule_slug("x" * 300)) <= 47
