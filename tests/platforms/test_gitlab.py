"""GitLab adapter, reads and writes, over HTTP against the fake GitLab (no mocks of prbot)."""

from __future__ import annotations

from typing import Any

import pytest

from prbot.diff.parse import parse_diff
from prbot.errors import ExitCode, PlatformError, UsageError
from prbot.http import ApiClient
from prbot.platforms.base import (
    InlineComment,
    Platform,
    PullRequest,
)
from prbot.platforms.gitlab import GitLabPlatform, gitlab_client
from tests.fakes import gitlab_server
from tests.fakes.gitlab_server import (
    HEAD,
    OAUTH_TOKEN,
    PROJECT,
    PROJECT_ID,
    TOKEN,
    FakeGitLab,
)

#: The fake GitLab fixture (shared from tests/fakes).
fake_gitlab = gitlab_server.fake_gitlab
ENC = "/api/v4/projects/acme%2Fplatform%2Fdemo"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def platform(
    fake: FakeGitLab, *, token: str = TOKEN, kind: str = "private", iid: int = 1, **kw: Any
) -> GitLabPlatform:
    client: ApiClient = gitlab_client(
        fake.api_url, token, kind, write_interval=0, sleep=kw.pop("sleep", Sleeps()), timeout=5
    )
    project = kw.pop("project", PROJECT)
    return GitLabPlatform(project, iid, token=token, token_kind=kind, client=client, **kw)


def comment(line: int, fp: str = "f1", path: str = "src/app.py", **kw: Any) -> InlineComment:
    return InlineComment(path=path, line=line, body=f"problem at {line}", fingerprint=fp, **kw)


def ready(fake: FakeGitLab, **kw: Any) -> tuple[GitLabPlatform, PullRequest]:
    gl = platform(fake, **kw)
    pr = gl.get_pull_request()
    gl.get_diff(pr)
    return gl, pr


# -- reading -----------------------------------------------------------------------------------


def test_is_a_platform_with_gitlab_capabilities(fake_gitlab: FakeGitLab) -> None:
    gl = platform(fake_gitlab)
    assert isinstance(gl, Platform)
    caps = gl.capabilities
    assert caps.checks is False and caps.review_batch is False
    assert caps.inline_comments and caps.labels and caps.commit_status and caps.merge_sha_guard


def test_get_mr_maps_fields_and_encodes_the_project_path(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.mrs[1].labels = ["bug", "needs review"]
    gl = platform(fake_gitlab)
    pr = gl.get_pull_request()
    first = fake_gitlab.requests[0]
    assert first.path == f"{ENC}/merge_requests/1"
    assert first.headers["private-token"] == TOKEN and "authorization" not in first.headers
    assert first.headers["user-agent"].startswith("prbot/")
    assert (pr.forge, pr.repo, pr.number, pr.author) == ("gitlab", PROJECT, 1, "alice")
    assert (pr.head_sha, pr.base_sha, pr.head_ref, pr.base_ref) == (
        HEAD,
        "b" * 40,
        "feature/x",
        "main",
    )
    assert pr.labels == ("bug", "needs review") and pr.state == "open" and pr.fork is False
    assert pr.mergeable is True and pr.changed_files == 5 and pr.created_at is not None
    assert pr.url.endswith("/-/merge_requests/1")
    assert pr.author_association == "MEMBER"  # alice is a Developer (30)
    assert gl.api_calls == 2  # the MR and one members call


@pytest.mark.parametrize(
    ("level", "expected"),
    [(None, "NONE"), (20, "NONE"), (30, "MEMBER"), (40, "MEMBER"), (50, "OWNER")],
)
def test_author_association_from_the_members_api(
    fake_gitlab: FakeGitLab, level: int | None, expected: str
) -> None:
    fake_gitlab.members.pop(10, None)
    if level is not None:
        fake_gitlab.members[10] = level
    assert platform(fake_gitlab).get_pull_request().author_association == expected
    assert fake_gitlab.calls("GET", r"/members/all/10$")


@pytest.mark.parametrize(
    ("status", "mergeable"),
    [("mergeable", True), ("checking", None), ("conflict", False), ("some_new_value", False)],
)
def test_mergeable_from_detailed_merge_status(
    fake_gitlab: FakeGitLab, status: str, mergeable: bool | None
) -> None:
    fake_gitlab.mrs[1].detailed_merge_status = status
    assert platform(fake_gitlab).get_pull_request().mergeable is mergeable


def test_fork_draft_and_numeric_project_id(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.add_mr(2, source_project_id=1234, draft=True)
    pr = platform(fake_gitlab, iid=2, project=PROJECT_ID).get_pull_request()
    assert pr.fork is True and pr.draft is True
    assert fake_gitlab.requests[0].path == "/api/v4/projects/7/merge_requests/2"


def test_404_and_401_are_one_line_platform_errors(fake_gitlab: FakeGitLab) -> None:
    with pytest.raises(PlatformError) as ei:
        platform(fake_gitlab, iid=99).get_pull_request()
    assert str(ei.value) == f"merge request {PROJECT}!99 not found (or the token cannot see it)"
    assert ei.value.exit_code == ExitCode.UNAVAILABLE
    with pytest.raises(PlatformError, match=r"GitLab refused the token \(401\)") as ei2:
        platform(fake_gitlab, token="glpat-wrong").get_pull_request()
    assert "glpat-wrong" not in ei2.value.one_line()


def test_bad_constructor_arguments() -> None:
    with pytest.raises(UsageError):
        GitLabPlatform("", 1, token=TOKEN, api_url="http://127.0.0.1:9/api/v4")
    with pytest.raises(UsageError, match="private, job or oauth"):
        GitLabPlatform("a/b", 1, token=TOKEN, api_url="http://127.0.0.1:9/api/v4", token_kind="x")


def test_oauth_token_uses_bearer(fake_gitlab: FakeGitLab) -> None:
    platform(fake_gitlab, token=OAUTH_TOKEN, kind="oauth").get_pull_request()
    assert fake_gitlab.requests[0].headers["authorization"] == f"Bearer {OAUTH_TOKEN}"
    assert "private-token" not in fake_gitlab.requests[0].headers


def test_get_diff_synthesises_a_parseable_diff_with_versions(fake_gitlab: FakeGitLab) -> None:
    gl = platform(fake_gitlab)
    pr = gl.get_pull_request()
    diff, skipped = parse_diff(gl.get_diff(pr))
    by_path = {f.path: f for f in diff.files}
    assert set(by_path) == {
        "src/app.py",
        "docs/notes.md",
        "lib/new name.py",
        "img/logo.png",
        "gone.txt",
    }
    assert by_path["src/app.py"].additions == 4 and by_path["src/app.py"].deletions == 1
    assert by_path["docs/notes.md"].status.value == "added"
    assert by_path["lib/new name.py"].old_path == "lib/old name.py"
    assert by_path["img/logo.png"].is_binary and by_path["gone.txt"].status.value == "deleted"
    diffs = fake_gitlab.calls("GET", r"/diffs$")
    assert len(diffs) == 1 and diffs[0].query["per_page"] == "100"
    assert len(fake_gitlab.calls("GET", r"/versions$")) == 1
    assert skipped == []


def test_get_diff_follows_pagination_by_x_next_page(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.link_header = False
    items = [
        {"old_path": f"f{i}.txt", "new_path": f"f{i}.txt", "a_mode": "100644", "b_mode": "100644",
         "diff": f"@@ -1 +1 @@\n-a{i}\n+b{i}\n", "new_file": False, "renamed_file": False,
         "deleted_file": False}
        for i in range(230)
    ]  # fmt: skip
    fake_gitlab.add_mr(3, diffs=items)
    gl = platform(fake_gitlab, iid=3)
    diff, _ = parse_diff(gl.get_diff(gl.get_pull_request()))
    assert len(diff.files) == 230 and diff.files[-1].path == "f229.txt"
    assert [c.query.get("page", "1") for c in fake_gitlab.calls("GET", r"/diffs$")] == [
        "1",
        "2",
        "3",
    ]


def test_read_file_encodes_the_path_and_404_is_none(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.files[("main", "config/.prbot.yml")] = b"version: 1\n"
    gl = platform(fake_gitlab)
    assert gl.read_file("config/.prbot.yml", "main") == b"version: 1\n"
    assert fake_gitlab.requests[-1].path == f"{ENC}/repository/files/config%2F.prbot.yml/raw"
    assert fake_gitlab.requests[-1].query == {"ref": "main"}
    assert gl.read_file("config/.prbot.yml", "other") is None
    assert gl.read_file("missing.yml", "main") is None


def test_list_open_mrs_and_reviews(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.add_mr(2, state="merged")
    fake_gitlab.add_mr(3, approved_by=["bob", "carol"])
    gl = platform(fake_gitlab)
    assert [p.number for p in gl.list_open_pull_requests()] == [1, 3]
    assert fake_gitlab.requests[-1].query["state"] == "opened"
    pr3 = platform(fake_gitlab, iid=3).get_pull_request()
    reviews = gl.list_reviews(pr3)
    assert reviews == []  # gl is bound to MR !1, which nobody approved
    gl3 = platform(fake_gitlab, iid=3)
    assert [(r.author, r.state) for r in gl3.list_reviews(pr3)] == [
        ("bob", "APPROVED"),
        ("carol", "APPROVED"),
    ]


def test_checks_state_from_pipeline_and_statuses(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.mrs[1].pipeline_status = "running"
    fake_gitlab.statuses.extend([
        {"id": 1, "sha": HEAD, "name": "lint", "status": "failed", "allow_failure": False},
        {"id": 2, "sha": HEAD, "name": "lint", "status": "success", "allow_failure": False},
        {"id": 3, "sha": HEAD, "name": "tests", "status": "failed", "allow_failure": False},
        {"id": 4, "sha": HEAD, "name": "flaky", "status": "failed", "allow_failure": True},
        {"id": 5, "sha": HEAD, "name": "deploy", "status": "manual", "allow_failure": True},
        {"id": 6, "sha": "f" * 40, "name": "other", "status": "failed", "allow_failure": False},
    ])  # fmt: skip
    gl = platform(fake_gitlab)
    state = gl.checks_state(gl.get_pull_request())
    assert state.success == {"lint", "flaky"}
    assert state.failure == {"tests"}
    assert state.pending == {"pipeline"}


def test_is_team_member(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.group_members[("acme/security", 11)] = {"access_level": 30, "state": "active"}
    fake_gitlab.group_members[("acme/security", 12)] = {
        "access_level": 30,
        "state": "active",
        "membership_state": "awaiting",
    }
    gl = platform(fake_gitlab)
    assert gl.is_team_member("acme/security", "bob") is True
    assert fake_gitlab.requests[-1].path == "/api/v4/groups/acme%2Fsecurity/members/all/11"
    assert gl.is_team_member("acme/security", "carol") is False  # awaiting is not membership
    assert gl.is_team_member("acme/security", "alice") is False
    assert gl.is_team_member("acme/security", "nobody") is False


# -- rate limits ------------------------------------------------------------------------------


def test_429_retry_after_is_honoured_without_sleeping(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.inject(
        "GET", r"/merge_requests/1$", 429,
        headers={"Retry-After": "9", "RateLimit-Remaining": "0", "RateLimit-Reset": "1999999999"},
        body={"message": "Retry later"},
    )  # fmt: skip
    sleeps = Sleeps()
    gl = platform(fake_gitlab, sleep=sleeps)
    assert gl.get_pull_request().number == 1
    assert sleeps == [9.0]
    assert gl.api_calls == 3  # 429, the retry, the members call


def test_429_forever_is_a_platform_error(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.inject("GET", r"/merge_requests/1$", 429, headers={"Retry-After": "1"}, times=10)
    sleeps = Sleeps()
    with pytest.raises(PlatformError, match="429"):
        platform(fake_gitlab, sleep=sleeps).get_pull_request()
    assert sleeps == [1.0] * 4
