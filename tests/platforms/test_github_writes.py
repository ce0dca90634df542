"""GitHub adapter: check runs, status fallback, merge, App tokens and the per-run call budget."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from prbot.errors import PlatformError
from prbot.http import make_client
from prbot.platforms.base import (
    Annotation,
    CheckConclusion,
    CheckReport,
    InlineComment,
    ReviewEvent,
)
from prbot.platforms.github import GitHubPlatform, github_app_token, github_client
from tests.fakes import github_server
from tests.fakes.github_server import TOKEN, FakeGitHub

HEAD = "a" * 40

#: The fake GitHub fixture (shared from tests/fakes).
fake_github = github_server.fake_github


def platform(fake: FakeGitHub, *, number: int = 1, token: str = TOKEN) -> GitHubPlatform:
    client = github_client(fake.api_url, token, write_interval=0, sleep=lambda s: None, timeout=5)
    return GitHubPlatform(fake.repo, number, token=token, client=client)


def report(n_annotations: int = 0, **kw: Any) -> CheckReport:
    anns = [
        Annotation(path="src/app.py", start_line=i + 1, end_line=i + 1, level="warning",
                   message=f"finding {i}", title="rule")
        for i in range(n_annotations)
    ]  # fmt: skip
    kw.setdefault("conclusion", CheckConclusion.FAILURE)
    kw.setdefault("title", "prbot: findings")
    return CheckReport(head_sha=HEAD, summary="s", annotations=anns, **kw)


# -- check runs --------------------------------------------------------------------------------


def test_check_run_annotations_are_batched_by_50(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    res = gh.set_check(gh.get_pull_request(), report(120))
    assert res.ok and res.action == "check_run" and "120 annotation" in res.detail
    posts, patches = (
        fake_github.calls("POST", "/check-runs$"),
        fake_github.calls("PATCH", "/check-runs/"),
    )
    assert len(posts) == 1 and len(patches) == 2
    sizes = [len(r.json["output"]["annotations"]) for r in posts + patches]
    assert sizes == [50, 50, 20] and all(s <= 50 for s in sizes)
    run_id = fake_github.check_runs[0]["id"]
    assert len(fake_github.annotations[run_id]) == 120
    assert fake_github.check_runs[0]["conclusion"] == "failure"
    assert posts[0].json["head_sha"] == HEAD and posts[0].json["status"] == "completed"


def test_check_run_updates_an_existing_run_without_annotations(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    pr = gh.get_pull_request()
    gh.set_check(pr, report(0, conclusion=CheckConclusion.NEUTRAL))
    res = platform(fake_github).set_check(pr, report(0, conclusion=CheckConclusion.SUCCESS))
    assert res.ok and "updated" in res.detail
    assert len(fake_github.check_runs) == 1 and fake_github.check_runs[0]["conclusion"] == "success"
    lookup = fake_github.calls("GET", "/check-runs$")[-1]
    assert lookup.query["check_name"] == "prbot"


def test_check_run_rerun_with_annotations_does_not_pile_them_up(fake_github: FakeGitHub) -> None:
    pr = platform(fake_github).get_pull_request()
    platform(fake_github).set_check(pr, report(3))
    platform(fake_github).set_check(pr, report(3))
    assert [len(v) for v in fake_github.annotations.values()] == [3, 3]


def test_check_run_output_is_truncated(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    res = gh.set_check(gh.get_pull_request(), report(1, text="x" * 100_000))
    assert res.ok and len(fake_github.check_runs[0]["output"]["text"]) <= 65_535


def test_checks_403_falls_back_to_commit_status(fake_github: FakeGitHub) -> None:
    fake_github.checks_forbidden = True
    gh = platform(fake_github)
    long_title = "prbot: " + "very long title " * 20
    res = gh.set_check(
        gh.get_pull_request(), report(2, conclusion=CheckConclusion.NEUTRAL, title=long_title)
    )
    assert res.ok and res.action == "commit_status" and "checks: write" in res.detail
    assert "2 annotation(s) not shown" in res.detail
    (status,) = fake_github.statuses
    assert status["state"] == "success" and status["context"] == "prbot" and status["sha"] == HEAD
    assert len(status["description"]) <= 140


def test_checks_and_statuses_both_forbidden_is_not_ok(fake_github: FakeGitHub) -> None:
    fake_github.checks_forbidden = True
    fake_github.inject("POST", "/statuses/", 403, body={"message": "Resource not accessible"})
    gh = platform(fake_github)
    res = gh.set_check(gh.get_pull_request(), report())
    assert not res.ok and "statuses: write" in res.detail


def test_checks_state_sorts_runs_and_statuses(fake_github: FakeGitHub) -> None:
    fake_github.check_runs += [
        {"id": 1, "name": "build", "head_sha": HEAD, "status": "completed", "conclusion": "success",
         "output": {}},
        {"id": 2, "name": "lint", "head_sha": HEAD, "status": "completed", "conclusion": "failure",
         "output": {}},
        {"id": 3, "name": "e2e", "head_sha": HEAD, "status": "in_progress", "conclusion": None,
         "output": {}},
        {"id": 4, "name": "other-sha", "head_sha": "f" * 40, "status": "completed",
         "conclusion": "failure", "output": {}},
    ]  # fmt: skip
    fake_github.statuses += [
        {"id": 5, "sha": HEAD, "state": "error", "context": "ci/legacy"},
        {"id": 6, "sha": HEAD, "state": "pending", "context": "deploy"},
        {"id": 7, "sha": HEAD, "state": "success", "context": "docs"},
    ]
    gh = platform(fake_github)
    state = gh.checks_state(gh.get_pull_request())
    assert state.success == {"build", "docs"}
    assert state.failure == {"lint", "ci/legacy"}
    assert state.pending == {"e2e", "deploy"}


# -- merge -------------------------------------------------------------------------------------


def test_merge_with_reviewed_sha_and_branch_deletion(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    pr = gh.get_pull_request()
    res = gh.merge(pr, method="squash", sha=pr.head_sha, delete_branch=True)
    assert res.ok and res.ids == ("c" * 40,) and "deleted" in res.detail
    assert fake_github.calls("PUT", "/merge$")[0].json == {"merge_method": "squash", "sha": HEAD}
    assert fake_github.prs[1].merged and "feature" not in fake_github.refs


def test_merge_409_when_head_moved(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    pr = gh.get_pull_request()
    fake_github.prs[1].head_sha = "d" * 40  # pushed after the review
    res = gh.merge(pr, method="merge", sha=pr.head_sha)
    assert not res.ok and res.status == 409 and res.detail == "head moved since review; not merged"
    assert not fake_github.prs[1].merged


def test_merge_405_not_mergeable(fake_github: FakeGitHub) -> None:
    fake_github.add_pr(2, mergeable=False)
    gh = platform(fake_github, number=2)
    res = gh.merge(gh.get_pull_request(), method="merge", sha=HEAD, delete_branch=True)
    assert not res.ok and res.status == 405 and res.detail.startswith("not mergeable")
    assert not fake_github.calls("DELETE")


def test_merge_fork_keeps_branch(fake_github: FakeGitHub) -> None:
    fake_github.add_pr(3, head_repo="mallory/demo", head_ref="patch-1")
    gh = platform(fake_github, number=3)
    res = gh.merge(gh.get_pull_request(), method="rebase", sha=HEAD, delete_branch=True)
    assert res.ok and "fork" in res.detail and not fake_github.calls("DELETE")


def test_merge_unknown_method_sends_nothing(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    res = gh.merge(gh.get_pull_request(), method="octopus", sha=HEAD)
    assert not res.ok and not fake_github.calls("PUT")


def test_merge_lost_response_checks_before_reporting(fake_github: FakeGitHub) -> None:
    fake_github.inject("PUT", "/merge$", 502, after=True)
    gh = platform(fake_github)
    res = gh.merge(gh.get_pull_request(), method="merge", sha=HEAD)
    assert res.ok and len(fake_github.calls("PUT")) == 1


# -- GitHub App --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_pem() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def _factory(url: str, **kw: Any) -> Any:
    return make_client(url, write_interval=0, sleep=lambda s: None, timeout=5, **kw)


def test_app_token_exchange(fake_github: FakeGitHub, rsa_pem: tuple[str, str]) -> None:
    private, public = rsa_pem
    fake_github.apps["4242"] = (public, 77)
    fake_github.installations[77] = "octo/demo"
    token = github_app_token(
        fake_github.api_url, 4242, private, repo="octo/demo", client_factory=_factory
    )
    assert token == fake_github.issued_tokens[0]
    assert [r.path for r in fake_github.requests] == [
        "/repos/octo/demo/installation",
        "/app/installations/77/access_tokens",
    ]
    # The installation token works for the adapter.
    assert platform(fake_github, token=token).get_pull_request().number == 1


def test_app_token_with_known_installation_skips_lookup(
    fake_github: FakeGitHub, rsa_pem: tuple[str, str]
) -> None:
    private, public = rsa_pem
    fake_github.apps["1"] = (public, 5)
    github_app_token(fake_github.api_url, "1", private, repo="octo/demo", installation_id=5,
                     client_factory=_factory)  # fmt: skip
    assert [r.method for r in fake_github.requests] == ["POST"]


def test_app_token_wrong_key_is_a_one_line_error(
    fake_github: FakeGitHub, rsa_pem: tuple[str, str]
) -> None:
    _, public = rsa_pem
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fake_github.apps["9"] = (public, 5)
    fake_github.installations[5] = "octo/demo"
    with pytest.raises(PlatformError) as ei:
        github_app_token(fake_github.api_url, 9, other, repo="octo/demo", client_factory=_factory)
    assert "401" in str(ei.value) and "\n" not in str(ei.value) and "PRIVATE" not in str(ei.value)


def test_app_not_installed(fake_github: FakeGitHub, rsa_pem: tuple[str, str]) -> None:
    private, public = rsa_pem
    fake_github.apps["3"] = (public, 8)
    with pytest.raises(PlatformError, match="not installed on octo/demo"):
        github_app_token(fake_github.api_url, 3, private, repo="octo/demo", client_factory=_factory)


def test_app_bad_private_key(fake_github: FakeGitHub) -> None:
    with pytest.raises(PlatformError.__mro__[1], match="not a valid RSA PEM"):
        github_app_token(fake_github.api_url, 3, "nope", repo="octo/demo", client_factory=_factory)


# -- the whole run -----------------------------------------------------------------------------


def test_normal_run_within_eight_api_calls(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    pr = gh.get_pull_request()
    gh.get_diff(pr)
    gh.list_comments(pr)
    review = gh.post_review(
        pr, body="review", event=ReviewEvent.COMMENT,
        comments=[InlineComment(path="src/app.py", line=2, body="x", fingerprint="ff")],
    )  # fmt: skip
    labels = gh.set_labels(pr, add=["prbot: reviewed"], remove=["prbot: pending"])
    check = gh.set_check(pr, report(3))
    assert review.ok and labels.ok and check.ok
    assert gh.api_calls == len(fake_github.requests) <= 8
    assert review.api_calls == 1  # the comment listing was reused
