"""GitHub check runs (with annotations) and the commit-status fallback.

A check run is the richer report (annotations on lines), but only GitHub App tokens with
``checks: write`` may create one; a personal token or a restricted ``GITHUB_TOKEN`` gets a 403. Then
a commit status is the next best thing: the run must never end as a silent green, so the result
says which of the two was written.

GitHub accepts at most 50 annotations per request and *appends* annotations on every update, so a
report is written as one create (first 50) plus PATCHes of 50; an existing run is only updated in
place when that would not pile new annotations onto old ones.
"""

from __future__ import annotations

from typing import Any

from prbot.errors import PlatformError
from prbot.http import AmbiguousWrite, ApiClient, HttpStatusError, RateLimitError
from prbot.platforms.base import Annotation, CheckConclusion, CheckReport, ChecksState, WriteResult
from prbot.platforms.github_format import MAX_CHECK_TEXT, MAX_STATUS_DESCRIPTION
from prbot.platforms.writes import short, truncate

ANNOTATION_BATCH = 50
_LEVELS = {"notice": "notice", "warning": "warning", "failure": "failure",
           "info": "notice", "error": "failure"}  # fmt: skip
_STATE = {CheckConclusion.SUCCESS: "success", CheckConclusion.FAILURE: "failure",
          CheckConclusion.NEUTRAL: "success"}  # fmt: skip
_RUN_OK = {"success", "neutral", "skipped"}
_STATUS_OK = {"success"}
_STATUS_BAD = {"failure", "error"}


def _annotation(a: Annotation) -> dict[str, Any]:
    item: dict[str, Any] = {
        "path": a.path,
        "start_line": max(1, a.start_line),
        "end_line": max(a.start_line, a.end_line, 1),
        "annotation_level": _LEVELS.get(a.level, "warning"),
        "message": truncate(a.message, 64_000) or "(no message)",
    }
    if a.title:
        item["title"] = short(a.title, 255)
    return item


def _output(report: CheckReport, batch: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "title": short(report.title or report.name, 255),
        "summary": truncate(report.summary or report.title or "-", MAX_CHECK_TEXT),
        "annotations": batch,
    }
    if report.text:
        out["text"] = truncate(report.text, MAX_CHECK_TEXT)
    return out


def _forbidden(exc: HttpStatusError) -> bool:
    return exc.status == 403 and not isinstance(exc, RateLimitError)


def set_check(client: ApiClient, base: str, report: CheckReport) -> WriteResult:
    """Write ``report`` as a check run, or as a commit status if the token may not."""
    start = client.calls
    anns = [_annotation(a) for a in report.annotations]
    batches = [anns[i : i + ANNOTATION_BATCH] for i in range(0, len(anns), ANNOTATION_BATCH)]
    batches = batches or [[]]
    try:
        run = _find_run(client, base, report)
        body: dict[str, Any] = {
            "name": report.name,
            "head_sha": report.head_sha,
            "status": "completed",
            "conclusion": report.conclusion.value,
            "output": _output(report, batches[0]),
        }
        if report.details_url:
            body["details_url"] = report.details_url
        if run is not None and not (run.get("output") or {}).get("annotations_count"):
            resp = client.request("PATCH", f"{base}/check-runs/{run['id']}", json=body, ok={200})
            how = "updated"
        else:
            resp = _create_run(client, base, report, body)
            how = "created"
        run_id = client.json_of(resp).get("id")
        missing = 0
        for n, batch in enumerate(batches[1:], start=1):
            try:
                client.request(
                    "PATCH",
                    f"{base}/check-runs/{run_id}",
                    json={"output": _output(report, batch)},
                    ok={200},
                )
            except AmbiguousWrite:
                missing = sum(len(b) for b in batches[n + 1 :])
                break
    except HttpStatusError as exc:
        if exc.status == 401:
            raise PlatformError("GitHub refused the token (401): check GITHUB_TOKEN") from None
        if not _forbidden(exc):
            raise
        return _status_fallback(client, base, report, start, exc)
    detail = f"check run {report.name!r} {how} with {len(anns)} annotation(s)"
    if missing:
        detail += f"; {missing} annotation(s) may be missing (a write failed ambiguously)"
    return WriteResult(
        action="check_run",
        ok=not missing,
        status=resp.status_code,
        ids=(str(run_id),),
        detail=detail,
        api_calls=client.calls - start,
    )


def _find_run(client: ApiClient, base: str, report: CheckReport) -> dict[str, Any] | None:
    data = client.get_json(
        f"{base}/commits/{report.head_sha}/check-runs",
        params={"check_name": report.name, "filter": "latest"},
    )
    runs = data.get("check_runs") if isinstance(data, dict) else None
    runs = [r for r in runs or [] if isinstance(r, dict) and r.get("name") == report.name]
    return max(runs, key=lambda r: int(r.get("id") or 0)) if runs else None


def _create_run(client: ApiClient, base: str, report: CheckReport, body: dict[str, Any]) -> Any:
    try:
        return client.request("POST", f"{base}/check-runs", json=body, ok={201})
    except AmbiguousWrite:
        # A create whose answer was lost: adopt the run if it exists, else create it once more.
        again = _find_run(client, base, report)
        if again is not None and again.get("conclusion") == report.conclusion.value:
            return client.request("GET", f"{base}/check-runs/{again['id']}")
        return client.request("POST", f"{base}/check-runs", json=body, ok={201})


def _status_fallback(
    client: ApiClient, base: str, report: CheckReport, start: int, cause: HttpStatusError
) -> WriteResult:
    body: dict[str, Any] = {
        "state": _STATE.get(report.conclusion, "failure"),
        "context": report.name or "prbot",
        "description": short(report.title or report.summary or report.name, MAX_STATUS_DESCRIPTION),
    }
    if report.details_url:
        body["target_url"] = report.details_url
    why = "token cannot write check runs (needs checks: write)"
    try:
        # Statuses are set-style per (sha, context): repeating one is harmless.
        resp = client.request(
            "POST", f"{base}/statuses/{report.head_sha}", json=body, idempotent=True, ok={201}
        )
    except HttpStatusError as exc:
        if not _forbidden(exc):
            raise
        return WriteResult(
            action="commit_status",
            ok=False,
            status=403,
            detail=f"{why}, nor commit statuses (needs statuses: write); nothing was reported",
            api_calls=client.calls - start,
        )
    dropped = f"; {len(report.annotations)} annotation(s) not shown" if report.annotations else ""
    return WriteResult(
        action="commit_status",
        ok=True,
        status=resp.status_code,
        ids=(str(client.json_of(resp).get("id")),),
        detail=f"{why} ({cause.status}); posted commit status {body['context']!r} "
        f"= {body['state']} instead{dropped}",
        api_calls=client.calls - start,
    )


def checks_state(client: ApiClient, base: str, sha: str) -> ChecksState:
    """Check runs and commit statuses of ``sha`` sorted into success / failure / pending names."""
    ok: set[str] = set()
    bad: set[str] = set()
    pending: set[str] = set()
    for run in client.paginate(f"{base}/commits/{sha}/check-runs", key="check_runs"):
        name = str(run.get("name") or "")
        if run.get("status") != "completed":
            pending.add(name)
        elif run.get("conclusion") in _RUN_OK:
            ok.add(name)
        else:
            bad.add(name)
    combined = client.get_json(f"{base}/commits/{sha}/status", params={"per_page": 100})
    for st in combined.get("statuses") or [] if isinstance(combined, dict) else []:
        name = str(st.get("context") or "")
        state = st.get("state")
        (ok if state in _STATUS_OK else bad if state in _STATUS_BAD else pending).add(name)
    return ChecksState(success=frozenset(ok), failure=frozenset(bad), pending=frozenset(pending))
