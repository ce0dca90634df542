"""Bitbucket adapter, reads, comments and reviews, over HTTP against the fake Bitbucket."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from prbot.diff.model import FileStatus
from prbot.diff.parse import parse_diff
from prbot.errors import ExitCode, PlatformError, UsageError
from prbot.http import HttpError, HttpStatusError, RateLimitError
from prbot.platforms.base import (
    REVIEW_MARKER,
    SUMMARY_MARKER,
    InlineComment,
    Platform,
    ReviewEvent,
    comment_marker,
    finding_marker,
)
from prbot.platforms.bitbucket import BitbucketPlatform, bitbucket_client
from prbot.platforms.bitbucket_comments import from_bitbucket, to_bitbucket
from tests.fakes import bitbucket_server
from tests.fakes.bitbucket_server import (
    ALICE,
    APP_PASSWORD,
    BOB,
    BOT,
    HEAD,
    TOKEN,
    USERNAME,
    FakeBitbucket,
)

#: The fake Bitbucket fixture (shared from tests/fakes).
fake_bitbucket = bitbucket_server.fake_bitbucket


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def platform(
    fake: FakeBitbucket, *, pr_id: int = 1, sleep: Any = None, **kw: Any
) -> BitbucketPlatform:
    auth = {k: kw.pop(k) for k in ("token", "username", "app_password") if k in kw}
    if not auth:
        auth = {"token": TOKEN}
    client = bitbucket_client(
        fake.api_url,
        **auth,
        write_interval=0,
        sleep=Sleeps() if sleep is None else sleep,
        timeout=5,
    )
    return BitbucketPlatform(fake.repo, pr_id, client=client, poll_interval=0, **auth, **kw)


def comment(line: int, fp: str = "f1", path: str = "src/app.py", **kw: Any) -> InlineComment:
    return InlineComment(path=path, line=line, body=f"problem at {line}", fingerprint=fp, **kw)


# -- auth and reading ----------------------------------------------------------------------------


def test_bearer_token_and_pr_fields(fake_bitbucket: FakeBitbucket) -> None:
    bb = platform(fake_bitbucket)
    assert isinstance(bb, Platform)
    assert bb.capabilities.labels is False and bb.capabilities.checks is True
    assert bb.capabilities.request_changes is True
    pr = bb.get_pull_request()
    req = fake_bitbucket.requests[0]
    assert req.path == "/2.0/repositories/acme/widgets/pullrequests/1"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.headers["user-agent"].startswith("prbot/")
    assert (pr.forge, pr.repo, pr.number, pr.title) == (
        "bitbucket",
        "acme/widgets",
        1,
        "Add feature",
    )
    assert pr.body == "This PR adds a feature." and pr.author == "alice"
    assert pr.author_association == "NONE" and pr.state == "open" and pr.draft is False
    assert (pr.head_ref, pr.base_ref) == ("feature/x", "main")
    assert pr.head_sha == HEAD[:12]  # Bitbucket abbreviates; expanded only where needed
    assert pr.fork is False
    assert pr.url.endswith("/acme/widgets/pull-requests/1") and pr.created_at is not None
    assert bb.author_ids == (ALICE["account_id"], ALICE["uuid"])
    assert bb.api_calls == 1


def test_basic_auth_with_app_password(fake_bitbucket: FakeBitbucket) -> None:
    bb = platform(fake_bitbucket, username=USERNAME, app_password=APP_PASSWORD)
    assert bb.get_pull_request().number == 1
    expected = base64.b64encode(f"{USERNAME}:{APP_PASSWORD}".encode()).decode()
    assert fake_bitbucket.requests[0].headers["authorization"] == f"Basic {expected}"


@pytest.mark.parametrize(
    "auth",
    [{"token": "wrong"}, {"username": USERNAME, "app_password": "nope"}],
)
def test_refused_credentials_are_one_line_without_secret(
    fake_bitbucket: FakeBitbucket, auth: dict[str, str]
) -> None:
    with pytest.raises(PlatformError) as ei:
        platform(fake_bitbucket, **auth).get_pull_request()
    msg = str(ei.value)
    assert "401" in msg and "PRBOT_BITBUCKET_TOKEN" in msg and "\n" not in msg
    assert "wrong" not in msg and "nope" not in msg
    assert ei.value.exit_code == ExitCode.UNAVAILABLE


def test_missing_credentials_and_bad_repo_are_usage_errors() -> None:
    with pytest.raises(UsageError):
        bitbucket_client("http://127.0.0.1:9/2.0")
    with pytest.raises(UsageError):
        bitbucket_client("http://127.0.0.1:9/2.0", username="only-a-name")
    with pytest.raises(UsageError, match="workspace/repo_slug"):
        BitbucketPlatform("just-a-slug", 1, token="t")
    with pytest.raises(UsageError, match="labels_mode"):
        BitbucketPlatform("a/b", 1, token="t", labels_mode="paint")


def test_404_says_not_found(fake_bitbucket: FakeBitbucket) -> None:
    with pytest.raises(PlatformError) as ei:
        platform(fake_bitbucket, pr_id=99).get_pull_request()
    assert str(ei.value) == (
        "pull request acme/widgets#99 not found (or the credentials cannot see it)"
    )


@pytest.mark.parametrize(
    ("state", "expected"),
    [("OPEN", "open"), ("MERGED", "merged"), ("DECLINED", "closed"), ("SUPERSEDED", "closed")],
)
def test_state_mapping(fake_bitbucket: FakeBitbucket, state: str, expected: str) -> None:
    fake_bitbucket.add_pr(2, state=state, draft=True)
    pr = platform(fake_bitbucket, pr_id=2).get_pull_request()
    assert pr.state == expected and pr.draft is True


def test_fork_is_a_different_source_repository(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.add_pr(3, source_repo="mallory/widgets")
    assert platform(fake_bitbucket, pr_id=3).get_pull_request().fork is True


def test_error_body_message_is_surfaced_in_one_line(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.inject(
        "GET", r"/pullrequests/1$", 403,
        body={"type": "error", "error": {"message": "Your credentials lack scope pullrequest"}},
    )  # fmt: skip
    with pytest.raises(HttpStatusError) as ei:
        platform(fake_bitbucket).get_pull_request()
    assert ei.value.status == 403
    assert "Your credentials lack scope pullrequest" in str(ei.value) and "\n" not in str(ei.value)


def test_429_is_retried_with_retry_after(fake_bitbucket: FakeBitbucket) -> None:
    sleeps = Sleeps()
    fake_bitbucket.inject(
        "GET", r"/pullrequests/1$", 429, headers={"Retry-After": "7"},
        body={"type": "error", "error": {"message": "Rate limit for this resource has been exceeded"}},
    )  # fmt: skip
    pr = platform(fake_bitbucket, sleep=sleeps).get_pull_request()
    assert pr.number == 1 and 7.0 in sleeps
    assert len(fake_bitbucket.calls("GET", r"/pullrequests/1$")) == 2


def test_429_storm_gives_up_with_rate_limit_error(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.inject("GET", r"/pullrequests/1$", 429, times=20)
    with pytest.raises(RateLimitError) as ei:
        platform(fake_bitbucket).get_pull_request()
    assert ei.value.status == 429 and "scripted 429" in str(ei.value)
    assert ei.value.headers.get("x-ratelimit-limit") == "1000"


# -- diff ----------------------------------------------------------------------------------------


def test_diff_follows_redirect_and_keeps_auth(fake_bitbucket: FakeBitbucket) -> None:
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    raw = bb.get_diff(pr)
    assert raw == fake_bitbucket.prs[1].diff.encode()
    follow = fake_bitbucket.calls("GET", r"/diff/")[-1]
    assert follow.path.endswith(f"/diff/{HEAD[:12]}..{fake_bitbucket.prs[1].base[:12]}")
    assert follow.headers["authorization"] == f"Bearer {TOKEN}"
    diff, _ = parse_diff(raw)
    logo = next(f for f in diff.files if f.path == "assets/brand/logo.png")
    assert logo.status is FileStatus.RENAMED and logo.old_path == "assets/logo.png"
    assert logo.is_binary and not logo.hunks
    app = next(f for f in diff.files if f.path == "src/app.py")
    assert app.additions == 4 and app.deletions == 1


def test_too_large_diff_is_rebuilt_file_by_file(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.prs[1].diff_too_large = True
    fake_bitbucket.prs[1].huge_files = {"assets/brand/logo.png"}
    bb = platform(fake_bitbucket)
    raw = bb.get_diff(bb.get_pull_request())
    diff, _ = parse_diff(raw)
    paths = {f.path: f for f in diff.files}
    assert set(paths) == {"src/app.py", "assets/brand/logo.png"}
    assert paths["src/app.py"].additions == 4
    assert paths["assets/brand/logo.png"].is_binary  # too large alone: kept, as skipped
    per_file = fake_bitbucket.calls("GET", r"/diff/")[1:]
    assert [r.query["path"] for r in per_file] == [
        ["src/app.py"],
        ["assets/logo.png", "assets/brand/logo.png"],
    ]
    assert all(r.query.get("topic") == ["true"] for r in per_file)


# -- comments ------------------------------------------------------------------------------------


def test_marker_translation_round_trips() -> None:
    body = f"{SUMMARY_MARKER}\n## Title\ntext\n{finding_marker('abc_1')}"
    bb = to_bitbucket(body)
    assert "<!--" not in bb
    assert "[//]: # (prbot:summary)" in bb and "\n\n[//]: # (prbot:finding:abc_1)" in bb
    assert from_bitbucket(bb).replace("\n\n<!-- prbot:finding", "\n<!-- prbot:finding") == body
    # Text that only looks like a marker mid-line is left alone.
    assert to_bitbucket("see <!-- prbot:summary --> here") == "see <!-- prbot:summary --> here"


def test_inline_comments_posted_then_not_repeated(fake_bitbucket: FakeBitbucket) -> None:
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    res = bb.post_review(
        pr, body="prbot review: 2 findings", comments=[comment(2, "f1"), comment(5, "f2")],
        event=ReviewEvent.COMMENT,
    )  # fmt: skip
    assert res.ok and res.status == 201 and "COMMENT with 2 inline comment(s)" in res.detail
    posts = fake_bitbucket.calls("POST", r"/comments$")
    inline = [p.json for p in posts if "inline" in p.json]
    assert [i["inline"] for i in inline] == [
        {"path": "src/app.py", "to": 2},
        {"path": "src/app.py", "to": 5},
    ]
    assert "[//]: # (prbot:finding:f1)" in inline[0]["content"]["raw"]
    assert "<!--" not in inline[0]["content"]["raw"]
    review = [p.json for p in posts if "inline" not in p.json]
    assert len(review) == 1 and "[//]: # (prbot:review)" in review[0]["content"]["raw"]

    again = platform(fake_bitbucket)
    res2 = again.post_review(
        pr, body="prbot review: 2 findings", comments=[comment(2, "f1"), comment(5, "f2")],
        event=ReviewEvent.COMMENT,
    )  # fmt: skip
    assert res2.skipped and "2 inline comment(s) already posted" in res2.detail
    assert len(fake_bitbucket.calls("POST", r"/comments$")) == 3
    # A new finding alone is added; the review text is edited in place, not re-posted.
    res3 = again.post_review(
        pr, body="prbot review: 3 findings",
        comments=[comment(2, "f1"), comment(5, "f2"), comment(25, "f3")], event=ReviewEvent.COMMENT,
    )  # fmt: skip
    assert res3.ok and "1 inline comment(s)" in res3.detail
    assert len(fake_bitbucket.calls("POST", r"/comments$")) == 4
    assert len(fake_bitbucket.calls("PUT", r"/comments/\d+$")) == 1


def test_old_side_and_ranges(fake_bitbucket: FakeBitbucket) -> None:
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    bb.post_review(
        pr, body="", event=ReviewEvent.COMMENT,
        comments=[comment(4, "old", side="LEFT"), comment(6, "rng", start_line=5)],
    )  # fmt: skip
    posted = [p.json for p in fake_bitbucket.calls("POST", r"/comments$")]
    assert posted[0]["inline"] == {"path": "src/app.py", "from": 4}
    assert posted[1]["inline"] == {"path": "src/app.py", "to": 6}
    assert posted[1]["content"]["raw"].startswith("_Lines 5–6:_")
    assert len(posted) == 2  # empty review text: no review comment


def test_refused_inline_falls_back_to_plain_comment(fake_bitbucket: FakeBitbucket) -> None:
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    res = bb.post_review(
        pr, body="", event=ReviewEvent.COMMENT,
        comments=[comment(99, "off"), comment(1, "gone", path="nope.py"), comment(2, "ok")],
    )  # fmt: skip
    assert res.ok and "2 refused inline by Bitbucket" in res.detail
    stored = fake_bitbucket.comments
    plain = [c for c in stored if "inline" not in c]
    assert len(plain) == 2 and "`src/app.py` line 99" in plain[0]["content"]["raw"]
    assert "problem at 99" in plain[0]["content"]["raw"]
    assert [c["inline"] for c in stored if "inline" in c] == [{"path": "src/app.py", "to": 2}]
    # Second run: the fallen-back findings are recognised and not posted again.
    again = platform(fake_bitbucket).post_review(
        pr, body="", event=ReviewEvent.COMMENT,
        comments=[comment(99, "off"), comment(1, "gone", path="nope.py"), comment(2, "ok")],
    )  # fmt: skip
    assert again.skipped and len(fake_bitbucket.comments) == 3


def test_other_errors_on_inline_are_not_swallowed(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.inject("POST", r"/comments$", 403)
    bb = platform(fake_bitbucket)
    with pytest.raises(HttpStatusError) as ei:
        bb.post_review(
            bb.get_pull_request(), body="", comments=[comment(2)], event=ReviewEvent.COMMENT
        )
    assert ei.value.status == 403


def test_lost_comment_answer_is_reconciled_not_duplicated(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.inject("POST", r"/comments$", 502, after=True)
    bb = platform(fake_bitbucket)
    res = bb.post_review(
        bb.get_pull_request(), body="", comments=[comment(2, "lost")], event=ReviewEvent.COMMENT
    )
    assert res.ok and len(fake_bitbucket.comments) == 1
    assert len(fake_bitbucket.calls("POST", r"/comments$")) == 1


def test_list_comments_reads_both_marker_forms_and_pages(fake_bitbucket: FakeBitbucket) -> None:
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    for n in range(120):  # noise over two pages of 100
        fake_bitbucket.comments.append({
            "id": fake_bitbucket.new_id(), "content": {"raw": f"human {n}"}, "user": BOB,
            "deleted": False, "_pr": 1,
        })  # fmt: skip
    fake_bitbucket.comments.append({
        "id": 5001, "content": {"raw": "old style\n<!-- prbot:finding:x1 -->"}, "user": BOT,
        "deleted": False, "inline": {"path": "src/app.py", "to": 3}, "_pr": 1,
    })  # fmt: skip
    fake_bitbucket.comments.append({
        "id": 5002, "content": {"raw": "[//]: # (prbot:summary)\nhi"}, "user": BOT,
        "deleted": True, "_pr": 1,
    })  # fmt: skip
    mine = bb.list_comments(pr)
    assert [(c.id, c.path, c.line, c.author) for c in mine] == [
        ("5001", "src/app.py", 3, "prbot-bot")
    ]
    pages = fake_bitbucket.calls("GET", r"/comments$")
    assert len(pages) == 2 and pages[0].query["pagelen"] == ["100"]


def test_bot_uuid_filters_planted_markers(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.comments.append({
        "id": 6001, "content": {"raw": "[//]: # (prbot:summary)\nplanted"}, "user": BOB,
        "deleted": False, "_pr": 1,
    })  # fmt: skip
    bb = platform(fake_bitbucket, bot_uuid=BOT["uuid"])
    pr = bb.get_pull_request()
    assert bb.list_comments(pr) == []
    res = bb.upsert_summary(pr, "## prbot summary")
    assert res.ok and res.status == 201  # the planted one is not edited (it is not ours)


def test_pagination_refuses_other_hosts(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.inject(
        "GET", r"/comments$", 200,
        body={"values": [], "pagelen": 100, "next": "https://evil.example/2.0/steal"},
    )  # fmt: skip
    bb = platform(fake_bitbucket)
    with pytest.raises(HttpError, match="another host"):
        bb.list_comments(bb.get_pull_request())


# -- summary, rule comments ----------------------------------------------------------------------


def test_summary_created_then_updated_then_unchanged(fake_bitbucket: FakeBitbucket) -> None:
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    first = bb.upsert_summary(pr, f"{SUMMARY_MARKER}\n## prbot: Comments\n1 finding")
    assert first.ok and first.status == 201 and first.detail == "summary comment created"
    raw = fake_bitbucket.comments[0]["content"]["raw"]
    assert raw.startswith("[//]: # (prbot:summary)\n## prbot") and "<!--" not in raw

    bb2 = platform(fake_bitbucket)
    same = bb2.upsert_summary(pr, f"{SUMMARY_MARKER}\n## prbot: Comments\n1 finding")
    assert same.skipped and same.ids == first.ids
    changed = bb2.upsert_summary(pr, "## prbot: Comments\n2 findings")  # marker added when absent
    assert changed.detail == "summary comment updated" and changed.status == 200
    assert len(fake_bitbucket.comments) == 1
    assert fake_bitbucket.comments[0]["content"]["raw"].endswith("2 findings")
    assert len(fake_bitbucket.calls("POST", r"/comments$")) == 1


def test_rule_comment_is_separate_from_summary(fake_bitbucket: FakeBitbucket) -> None:
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    bb.upsert_summary(pr, "summary")
    marker = comment_marker("needs-docs")
    a = bb.upsert_comment(pr, marker, "Please add docs")
    b = bb.upsert_comment(pr, marker, "Please add docs")
    assert a.status == 201 and b.skipped and len(fake_bitbucket.comments) == 2
    c = bb.upsert_comment(pr, marker, "Please add docs, thanks")
    assert c.status == 200 and len(fake_bitbucket.comments) == 2
    assert any(m.body.startswith(marker) for m in bb.list_comments(pr))


# -- approve, request changes --------------------------------------------------------------------


def test_approve_and_request_changes(fake_bitbucket: FakeBitbucket) -> None:
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    res = bb.post_review(pr, body="prbot: the rules for approval hold.", comments=[],
                         event=ReviewEvent.APPROVE)  # fmt: skip
    assert res.ok and res.status == 200 and "approved" in res.detail
    assert len(fake_bitbucket.calls("POST", r"/approve$")) == 1
    reviews = bb.list_reviews(pr)
    assert [(r.author, r.state) for r in reviews] == [("prbot-bot", "APPROVED")]
    res2 = bb.post_review(pr, body="prbot: changes requested.", comments=[comment(2)],
                          event=ReviewEvent.REQUEST_CHANGES)  # fmt: skip
    assert res2.ok and "changes requested" in res2.detail
    assert [(r.author, r.state) for r in bb.list_reviews(pr)] == [
        ("prbot-bot", "CHANGES_REQUESTED")
    ]
    review_comments = [
        c for c in fake_bitbucket.comments if REVIEW_MARKER[5:-4] in c["content"]["raw"]
    ]
    assert len(review_comments) == 1  # the review text was edited, not repeated


def test_approving_own_pr_is_a_one_line_refusal(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.add_pr(4, author=dict(BOT))
    bb = platform(fake_bitbucket, pr_id=4)
    pr = bb.get_pull_request()
    res = bb.post_review(pr, body="ok", comments=[comment(2)], event=ReviewEvent.APPROVE)
    assert not res.ok and res.status == 400
    assert (
        "Bitbucket refused to approve (400): You can't approve your own pull request." in res.detail
    )
    assert "\n" not in res.detail
    assert any("inline" in c for c in fake_bitbucket.comments)  # the finding still got posted


def test_list_reviews_maps_participants(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.prs[1].participants = [
        {"user": BOB, "role": "REVIEWER", "approved": False, "state": None},
        {"user": ALICE, "role": "PARTICIPANT", "approved": False, "state": None},
        {"user": BOT, "role": "REVIEWER", "approved": True, "state": "approved"},
    ]
    bb = platform(fake_bitbucket)
    got = [(r.author, r.state, r.id) for r in bb.list_reviews(bb.get_pull_request())]
    assert got == [
        ("bob", "PENDING", BOB["uuid"]),
        ("alice", "COMMENTED", ALICE["uuid"]),
        ("prbot-bot", "APPROVED", BOT["uuid"]),
    ]
