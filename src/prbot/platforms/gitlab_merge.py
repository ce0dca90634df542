"""GitLab gating writes: the commit status that carries prbot's verdict, and the SHA-guarded merge.

GitLab has no check runs: a commit status (``state``, ``name``, ``description`` and ``target_url``
of at most 255 characters) is all there is, so the result says annotations were not posted (the
Code Quality artifact carries them). A merge always sends the reviewed ``sha``; GitLab's refusals
(401, 405, 406, 409, 422) are results with their documented meaning, not exceptions. A merge whose
answer was lost is checked against the MR before anything else happens: never merge twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from prbot.http import AmbiguousWrite, HttpStatusError
from prbot.platforms.base import CheckConclusion, CheckReport, PullRequest, WriteResult
from prbot.platforms.writes import short

if TYPE_CHECKING:
    import httpx

    from prbot.http import ApiClient

MAX_STATUS_FIELD = 255
_STATE = {
    CheckConclusion.SUCCESS: "success",
    CheckConclusion.FAILURE: "failed",
    CheckConclusion.NEUTRAL: "success",  # GitLab has no neutral; it must not block the merge
}
_MERGE_FAIL = {
    401: "not merged: the token's user may not merge this merge request (401)",
    405: "not mergeable now (draft, closed, pipeline pending or failed, conflicts or approvals "
    "missing)",
    406: "not merged: the branch cannot be merged (conflicts)",
    409: "head moved since review; not merged",
    422: "not merged: the branch cannot be merged",
}


class MergeWriter:
    """Commit status and merge of :class:`~prbot.platforms.gitlab.GitLabPlatform`."""

    _client: ApiClient
    _mr: str
    _data: dict[str, Any] | None

    if TYPE_CHECKING:

        def _req(self, method: str, path: str, **kw: Any) -> httpx.Response: ...
        def _json(self, method: str, path: str, **kw: Any) -> Any: ...
        def _result(self, action: str, start: int, **kw: Any) -> WriteResult: ...
        def _writable(self) -> None: ...

    _base: str

    def set_check(self, pr: PullRequest, report: CheckReport) -> WriteResult:
        start = self._client.calls
        state = _STATE.get(report.conclusion, "failed")
        sha = report.head_sha or pr.head_sha
        project = self._base
        if pr.fork and isinstance((self._data or {}).get("source_project_id"), int):
            project = f"projects/{self._data['source_project_id']}"  # type: ignore[index]
        payload: dict[str, Any] = {
            "state": state,
            "name": short(report.name, MAX_STATUS_FIELD),
            "description": short(report.title or report.summary, MAX_STATUS_FIELD),
        }
        if pr.head_ref:
            payload["ref"] = pr.head_ref
        if report.details_url and len(report.details_url) <= MAX_STATUS_FIELD:
            payload["target_url"] = report.details_url
        extra = "annotations are not supported on GitLab (use the Code Quality report)"
        if report.annotations:
            extra = f"{len(report.annotations)} annotation(s) not posted: {extra}"
        try:
            data = self._json(
                "POST", f"{project}/statuses/{quote(sha, safe='')}", json=payload,
                idempotent=True, ok={201},
            )  # fmt: skip
        except HttpStatusError as exc:
            if exc.status not in (400, 403, 404):
                raise
            return self._result(
                "check", start, ok=False, status=exc.status,
                detail=f"commit status not set: {exc.message}; {extra}",
            )  # fmt: skip
        return self._result(
            "check", start, ok=True, status=201, ids=(str(data.get("id")),),
            detail=f"commit status {state} set; {extra}",
        )  # fmt: skip

    def merge(
        self,
        pr: PullRequest,
        *,
        method: str,
        sha: str,
        delete_branch: bool = False,
        when_pipeline_succeeds: bool = False,
    ) -> WriteResult:
        start = self._client.calls
        if method not in ("merge", "squash", "rebase"):
            detail = f"unknown merge method {method!r}: use merge, squash or rebase"
            return self._result("merge", start, ok=False, detail=detail)
        body: dict[str, Any] = {
            "sha": sha,
            "squash": method == "squash",
            "should_remove_source_branch": bool(delete_branch and not pr.fork),
        }
        if when_pipeline_succeeds:
            body["auto_merge"] = True  # replaces merge_when_pipeline_succeeds (17.11)
            body["merge_when_pipeline_succeeds"] = True
        notes = ["the project's merge method applies"] if method == "rebase" else []
        if delete_branch and pr.fork:
            notes.append("source branch kept (it lives in a fork)")
        try:
            resp = self._req(
                "PUT", f"{self._mr}/merge", json=body, idempotent=False,
                ok={200, 401, 405, 406, 409, 422},
            )  # fmt: skip
        except AmbiguousWrite:
            now = self._json("GET", self._mr)  # did it merge? never merge a moved head twice
            if now.get("state") == "merged" and (now.get("diff_refs") or {}).get("head_sha") == sha:
                return self._merged(start, now, notes)
            raise
        if resp.status_code != 200:
            msg = self._client.json_of(resp).get("message") or ""
            detail = _MERGE_FAIL[resp.status_code]
            if msg and resp.status_code in (405, 422):
                detail += f": {msg}"
            return self._result("merge", start, ok=False, status=resp.status_code, detail=detail)
        data = self._client.json_of(resp)
        if data.get("state") != "merged":
            auto = data.get("merge_when_pipeline_succeeds") or data.get("auto_merge")
            what = "auto-merge set: merges when the pipeline succeeds" if auto else "not merged yet"
            return self._result(
                "merge", start, ok=bool(auto), status=200, detail="; ".join([what, *notes])
            )
        return self._merged(start, data, notes)

    def _merged(self, start: int, data: dict[str, Any], notes: list[str]) -> WriteResult:
        merged_sha = str(data.get("merge_commit_sha") or data.get("squash_commit_sha") or "")
        detail = "; ".join([f"merged as {merged_sha[:12]}", *notes])
        return self._result("merge", start, ok=True, status=200, ids=(merged_sha,), detail=detail)
