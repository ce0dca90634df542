"""Bitbucket adapter: build status + Code Insights, merge guard, reviewers, labels, files, lists."""

from __future__ import annotations

from typing import Any

import pytest

from prbot.http import HttpStatusError
from prbot.platforms.base import Annotation, CheckConclusion, CheckReport
from prbot.platforms.bitbucket import LABELS_NOTE, BitbucketPlatform, bitbucket_client
from prbot.platforms.bitbucket_insights import annotation_json, report_id
from tests.fakes import bitbucket_server
from tests.fakes.bitbucket_server import ALICE, BOB, CAROL, HEAD, TOKEN, FakeBitbucket

#: The fake Bitbucket fixture (shared from tests/fakes).
fake_bitbucket = bitbucket_server.fake_bitbucket


def platform(fake: FakeBitbucket, *, pr_id: int = 1, **kw: Any) -> BitbucketPlatform:
    client = bitbucket_client(
        fake.api_url, token=TOKEN, write_interval=0, sleep=lambda s: None, timeout=5
    )
    return BitbucketPlatform(fake.repo, pr_id, client=client, poll_interval=0, **kw)


def ann(n: int, level: str = "warning", title: str = "R001") -> Annotation:
    return Annotation("src/app.py", n, n, level, f"message {n}", title=title)


def report(conclusion: CheckConclusion, anns: list[Annotation], **kw: Any) -> CheckReport:
    return CheckReport(
        head_sha=HEAD[:12], conclusion=conclusion, title="prbot: 1 blocking finding",
        summary="<!-- prbot:summary -->\n## prbot\ndetails here", annotations=anns, **kw,
    )  # fmt: skip


# -- build status + Code Insights -----------------------------------------------------------------


def test_check_writes_status_report_and_annotations_on_full_hash(
    fake_bitbucket: FakeBitbucket,
) -> None:
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    res = bb.set_check(pr, report(CheckConclusion.FAILURE, [ann(2, "failure"), ann(5)]))
    assert res.ok and res.ids == ("prbot", "prbot-review")
    assert "build status 'prbot' = FAILED" in res.detail and "2 annotation(s)" in res.detail
    assert fake_bitbucket.calls("GET", rf"/commit/{HEAD[:12]}$")  # short hash expanded once
    st = fake_bitbucket.statuses[(HEAD, "prbot")]
    assert st["state"] == "FAILED" and st["name"] == "prbot" and st["refname"] == "feature/x"
    assert st["url"] == pr.url and st["description"] == "prbot: 1 blocking finding"
    rep = fake_bitbucket.reports[(HEAD, "prbot-review")]
    assert rep["report_type"] == "BUG" and rep["result"] == "FAILED" and rep["reporter"] == "prbot"
    assert "<!--" not in rep["details"] and "details here" in rep["details"]
    assert {d["title"]: d["value"] for d in rep["data"]} == {"Findings": 2, "Blocking": 1}
    stored = fake_bitbucket.annotations[(HEAD, "prbot-review")]
    by_line = {a["line"]: a for a in stored.values()}
    assert by_line[2]["annotation_type"] == "BUG" and by_line[2]["severity"] == "HIGH"
    assert by_line[2]["result"] == "FAILED"
    assert by_line[5]["annotation_type"] == "CODE_SMELL" and by_line[5]["severity"] == "MEDIUM"
    assert by_line[5]["summary"] == "R001: message 5" and by_line[5]["path"] == "src/app.py"


def test_second_run_adds_nothing(fake_bitbucket: FakeBitbucket) -> None:
    anns = [ann(n) for n in range(1, 40)]
    for _ in range(2):
        bb = platform(fake_bitbucket)
        res = bb.set_check(bb.get_pull_request(), report(CheckConclusion.FAILURE, anns))
        assert res.ok
    assert len(fake_bitbucket.statuses) == 1 and len(fake_bitbucket.reports) == 1
    assert len(fake_bitbucket.annotations[(HEAD, "prbot-review")]) == 39
    assert len(fake_bitbucket.calls("PUT", r"/reports/prbot-review$")) == 2


def test_annotations_respect_bulk_limits_and_keep_the_most_severe(
    fake_bitbucket: FakeBitbucket,
) -> None:
    anns = [ann(n) for n in range(1, 1051)] + [ann(9999, "failure", "hardcoded-secret")]
    bb = platform(fake_bitbucket)
    res = bb.set_check(bb.get_pull_request(), report(CheckConclusion.FAILURE, anns))
    posts = fake_bitbucket.calls("POST", r"/annotations$")
    assert len(posts) == 10 and all(1 <= len(p.json) <= 100 for p in posts)
    stored = fake_bitbucket.annotations[(HEAD, "prbot-review")]
    assert len(stored) == 1000
    secret = next(a for a in stored.values() if a["line"] == 9999)
    assert secret["annotation_type"] == "VULNERABILITY" and secret["severity"] == "CRITICAL"
    assert res.ok and "51 more not shown" in res.detail
    data = {d["title"]: d["value"] for d in fake_bitbucket.reports[(HEAD, "prbot-review")]["data"]}
    assert data["Not shown"] == 51 and data["Findings"] == 1051


def test_success_and_neutral_pass(fake_bitbucket: FakeBitbucket) -> None:
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    for conclusion in (CheckConclusion.SUCCESS, CheckConclusion.NEUTRAL):
        res = bb.set_check(pr, report(conclusion, [], name="prbot gate"))
        assert res.ok and res.ids == ("prbot-gate", "prbot-gate")
        assert fake_bitbucket.statuses[(HEAD, "prbot-gate")]["state"] == "SUCCESSFUL"
        assert fake_bitbucket.reports[(HEAD, "prbot-gate")]["result"] == "PASSED"
    assert not fake_bitbucket.calls("POST", r"/annotations$")  # none to send: no empty bulk
    assert len(fake_bitbucket.calls("GET", r"/commit/[0-9a-f]+$")) == 1  # expansion cached


def test_refused_report_is_reported_after_status(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.inject("PUT", r"/reports/", 400, body={
        "type": "error", "error": {"message": "report_type is invalid"}})  # fmt: skip
    bb = platform(fake_bitbucket)
    res = bb.set_check(bb.get_pull_request(), report(CheckConclusion.FAILURE, [ann(2)]))
    assert not res.ok and res.status == 400 and "report_type is invalid" in res.detail
    assert (HEAD, "prbot") in fake_bitbucket.statuses  # the pass/fail signal is still there


def test_status_403_propagates_for_read_only_handling(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.inject("POST", r"/statuses/build$", 403)
    bb = platform(fake_bitbucket)
    with pytest.raises(HttpStatusError) as ei:
        bb.set_check(bb.get_pull_request(), report(CheckConclusion.SUCCESS, []))
    assert ei.value.status == 403


def test_annotation_ids_are_stable_and_distinct() -> None:
    a, b = annotation_json(ann(3)), annotation_json(ann(3))
    assert a["external_id"] == b["external_id"]
    assert annotation_json(ann(4))["external_id"] != a["external_id"]
    assert annotation_json(Annotation("x.py", 0, 0, "notice", "m"))["line"] == 1
    assert (
        report_id("prbot") == "prbot-review" and report_id("Security scan") == "prbot-security-scan"
    )


def test_checks_state_reads_commit_statuses(fake_bitbucket: FakeBitbucket) -> None:
    for key, state in [("ci", "SUCCESSFUL"), ("lint", "FAILED"), ("e2e", "INPROGRESS"),
                       ("old", "STOPPED")]:  # fmt: skip
        fake_bitbucket.statuses[(HEAD, key)] = {"key": key, "name": key.upper(), "state": state}
    bb = platform(fake_bitbucket)
    got = bb.checks_state(bb.get_pull_request())
    assert got.success == {"CI"} and got.failure == {"LINT", "OLD"} and got.pending == {"E2E"}


# -- merge ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "strategy"),
    [("merge", "merge_commit"), ("squash", "squash"), ("rebase", "fast_forward")],
)
def test_merge_maps_strategy_and_guards_head(
    fake_bitbucket: FakeBitbucket, method: str, strategy: str
) -> None:
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    res = bb.merge(pr, method=method, sha=pr.head_sha, delete_branch=True)
    assert (
        res.ok
        and res.ids == ("c0ffee" + "0" * 34,)
        and "source branch feature/x closed" in res.detail
    )
    body = fake_bitbucket.calls("POST", r"/merge$")[0].json
    assert body == {"type": "pullrequest_merge_parameters", "merge_strategy": strategy,
                    "close_source_branch": True}  # fmt: skip
    assert fake_bitbucket.prs[1].state == "MERGED"


def test_merge_refused_when_head_moved(fake_bitbucket: FakeBitbucket) -> None:
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    moved = "ab" * 20
    fake_bitbucket.commits.add(moved)
    fake_bitbucket.prs[1].head = moved  # someone pushed after the review
    res = bb.merge(pr, method="merge", sha=HEAD)
    assert not res.ok and res.detail == "head moved since review; not merged"
    assert not fake_bitbucket.calls("POST", r"/merge$") and fake_bitbucket.prs[1].state == "OPEN"


def test_merge_with_full_reviewed_sha_compares_expanded(fake_bitbucket: FakeBitbucket) -> None:
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    assert bb.merge(pr, method="squash", sha=HEAD).ok
    assert not bb.merge(pr, method="squash", sha="").ok  # no reviewed sha: never merge


@pytest.mark.parametrize(
    ("setup", "status", "text"),
    [
        ({"merge_conflict": True}, 409, "The pull request has conflicts"),
        ({"state": "DECLINED"}, None, "the pull request is declined"),
    ],
)
def test_merge_refusals_are_one_line(
    fake_bitbucket: FakeBitbucket, setup: dict[str, Any], status: int | None, text: str
) -> None:
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    for k, v in setup.items():
        setattr(fake_bitbucket.prs[1], k, v)
    res = bb.merge(pr, method="merge", sha=pr.head_sha)
    assert not res.ok and res.status == status and text in res.detail and "\n" not in res.detail


def test_fast_forward_disabled_is_400(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.fast_forward_allowed = False
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    res = bb.merge(pr, method="rebase", sha=pr.head_sha)
    assert not res.ok and res.status == 400 and "Fast-forward" in res.detail
    assert not bb.merge(pr, method="octopus", sha=pr.head_sha).ok


def test_async_merge_is_polled(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.prs[1].merge_mode = "async"
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    res = bb.merge(pr, method="merge", sha=pr.head_sha)
    assert res.ok and fake_bitbucket.prs[1].state == "MERGED"
    assert len(fake_bitbucket.calls("GET", r"/task-status/")) == 3


@pytest.mark.parametrize(("mode", "merged"), [("timeout", True), ("timeout-fail", False)])
def test_555_merge_timeout_is_reconciled(
    fake_bitbucket: FakeBitbucket, mode: str, merged: bool
) -> None:
    fake_bitbucket.prs[1].merge_mode = mode
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    res = bb.merge(pr, method="merge", sha=pr.head_sha)
    assert res.ok is merged
    if not merged:
        assert res.detail == "not merged: the merge timed out (555)"
    assert len(fake_bitbucket.calls("POST", r"/merge$")) == 1  # never sent twice


def test_fork_source_branch_is_not_closed(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.add_pr(3, source_repo="mallory/widgets")
    bb = platform(fake_bitbucket, pr_id=3)
    pr = bb.get_pull_request()
    res = bb.merge(pr, method="merge", sha=pr.head_sha, delete_branch=True)
    assert res.ok and "kept (it lives in a fork)" in res.detail
    assert fake_bitbucket.calls("POST", r"/merge$")[0].json["close_source_branch"] is False


# -- reviewers, description, labels --------------------------------------------------------------


def test_request_reviewers_keeps_existing_and_skips_author(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.prs[1].reviewers = [BOB]
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    res = bb.request_reviewers(
        pr, users=[CAROL["account_id"], ALICE["account_id"], BOB["uuid"]], teams=["acme/core"]
    )
    assert res.ok and res.ids == (CAROL["account_id"],)
    assert "no team reviewers" in res.detail
    assert [r["nickname"] for r in fake_bitbucket.prs[1].reviewers] == ["bob", "carol"]
    put = fake_bitbucket.calls("PUT", r"/pullrequests/1$")[0].json
    assert put["title"] == "Add feature"
    again = bb.request_reviewers(pr, users=[CAROL["account_id"]], teams=[])
    assert again.skipped and len(fake_bitbucket.calls("PUT", r"/pullrequests/1$")) == 1


def test_unknown_reviewer_is_a_one_line_failure(fake_bitbucket: FakeBitbucket) -> None:
    bb = platform(fake_bitbucket)
    res = bb.request_reviewers(bb.get_pull_request(), users=["557058:ghost"], teams=[])
    assert not res.ok and res.status == 400 and "is not a valid user" in res.detail


def test_update_description(fake_bitbucket: FakeBitbucket) -> None:
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    res = bb.update_description(pr, "New text\n\n<!-- prbot:describe -->")
    assert res.ok and fake_bitbucket.prs[1].description.startswith("New text")
    assert bb.update_description(pr, "New text\n\n<!-- prbot:describe -->").skipped
    fake_bitbucket.prs[1].state = "MERGED"
    closed = bb.update_description(pr, "other")
    assert not closed.ok and closed.status == 400


def test_labels_recorded_in_report_once(fake_bitbucket: FakeBitbucket) -> None:
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    first = bb.set_labels(pr, add=["bug", "size/L"], remove=[])
    assert first.skipped and first.detail == LABELS_NOTE
    second = bb.set_labels(pr, add=["bug"], remove=["size/L"])
    assert second.skipped and second.detail == "" and second.ids == ("bug",)
    bb.set_check(pr, report(CheckConclusion.SUCCESS, []))
    data = {d["title"]: d["value"] for d in fake_bitbucket.reports[(HEAD, "prbot-review")]["data"]}
    assert data["Labels"] == "bug"
    skip = platform(fake_bitbucket, labels_mode="skip")
    assert skip.set_labels(pr, add=["x"], remove=[]).detail == "skipped"
    assert len(fake_bitbucket.requests) == len(fake_bitbucket.calls())  # nothing sent for labels


# -- files, lists, teams -------------------------------------------------------------------------


def test_read_file(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.files[("main", ".prbot.yml")] = b"rules: []\n"
    fake_bitbucket.files[("main", "dir/with space.txt")] = b"\x00\xff"
    bb = platform(fake_bitbucket)
    assert bb.read_file(".prbot.yml", "main") == b"rules: []\n"
    assert bb.read_file("/dir/with space.txt", "main") == b"\x00\xff"
    assert bb.read_file(".prbot.yml", "other") is None
    assert fake_bitbucket.calls("GET", r"/src/main/\.prbot\.yml$")


def test_list_open_pull_requests_includes_drafts(fake_bitbucket: FakeBitbucket) -> None:
    for n in range(2, 14):
        fake_bitbucket.add_pr(n, draft=n == 13)
    fake_bitbucket.add_pr(20, state="MERGED")
    prs = platform(fake_bitbucket).list_open_pull_requests()
    assert sorted(p.number for p in prs) == list(range(1, 14))
    first = fake_bitbucket.calls("GET", r"/pullrequests$")[0]
    assert first.query["state"] == ["OPEN"] and first.query["q"] == ["draft=true OR draft=false"]


def test_is_team_member_is_always_false(fake_bitbucket: FakeBitbucket) -> None:
    bb = platform(fake_bitbucket)
    assert bb.is_team_member("acme/core", "alice") is False
    assert bb.api_calls == 0


def test_lost_merge_answer_is_reconciled_not_resent(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.inject("POST", r"/merge$", 502, after=True)
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    res = bb.merge(pr, method="squash", sha=pr.head_sha)
    assert res.ok and res.ids == ("c0ffee" + "0" * 34,)
    assert len(fake_bitbucket.calls("POST", r"/merge$")) == 1


def test_merge_task_that_never_finishes_is_not_a_merge(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.prs[1].merge_mode = "async"
    fake_bitbucket.prs[1].task_polls = 1000
    bb = platform(fake_bitbucket)
    pr = bb.get_pull_request()
    res = bb.merge(pr, method="merge", sha=pr.head_sha)
    assert not res.ok and res.detail == "not merged: the merge task did not finish"
    assert fake_bitbucket.prs[1].state == "OPEN"


def test_read_file_at_a_branch_with_a_slash(fake_bitbucket: FakeBitbucket) -> None:
    fake_bitbucket.files[("feature/x", "a.txt")] = b"hi"
    assert platform(fake_bitbucket).read_file("a.txt", "feature/x") == b"hi"
    assert fake_bitbucket.calls("GET", r"/src/feature/x/a\.txt$") == []
