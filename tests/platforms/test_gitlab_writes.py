"""GitLab adapter writes: discussions, notes, labels, status, approvals, merge, job-token refusal."""

from __future__ import annotations

import pytest

from prbot.errors import PlatformError
from prbot.http import AmbiguousWrite
from prbot.platforms.base import (
    SUMMARY_MARKER,
    Annotation,
    CheckConclusion,
    CheckReport,
    ReviewEvent,
    comment_marker,
    finding_marker,
)
from prbot.platforms.gitlab import JOB_TOKEN_CANNOT_WRITE
from tests.fakes import gitlab_server
from tests.fakes.gitlab_server import BAD_POSITION, BOT, HEAD, JOB_TOKEN, FakeGitLab
from tests.platforms.test_gitlab import comment, platform, ready

fake_gitlab = gitlab_server.fake_gitlab
SHAS = {"base_sha": "b" * 40, "start_sha": "c" * 40, "head_sha": HEAD}


# -- inline discussions -------------------------------------------------------------------------


def test_positions_for_added_context_removed_and_renamed_lines(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab)
    found = [
        comment(2, "added"),  # +import sys
        comment(23, "context", side="RIGHT"),  # "    b = 2": old 21, new 23
        comment(4, "removed", side="LEFT"),  # -    pass (old line 4)
        comment(2, "newfile", path="docs/notes.md"),
    ]
    res = gl.post_review(pr, body="ignored here", comments=found, event=ReviewEvent.COMMENT)
    assert res.ok and res.detail.startswith("4 inline discussion(s)")
    posts = fake_gitlab.calls("POST", r"/discussions$")
    positions = [p.json["position"] for p in posts]
    for pos in positions:
        assert pos["position_type"] == "text" and {k: pos[k] for k in SHAS} == SHAS
    assert {k: positions[0].get(k) for k in ("new_line", "old_line")} == {
        "new_line": 2,
        "old_line": None,
    }
    assert (positions[1]["old_line"], positions[1]["new_line"]) == (21, 23)
    assert "new_line" not in positions[2] and positions[2]["old_line"] == 4
    assert positions[3]["old_path"] == positions[3]["new_path"] == "docs/notes.md"
    assert all(
        finding_marker(c.fingerprint) in p.json["body"] for c, p in zip(found, posts, strict=True)
    )
    assert [n["type"] for n in fake_gitlab.mr_notes()] == ["DiffNote"] * 4
    assert len(res.ids) == 4 and not fake_gitlab.calls("POST", r"/notes$")


def test_second_post_review_posts_nothing_new(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab)
    found = [comment(2, "a"), comment(99, "outside")]
    gl.post_review(pr, body="", comments=found, event=ReviewEvent.COMMENT)
    assert len(fake_gitlab.mr_notes()) == 2
    again, pr2 = ready(fake_gitlab)  # a new run: lists discussions from the server
    before = len(fake_gitlab.requests)
    res = again.post_review(pr2, body="", comments=found, event=ReviewEvent.COMMENT)
    assert res.skipped and "2 inline comment(s) already posted" in res.detail
    assert len(fake_gitlab.mr_notes()) == 2
    assert [r.method for r in fake_gitlab.requests[before:]] == ["GET"]  # discussions only
    new = again.post_review(
        pr2, body="", comments=[*found, comment(3, "b")], event=ReviewEvent.COMMENT
    )
    assert (
        new.ok and len(fake_gitlab.mr_notes()) == 3 and "2 inline comment(s) already" in new.detail
    )


def test_line_outside_the_diff_becomes_a_plain_note_without_a_wasted_call(
    fake_gitlab: FakeGitLab,
) -> None:
    gl, pr = ready(fake_gitlab)
    res = gl.post_review(pr, body="", comments=[comment(50, "x")], event=ReviewEvent.COMMENT)
    assert res.ok and "src/app.py:50 is not on the diff; posted as a plain note" in res.detail
    (post,) = fake_gitlab.calls("POST", r"/discussions$")
    assert "position" not in post.json
    assert "`src/app.py` line 50" in post.json["body"] and finding_marker("x") in post.json["body"]


def test_refused_anchor_falls_back_to_a_plain_note(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab)
    fake_gitlab.mrs[1].head_sha = "9" * 40  # a push after the diff was read: stale SHAs
    res = gl.post_review(pr, body="", comments=[comment(2, "stale")], event=ReviewEvent.COMMENT)
    assert res.ok and "GitLab refused the anchor src/app.py:2" in res.detail
    assert "line_code" in res.detail and "1 finding(s) posted as plain notes" in res.detail
    first, second = fake_gitlab.calls("POST", r"/discussions$")
    assert "position" in first.json and "position" not in second.json
    (note,) = fake_gitlab.mr_notes()
    assert note["type"] is None and finding_marker("stale") in note["body"]


def test_fake_refuses_wrong_line_kind(fake_gitlab: FakeGitLab) -> None:
    """The fake's own validation: a context line sent with new_line only is a 400 line_code."""
    gl, _ = ready(fake_gitlab)
    bad = {"position_type": "text", **SHAS, "old_path": "src/app.py", "new_path": "src/app.py",
           "new_line": 23}  # fmt: skip
    resp = gl._client.request(
        "POST", "projects/7/merge_requests/1/discussions", json={"body": "x", "position": bad},
        ok={400},
    )  # fmt: skip
    assert resp.json()["message"] == BAD_POSITION


def test_post_review_loads_the_diff_itself_when_needed(fake_gitlab: FakeGitLab) -> None:
    gl = platform(fake_gitlab)
    pr = gl.get_pull_request()
    res = gl.post_review(pr, body="", comments=[comment(23, "ctx")], event=ReviewEvent.COMMENT)
    assert res.ok and res.detail.startswith("1 inline discussion(s)")
    (post,) = fake_gitlab.calls("POST", r"/discussions$")
    assert (post.json["position"]["old_line"], post.json["position"]["new_line"]) == (21, 23)


def test_lost_discussion_response_is_reconciled_not_duplicated(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab)
    fake_gitlab.inject("POST", r"/discussions$", 502, after=True)
    res = gl.post_review(pr, body="", comments=[comment(2, "once")], event=ReviewEvent.COMMENT)
    assert res.ok and len(fake_gitlab.mr_notes()) == 1
    assert len(fake_gitlab.calls("POST", r"/discussions$")) == 1


# -- approvals ----------------------------------------------------------------------------------


def test_approve_sends_the_sha_and_is_idempotent(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab)
    res = gl.post_review(pr, body="", comments=[], event=ReviewEvent.APPROVE)
    assert res.ok and "approved" in res.detail
    (call,) = fake_gitlab.calls("POST", r"/approve$")
    assert call.json == {"sha": HEAD}
    assert fake_gitlab.mrs[1].approved_by == [BOT]
    again = gl.post_review(pr, body="", comments=[], event=ReviewEvent.APPROVE)
    assert again.ok and "already approved" in again.detail
    assert len(fake_gitlab.calls("POST", r"/approve$")) == 1


def test_approve_after_head_moved_is_refused(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab)
    fake_gitlab.mrs[1].head_sha = "9" * 40
    res = gl.post_review(pr, body="", comments=[], event=ReviewEvent.APPROVE)
    assert not res.ok and res.status == 409 and "head moved" in res.detail
    assert fake_gitlab.mrs[1].approved_by == []


def test_request_changes_unapproves_only_our_approval(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab)
    res = gl.post_review(pr, body="", comments=[], event=ReviewEvent.REQUEST_CHANGES)
    assert res.ok and "no approval of ours to withdraw" in res.detail
    assert not fake_gitlab.calls("POST", r"/unapprove$")
    fake_gitlab.mrs[1].approved_by = ["bob", BOT]
    res = gl.post_review(pr, body="", comments=[], event=ReviewEvent.REQUEST_CHANGES)
    assert res.ok and "GitLab has no request-changes; unapproved" in res.detail
    assert fake_gitlab.mrs[1].approved_by == ["bob"]


# -- notes --------------------------------------------------------------------------------------


def test_summary_is_created_then_updated_in_place(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab)
    first = gl.upsert_summary(pr, "v1")
    assert first.ok and first.status == 201 and first.detail == "summary note created"
    (post,) = fake_gitlab.calls("POST", r"/notes$")
    assert post.json == {"body": f"{SUMMARY_MARKER}\nv1"}
    again, pr2 = ready(fake_gitlab)
    same = again.upsert_summary(pr2, "v1")
    assert same.skipped and same.ids == first.ids
    upd = again.upsert_summary(pr2, "v2")
    assert upd.ok and upd.detail == "summary note updated" and upd.ids == first.ids
    (note,) = fake_gitlab.mr_notes()
    assert note["body"] == f"{SUMMARY_MARKER}\nv2"
    assert fake_gitlab.calls("PUT", rf"/notes/{first.ids[0]}$")
    assert fake_gitlab.calls("GET", r"/notes$")[-1].query["sort"] == "asc"


def test_summary_ignores_markers_in_other_users_and_system_notes(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.add_note(1, f"{SUMMARY_MARKER}\nforged by a human", author="bob")
    fake_gitlab.add_note(1, f"changed {SUMMARY_MARKER}", author=BOT, system=True)
    gl, pr = ready(fake_gitlab)
    res = gl.upsert_summary(pr, "real")
    assert res.status == 201 and not fake_gitlab.calls("PUT")
    assert fake_gitlab.mr_notes()[0]["body"].endswith("forged by a human")


def test_upsert_comment_by_marker(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab)
    marker = comment_marker("welcome")
    a = gl.upsert_comment(pr, marker, "hello")
    b = gl.upsert_comment(pr, marker, "hello again")
    c = gl.upsert_summary(pr, "summary")
    assert a.action == "comment" and b.ids == a.ids and c.ids != a.ids
    bodies = [n["body"] for n in fake_gitlab.mr_notes()]
    assert bodies == [f"{marker}\nhello again", f"{SUMMARY_MARKER}\nsummary"]


def test_list_comments_finds_marked_notes_and_threads(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.add_note(1, "plain human note")
    gl, pr = ready(fake_gitlab)
    gl.post_review(pr, body="", comments=[comment(2, "k")], event=ReviewEvent.COMMENT)
    gl.upsert_summary(pr, "s")
    fresh, pr2 = ready(fake_gitlab)
    found = fresh.list_comments(pr2)
    assert {(c.path, c.line) for c in found} == {("src/app.py", 2), (None, None)}
    assert all("<!-- prbot:" in c.body and c.author == BOT for c in found)


def test_update_description(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab)
    res = gl.update_description(pr, "new text")
    assert res.ok and fake_gitlab.mrs[1].description == "new text"
    assert fake_gitlab.calls("PUT", r"/merge_requests/1$")[-1].json == {"description": "new text"}
    assert gl.update_description(pr, "new text").skipped


# -- labels and reviewers -----------------------------------------------------------------------


def test_set_labels_one_put_with_comma_strings_and_skips_no_change(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.mrs[1].labels = ["bug", "stale"]
    gl, pr = ready(fake_gitlab)
    res = gl.set_labels(pr, add=["size/L", "Bug", "review"], remove=["stale", "absent"])
    assert res.ok and res.detail == "added size/L, review; removed stale"
    (put,) = fake_gitlab.calls("PUT", r"/merge_requests/1$")
    assert put.json == {"add_labels": "size/L,review", "remove_labels": "stale"}
    assert fake_gitlab.mrs[1].labels == ["bug", "size/L", "review"]
    again = gl.set_labels(pr, add=["review"], remove=["stale"])
    assert again.skipped and len(fake_gitlab.calls("PUT")) == 1


def test_label_with_a_comma_is_not_sent(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab)
    res = gl.set_labels(pr, add=["a,b", "ok"], remove=[])
    assert not res.ok and "(a comma cannot be sent): a,b" in res.detail
    assert fake_gitlab.mrs[1].labels == ["ok"]


def test_request_reviewers_looks_up_ids_and_keeps_existing(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.mrs[1].reviewer_ids = [12]
    gl, pr = ready(fake_gitlab)
    res = gl.request_reviewers(pr, users=["bob", "alice", "ghost", "carol"], teams=["acme/sec"])
    assert res.ok and res.ids == ("bob",)
    assert "no GitLab user ghost" in res.detail and "no team reviewers" in res.detail
    assert fake_gitlab.mrs[1].reviewer_ids == [12, 11]
    assert fake_gitlab.calls("GET", r"/users$")[0].query == {"username": "bob"}
    assert gl.request_reviewers(pr, users=["bob"], teams=[]).skipped


# -- commit status ------------------------------------------------------------------------------


def test_set_check_posts_a_commit_status(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab)
    report = CheckReport(
        head_sha=HEAD, conclusion=CheckConclusion.FAILURE, title="2 blocking findings " * 30,
        summary="s", details_url="https://ci.example/job/1",
        annotations=[Annotation("src/app.py", 2, 2, "failure", "m")],
    )  # fmt: skip
    res = gl.set_check(pr, report)
    assert res.ok and res.status == 201 and "annotations are not supported" in res.detail
    assert "1 annotation(s) not posted" in res.detail and "Code Quality" in res.detail
    (post,) = fake_gitlab.calls("POST", rf"/statuses/{HEAD}$")
    assert post.json["state"] == "failed" and post.json["name"] == "prbot"
    assert len(post.json["description"]) <= 255 and post.json["ref"] == "feature/x"
    assert post.json["target_url"] == "https://ci.example/job/1"
    ok = gl.set_check(pr, CheckReport(HEAD, CheckConclusion.NEUTRAL, "fine", "s"))
    assert ok.ok and fake_gitlab.statuses[-1]["status"] == "success"


def test_set_check_400_is_a_failed_result(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab)
    fake_gitlab.inject("POST", r"/statuses/", 400, body={"message": "Cannot transition status"})
    res = gl.set_check(pr, CheckReport(HEAD, CheckConclusion.SUCCESS, "t", "s"))
    assert not res.ok and res.status == 400 and "Cannot transition status" in res.detail


# -- merge --------------------------------------------------------------------------------------


def test_merge_sends_sha_squash_and_branch_removal(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab)
    res = gl.merge(pr, method="squash", sha=HEAD, delete_branch=True)
    assert res.ok and res.ids == ("d" * 40,) and res.detail.startswith("merged as dddd")
    (put,) = fake_gitlab.calls("PUT", r"/merge$")
    assert put.json == {"sha": HEAD, "squash": True, "should_remove_source_branch": True}


@pytest.mark.parametrize(
    ("setup", "status", "text"),
    [
        ({"head_sha": "9" * 40}, 409, "head moved since review; not merged"),
        ({"draft": True}, 405, "not mergeable now"),
        ({"conflicts": True}, 422, "the branch cannot be merged"),
    ],
)
def test_merge_refusals(fake_gitlab: FakeGitLab, setup: dict, status: int, text: str) -> None:
    gl, pr = ready(fake_gitlab)
    for k, v in setup.items():
        setattr(fake_gitlab.mrs[1], k, v)
    res = gl.merge(pr, method="merge", sha=HEAD)
    assert not res.ok and res.status == status and text in res.detail
    assert fake_gitlab.mrs[1].state == "opened"


def test_merge_401_and_406_and_bad_method(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab)
    fake_gitlab.cannot_merge.add(BOT)
    assert "may not merge" in gl.merge(pr, method="merge", sha=HEAD).detail
    fake_gitlab.cannot_merge.clear()
    fake_gitlab.inject("PUT", r"/merge$", 406, body={"message": "Branch cannot be merged"})
    assert gl.merge(pr, method="merge", sha=HEAD).status == 406
    bad = gl.merge(pr, method="octopus", sha=HEAD)
    assert not bad.ok and "unknown merge method" in bad.detail


def test_merge_when_pipeline_succeeds(fake_gitlab: FakeGitLab) -> None:
    fake_gitlab.mrs[1].pipeline_status = "running"
    gl, pr = ready(fake_gitlab)
    res = gl.merge(pr, method="merge", sha=HEAD, when_pipeline_succeeds=True)
    assert res.ok and "auto-merge set" in res.detail
    put = fake_gitlab.calls("PUT", r"/merge$")[-1]
    assert put.json["auto_merge"] is True and put.json["merge_when_pipeline_succeeds"] is True
    assert fake_gitlab.mrs[1].state == "opened" and fake_gitlab.mrs[1].auto_merge


def test_merge_with_lost_response_is_reconciled(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab)
    fake_gitlab.inject("PUT", r"/merge$", 502, after=True)
    res = gl.merge(pr, method="merge", sha=HEAD)
    assert res.ok and len(fake_gitlab.calls("PUT", r"/merge$")) == 1


def test_merge_ambiguous_and_not_merged_raises(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab)
    fake_gitlab.inject("PUT", r"/merge$", 502)
    with pytest.raises(AmbiguousWrite):
        gl.merge(pr, method="merge", sha=HEAD)


# -- job token ----------------------------------------------------------------------------------


def test_job_token_reads_but_every_write_is_refused_before_sending(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab, token=JOB_TOKEN, kind="job")
    assert fake_gitlab.requests[0].headers["job-token"] == JOB_TOKEN
    writes = [
        lambda: gl.upsert_summary(pr, "x"),
        lambda: gl.set_labels(pr, add=["a"], remove=[]),
        lambda: gl.post_review(pr, body="", comments=[comment(2)], event=ReviewEvent.COMMENT),
        lambda: gl.merge(pr, method="merge", sha=HEAD),
        lambda: gl.set_check(pr, CheckReport(HEAD, CheckConclusion.SUCCESS, "t", "s")),
    ]
    for write in writes:
        with pytest.raises(PlatformError) as ei:
            write()
        assert ei.value.one_line() == JOB_TOKEN_CANNOT_WRITE
    assert {r.method for r in fake_gitlab.requests} == {"GET"}


def test_fake_refuses_job_token_writes_with_403(fake_gitlab: FakeGitLab) -> None:
    gl = platform(fake_gitlab, token=JOB_TOKEN, kind="job")
    resp = gl._client.request(
        "POST", "projects/7/merge_requests/1/notes", json={"body": "x"}, ok={403}
    )
    assert resp.status_code == 403 and fake_gitlab.mr_notes() == []


# -- call budget --------------------------------------------------------------------------------


def test_a_normal_run_stays_within_a_small_call_budget(fake_gitlab: FakeGitLab) -> None:
    gl, pr = ready(fake_gitlab)  # MR, members, diffs, versions
    gl.post_review(
        pr, body="", comments=[comment(2, "a"), comment(7, "b")], event=ReviewEvent.COMMENT
    )
    gl.upsert_summary(pr, "s")  # notes list + post
    gl.set_labels(pr, add=["x"], remove=[])
    gl.set_check(pr, CheckReport(HEAD, CheckConclusion.SUCCESS, "t", "s"))
    assert gl.api_calls == 4 + 1 + 2 + 2 + 1 + 1
    assert gl.api_calls == len(fake_gitlab.requests)
