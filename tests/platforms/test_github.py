"""GitHub adapter, reads and review/summary/labels, over HTTP against the fake GitHub."""

from __future__ import annotations

from typing import Any

import pytest

from prbot.diff.parse import parse_diff
from prbot.errors import ExitCode, PlatformError
from prbot.http import ApiClient
from prbot.platforms.base import (
    REVIEW_MARKER,
    SUMMARY_MARKER,
    InlineComment,
    Platform,
    PullRequest,
    ReviewEvent,
)
from prbot.platforms.github import GitHubPlatform, github_client
from prbot.platforms.github_format import synthesise_diff
from prbot.platforms.writes import truncate
from tests.fakes import github_server
from tests.fakes.github_server import BOT, TOKEN, FakeGitHub, b64

#: The fake GitHub fixture (shared from tests/fakes).
fake_github = github_server.fake_github


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def platform(fake: FakeGitHub, *, token: str = TOKEN, number: int = 1, **kw: Any) -> GitHubPlatform:
    client: ApiClient = github_client(
        fake.api_url, token, write_interval=0, sleep=kw.pop("sleep", Sleeps()), timeout=5
    )
    return GitHubPlatform(fake.repo, number, token=token, client=client, **kw)


def comment(line: int, fp: str = "f1", path: str = "src/app.py", **kw: Any) -> InlineComment:
    return InlineComment(path=path, line=line, body=f"problem at {line}", fingerprint=fp, **kw)


# -- reading -----------------------------------------------------------------------------------


def test_is_a_platform_and_sends_documented_headers(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    assert isinstance(gh, Platform)
    pr = gh.get_pull_request()
    req = fake_github.requests[0]
    assert req.path == "/repos/octo/demo/pulls/1"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.headers["accept"] == "application/vnd.github+json"
    assert req.headers["x-github-api-version"] == "2022-11-28"
    assert req.headers["user-agent"].startswith("prbot/")
    assert (pr.number, pr.author, pr.head_sha, pr.base_ref) == (1, "alice", "a" * 40, "main")
    assert pr.fork is False and pr.mergeable is True and pr.created_at is not None
    assert pr.additions == 4 and pr.changed_files == 2


def test_labels_and_fields_mapped(fake_github: FakeGitHub) -> None:
    fake_github.add_pr(2, labels=["bug", "needs review"], draft=True, mergeable=None)
    pr = platform(fake_github, number=2).get_pull_request()
    assert pr.labels == ("bug", "needs review") and pr.draft and pr.mergeable is None


@pytest.mark.parametrize(("head_repo", "fork"), [("", False), ("mallory/demo", True), (None, True)])
def test_fork_detection(fake_github: FakeGitHub, head_repo: str | None, fork: bool) -> None:
    fake_github.add_pr(3, head_repo=head_repo)
    assert platform(fake_github, number=3).get_pull_request().fork is fork


def test_404_says_not_found_or_invisible(fake_github: FakeGitHub) -> None:
    with pytest.raises(PlatformError) as ei:
        platform(fake_github, number=99).get_pull_request()
    assert str(ei.value) == "pull request octo/demo#99 not found (or the token cannot see it)"
    assert ei.value.exit_code == ExitCode.UNAVAILABLE


def test_401_says_the_token_was_refused(fake_github: FakeGitHub) -> None:
    wrong = "ghp_wrongtoken_abcdef"
    with pytest.raises(PlatformError) as ei:
        platform(fake_github, token=wrong).get_pull_request()
    assert str(ei.value) == "GitHub refused the token (401): check GITHUB_TOKEN"
    assert wrong not in str(ei.value)


def test_rate_limit_403_is_retried_with_fake_sleep(fake_github: FakeGitHub) -> None:
    fake_github.inject(
        "GET", r"/pulls/1$", 403,
        body={"message": "You have exceeded a secondary rate limit."},
        headers={"Retry-After": "3"},
    )  # fmt: skip
    sleeps = Sleeps()
    gh = platform(fake_github, sleep=sleeps)
    assert gh.get_pull_request().number == 1
    assert sleeps == [3.0] and gh.api_calls == 2


def test_get_diff_parses(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    diff = gh.get_diff(gh.get_pull_request())
    assert fake_github.calls("GET")[-1].headers["accept"] == "application/vnd.github.diff"
    parsed, skipped = parse_diff(diff)
    assert [(f.path, f.is_binary) for f in parsed.files] == [
        ("src/app.py", False),
        ("docs/logo.png", True),
    ]
    assert not skipped


def test_diff_406_falls_back_to_files(fake_github: FakeGitHub) -> None:
    fake_github.add_pr(4, diff_too_large=True)
    gh = platform(fake_github, number=4)
    pr = gh.get_pull_request()
    rebuilt = gh.get_diff(pr)
    assert fake_github.calls("GET", r"/pulls/4/files$")
    parsed, skipped = parse_diff(rebuilt)
    direct, _ = parse_diff(fake_github.prs[1].diff)
    assert (
        parsed.file("src/app.py").commentable_lines()
        == direct.file("src/app.py").commentable_lines()
    )
    assert parsed.additions == direct.additions and parsed.deletions == direct.deletions
    assert parsed.file("docs/logo.png").is_binary and not skipped


def test_diff_fallback_paginates_many_files(fake_github: FakeGitHub) -> None:
    parts = [
        f"diff --git a/f{i}.txt b/f{i}.txt\nnew file mode 100644\n--- /dev/null\n+++ b/f{i}.txt\n"
        f"@@ -0,0 +1 @@\n+line {i}\n"
        for i in range(130)
    ]
    fake_github.add_pr(5, diff="".join(parts), diff_too_large=True)
    gh = platform(fake_github, number=5)
    parsed, skipped = parse_diff(gh.get_diff(gh.get_pull_request()))
    assert len(parsed.files) == 130 and not skipped
    assert len(fake_github.calls("GET", r"/pulls/5/files$")) == 2  # 100 + 30


def test_synthesised_diff_handles_renames_removals_and_binaries() -> None:
    files = [
        {"filename": "new.py", "previous_filename": "old.py", "status": "renamed", "changes": 0},
        {"filename": "gone.py", "status": "removed", "patch": "@@ -1 +0,0 @@\n-x = 1"},
        {"filename": "img.png", "status": "added"},
        {"filename": "b.py", "previous_filename": "a.py", "status": "renamed", "changes": 1,
         "patch": "@@ -1 +1 @@\n-a\n+b"},
    ]  # fmt: skip
    parsed, skipped = parse_diff(synthesise_diff(files))
    by_path = {f.path: f for f in parsed.files}
    assert by_path["new.py"].old_path == "old.py" and not by_path["new.py"].hunks
    assert by_path["gone.py"].status.value == "deleted"
    assert by_path["b.py"].old_path == "a.py" and by_path["b.py"].additions == 1
    assert by_path["img.png"].is_binary and by_path["img.png"].status.value == "added"
    assert not skipped


def test_read_file_base64_and_missing(fake_github: FakeGitHub) -> None:
    data = "rules:\n  - name: ünïcode\n".encode() * 50  # long enough for wrapped base64
    fake_github.files[("b" * 40, ".prbot.yml")] = data
    gh = platform(fake_github)
    assert gh.read_file(".prbot.yml", "b" * 40) == data
    assert "\n" in b64(data).strip()
    assert gh.read_file(".prbot.yml", "a" * 40) is None
    assert gh.read_file("missing.yml", "b" * 40) is None
    assert fake_github.calls("GET", "/contents/")[0].query == {"ref": "b" * 40}


def test_team_membership(fake_github: FakeGitHub) -> None:
    fake_github.teams[("octo", "core", "bob")] = "active"
    fake_github.teams[("octo", "core", "carol")] = "pending"
    gh = platform(fake_github)
    assert gh.is_team_member("octo/core", "bob") is True
    assert gh.is_team_member("octo/core", "carol") is False
    assert gh.is_team_member("octo/core", "mallory") is False
    with pytest.raises(PlatformError.__mro__[1]):
        gh.is_team_member("core", "bob")


def test_list_open_pull_requests_paginates(fake_github: FakeGitHub) -> None:
    for n in range(2, 106):
        fake_github.add_pr(n)
    fake_github.add_pr(200, state="closed")
    prs = platform(fake_github).list_open_pull_requests()
    assert len(prs) == 105 and 200 not in {p.number for p in prs}
    assert len(fake_github.calls("GET", r"/pulls$")) == 2


# -- review ------------------------------------------------------------------------------------


def test_post_review_one_request_with_markers_and_ranges(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    pr = gh.get_pull_request()
    res = gh.post_review(
        pr, body="2 findings", event=ReviewEvent.COMMENT,
        comments=[comment(2, "aa"), comment(6, "bb", start_line=5)],
    )  # fmt: skip
    assert res.ok and not res.skipped and res.status == 200 and res.ids
    posts = fake_github.calls("POST", "/reviews$")
    assert len(posts) == 1
    sent = posts[0].json
    assert sent["commit_id"] == pr.head_sha and sent["event"] == "COMMENT"
    assert sent["body"].startswith(REVIEW_MARKER) and "2 findings" in sent["body"]
    c1, c2 = sent["comments"]
    assert (c1["path"], c1["line"], c1["side"]) == (
        "src/app.py",
        2,
        "RIGHT",
    ) and "start_line" not in c1
    assert (c2["start_line"], c2["start_side"], c2["line"]) == (5, "RIGHT", 6)
    assert c1["body"].endswith("<!-- prbot:finding:aa -->")
    assert len(fake_github.review_comments) == 2


def test_second_post_review_dedups_inline_comments(fake_github: FakeGitHub) -> None:
    pr = platform(fake_github).get_pull_request()
    platform(fake_github).post_review(
        pr, body="b", comments=[comment(2, "aa")], event=ReviewEvent.COMMENT
    )
    again = platform(fake_github)  # a new run: no cache
    res = again.post_review(pr, body="b", comments=[comment(2, "aa")], event=ReviewEvent.COMMENT)
    assert res.skipped and res.ok and "already posted" in res.detail
    assert len(fake_github.reviews) == 1 and len(fake_github.review_comments) == 1
    # A new finding is posted, the old one is not repeated.
    res = again.post_review(
        pr, body="b", comments=[comment(2, "aa"), comment(3, "cc")], event=ReviewEvent.COMMENT
    )
    assert not res.skipped and [c["line"] for c in fake_github.review_comments] == [2, 3]
    # Same fingerprint on another line is a different comment.
    res = again.post_review(pr, body="b", comments=[comment(3, "aa")], event=ReviewEvent.COMMENT)
    assert not res.skipped and len(fake_github.review_comments) == 3


def test_422_line_outside_diff_moves_comments_into_body(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    pr = gh.get_pull_request()
    res = gh.post_review(
        pr, body="summary", event=ReviewEvent.COMMENT,
        comments=[comment(2, "aa"), comment(15, "zz")],  # 15 is between hunks
    )  # fmt: skip
    assert (
        res.ok
        and "moved into the review body" in res.detail
        and "must be part of the diff" in res.detail
    )
    posts = fake_github.calls("POST", "/reviews$")
    assert len(posts) == 2 and posts[1].json["comments"] == []
    body = fake_github.reviews[0]["body"]
    assert "`src/app.py` line 2: problem at 2" in body and "line 15: problem at 15" in body
    assert fake_github.review_comments == []


def test_approve_own_pr_is_refused_with_an_actionable_line(fake_github: FakeGitHub) -> None:
    fake_github.tokens[TOKEN] = "alice"  # the token's user wrote the PR
    gh = platform(fake_github)
    res = gh.post_review(gh.get_pull_request(), body="lgtm", comments=[], event=ReviewEvent.APPROVE)
    assert not res.ok and res.status == 422 and "PR author" in res.detail and "\n" not in res.detail
    assert fake_github.reviews == []


def test_actions_not_permitted_to_approve_keeps_findings(fake_github: FakeGitHub) -> None:
    fake_github.actions_cannot_approve = True
    gh = platform(fake_github)
    res = gh.post_review(
        gh.get_pull_request(), body="ok", comments=[comment(2)], event=ReviewEvent.APPROVE
    )
    assert not res.ok and "Allow GitHub Actions to create and approve pull requests" in res.detail
    assert [r["state"] for r in fake_github.reviews] == ["COMMENTED"]
    assert len(fake_github.review_comments) == 1


def test_ambiguous_review_post_is_reconciled_not_duplicated(fake_github: FakeGitHub) -> None:
    fake_github.inject("POST", "/reviews$", 502, after=True)
    gh = platform(fake_github)
    res = gh.post_review(
        gh.get_pull_request(), body="b", comments=[comment(2)], event=ReviewEvent.COMMENT
    )
    assert res.ok and res.ids == (str(fake_github.reviews[0]["id"]),)
    assert len(fake_github.reviews) == 1 and len(fake_github.calls("POST", "/reviews$")) == 1
    assert fake_github.calls("GET", "/reviews$")


def test_ambiguous_review_post_lost_before_storing_is_sent_again(fake_github: FakeGitHub) -> None:
    fake_github.inject("POST", "/reviews$", 502)  # refused before anything was stored
    gh = platform(fake_github)
    res = gh.post_review(
        gh.get_pull_request(), body="b", comments=[comment(2)], event=ReviewEvent.COMMENT
    )
    assert (
        res.ok
        and len(fake_github.reviews) == 1
        and len(fake_github.calls("POST", "/reviews$")) == 2
    )


def test_list_comments_and_reviews(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    pr = gh.get_pull_request()
    gh.post_review(pr, body="b", comments=[comment(2, "aa")], event=ReviewEvent.COMMENT)
    gh.upsert_summary(pr, "summary")
    fake_github.issue_comments.append(
        {"_pr": 1, "id": 1, "body": "human comment", "user": {"login": "bob"}}
    )
    found = platform(fake_github).list_comments(pr)
    assert {c.body.split("\n")[0] for c in found} == {SUMMARY_MARKER, "problem at 2"}
    inline = [c for c in found if c.path]
    assert inline[0].line == 2 and inline[0].author == BOT
    reviews = gh.list_reviews(pr)
    assert [(r.author, r.state, r.commit_id) for r in reviews] == [(BOT, "COMMENTED", pr.head_sha)]


# -- summary and labels ------------------------------------------------------------------------


def test_summary_upsert_patches_on_second_call(fake_github: FakeGitHub) -> None:
    pr = platform(fake_github).get_pull_request()
    first = platform(fake_github).upsert_summary(pr, "v1")
    assert first.ok and first.status == 201 and len(fake_github.issue_comments) == 1
    second = platform(fake_github).upsert_summary(pr, "v2")
    assert second.ok and second.status == 200 and second.ids == first.ids
    assert len(fake_github.issue_comments) == 1
    assert fake_github.issue_comments[0]["body"] == f"{SUMMARY_MARKER}\nv2"
    assert len(fake_github.calls("PATCH", "/issues/comments/")) == 1
    third = platform(fake_github).upsert_summary(pr, "v2")
    assert third.skipped and len(fake_github.calls("PATCH")) == 1


def test_summary_ignores_other_authors_marker_when_login_known(fake_github: FakeGitHub) -> None:
    fake_github.issue_comments.append(
        {"_pr": 1, "id": 7, "body": f"{SUMMARY_MARKER}\nforged", "user": {"login": "mallory"}}
    )
    gh = platform(fake_github, bot_login=BOT)
    res = gh.upsert_summary(gh.get_pull_request(), "real")
    assert res.status == 201 and fake_github.issue_comments[0]["body"].endswith("forged")


def test_summary_is_truncated_below_the_limit(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    res = gh.upsert_summary(gh.get_pull_request(), "é" * 70_000)
    body = fake_github.issue_comments[0]["body"]
    assert res.ok and len(body.encode()) <= 65_000 and "truncated" in body
    assert body.startswith(SUMMARY_MARKER)
    assert truncate("short") == "short"


def test_summary_post_lost_response_is_not_duplicated(fake_github: FakeGitHub) -> None:
    fake_github.inject("POST", r"/issues/1/comments$", 504, after=True)
    gh = platform(fake_github)
    res = gh.upsert_summary(gh.get_pull_request(), "hello")
    assert res.ok and len(fake_github.issue_comments) == 1


def test_labels_add_remove_idempotent(fake_github: FakeGitHub) -> None:
    fake_github.add_pr(6, labels=["keep-me", "stale"])
    gh = platform(fake_github, number=6)
    pr = gh.get_pull_request()
    res = gh.set_labels(pr, add=["prbot: reviewed", "keep-me"], remove=["stale", "absent"])
    assert res.ok and not res.skipped
    assert fake_github.prs[6].labels == ["keep-me", "prbot: reviewed"]
    assert fake_github.calls("POST", "/labels$")[0].json == {"labels": ["prbot: reviewed"]}
    deletes = fake_github.calls("DELETE", "/labels/")
    assert [d.path.rsplit("/", 1)[1] for d in deletes] == ["stale"]
    again = platform(fake_github, number=6)
    res2 = again.set_labels(again.get_pull_request(), add=["prbot: reviewed"], remove=["stale"])
    assert res2.skipped and len(fake_github.calls("POST", "/labels$")) == 1


def test_label_names_are_url_encoded_and_404_is_fine(fake_github: FakeGitHub) -> None:
    fake_github.add_pr(7, labels=["size/L", "a b?#"])
    gh = platform(fake_github, number=7)
    pr = gh.get_pull_request()
    fake_github.prs[7].labels = ["a b?#"]  # someone removed size/L meanwhile
    res = gh.set_labels(pr, add=[], remove=["size/L", "a b?#"])
    assert res.ok and fake_github.prs[7].labels == []
    raw = [r.path for r in fake_github.calls("DELETE")]
    prefix = "/repos/octo/demo/issues/7/labels/"
    assert raw == [prefix + "size%2FL", prefix + "a%20b%3F%23"]


def test_request_reviewers(fake_github: FakeGitHub) -> None:
    gh = platform(fake_github)
    pr = gh.get_pull_request()
    res = gh.request_reviewers(pr, users=["bob", "alice"], teams=["octo/core"])
    assert res.ok and fake_github.prs[1].requested_reviewers == ["bob"]
    assert fake_github.prs[1].requested_teams == ["core"]
    assert gh.request_reviewers(pr, users=[], teams=[]).skipped


def test_pr_fixture_shape(fake_github: FakeGitHub) -> None:
    pr = platform(fake_github).get_pull_request()
    assert isinstance(pr, PullRequest) and pr.forge == "github" and pr.repo == "octo/demo"


def test_enterprise_api_prefix() -> None:
    fake = FakeGitHub(prefix="/api/v3").start()
    try:
        fake.add_pr(1)
        assert platform(fake).get_pull_request().number == 1
        assert fake.api_url.endswith("/api/v3")
    finally:
        fake.close()
