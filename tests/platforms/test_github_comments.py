"""GitHub adapter: rule-owned comments edited in place, and the PR description write."""

from __future__ import annotations

import pytest

from prbot.errors import PlatformError
from prbot.platforms.base import comment_marker
from prbot.platforms.github import GitHubPlatform, github_client
from tests.fakes import github_server
from tests.fakes.github_server import TOKEN, FakeGitHub

fake_github = github_server.fake_github


def platform(fake: FakeGitHub) -> GitHubPlatform:
    client = github_client(fake.api_url, TOKEN, write_interval=0, sleep=lambda s: None, timeout=5)
    return GitHubPlatform(fake.repo, 1, token=TOKEN, client=client)


def test_upsert_comment_creates_then_edits_then_skips(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    pr = gh.get_pull_request()
    marker = comment_marker("docs-abc123")
    first = gh.upsert_comment(pr, marker, "hello")
    assert first.ok and first.status == 201 and first.action == "comment"
    assert fake_github.issue_comments[0]["body"] == f"{marker}\nhello"
    same = platform(fake_github).upsert_comment(pr, marker, "hello")  # a new run: lists again
    assert same.ok and same.skipped and same.ids == first.ids
    edited = platform(fake_github).upsert_comment(pr, marker, "changed")
    assert edited.ok and edited.status == 200 and not edited.skipped
    assert len(fake_github.issue_comments) == 1
    assert fake_github.issue_comments[0]["body"] == f"{marker}\nchanged"


def test_each_marker_owns_its_own_comment(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    pr = gh.get_pull_request()
    # A human comment quoting a marker mid-text is never taken over.
    fake_github.issue_comments.append({"_pr": 1, "id": 5, "user": {"login": "alice"},
                                       "body": f"see {comment_marker('a-1')} above"})  # fmt: skip
    gh.upsert_comment(pr, comment_marker("a-1"), "A")
    gh.upsert_comment(pr, comment_marker("b-2"), "B")
    gh.upsert_comment(pr, comment_marker("a-1"), "A2")
    bodies = sorted(c["body"] for c in fake_github.issue_comments)
    assert bodies == sorted([f"see {comment_marker('a-1')} above",
                             f"{comment_marker('a-1')}\nA2", f"{comment_marker('b-2')}\nB"])  # fmt: skip


def test_lost_response_is_reconciled_not_duplicated(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    pr = gh.get_pull_request()
    fake_github.inject("POST", r"/issues/1/comments$", 502, after=True)
    res = gh.upsert_comment(pr, comment_marker("x-1"), "once")
    assert res.ok
    assert len(fake_github.issue_comments) == 1


def test_update_description_patches_the_body(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    pr = gh.get_pull_request()
    res = gh.update_description(pr, "new body")
    assert res.ok and res.status == 200 and res.action == "describe"
    assert fake_github.prs[1].body == "new body"
    (patch,) = fake_github.calls("PATCH", r"/pulls/1$")
    assert patch.json == {"body": "new body"}


def test_update_description_retries_5xx_and_surfaces_403(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    pr = gh.get_pull_request()
    fake_github.inject("PATCH", r"/pulls/1$", 500)
    assert gh.update_description(pr, "b2").ok and fake_github.prs[1].body == "b2"
    fake_github.inject("PATCH", r"/pulls/1$", 403,
                       body={"message": "Resource not accessible by integration"})  # fmt: skip
    with pytest.raises(PlatformError) as info:
        gh.update_description(pr, "b3")
    assert getattr(info.value, "status", None) == 403 and fake_github.prs[1].body == "b2"
