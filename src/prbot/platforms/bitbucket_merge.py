"""Merging a Bitbucket pull request only at the reviewed head.

Bitbucket's merge endpoint takes no head-SHA parameter, so the PR is re-read right before
``POST …/merge`` and the merge is refused if its source commit (expanded from Bitbucket's short
hash) is not the reviewed one. A race window of one request remains; it is documented, not hidden.

A merge answer can be unclear: ``202`` with a task to poll (slow merges), ``555`` (the merge timed
out but may still complete) or a lost response. In each case the PR is read again and only a PR
that is now ``MERGED`` counts as merged; the merge request itself is never sent twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prbot.http import AmbiguousWrite, HttpStatusError
from prbot.platforms.base import PullRequest, WriteResult

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

    from prbot.http import ApiClient

_STRATEGY = {"merge": "merge_commit", "squash": "squash", "rebase": "fast_forward"}
_MERGE_POLLS = 30


def _side(data: Any, key: str) -> dict[str, Any]:
    side = data.get(key) if isinstance(data, dict) else None
    return side if isinstance(side, dict) else {}


class Merger:
    """The merge part of :class:`~prbot.platforms.bitbucket.BitbucketPlatform` (a mixin)."""

    _client: ApiClient
    _pr_path: str
    _poll_interval: float
    _sleep: Callable[[float], None]

    if TYPE_CHECKING:

        def _req(self, method: str, path: str, **kw: Any) -> httpx.Response: ...
        def _json(self, method: str, path: str, **kw: Any) -> Any: ...
        def _result(self, action: str, start: int, **kw: Any) -> WriteResult: ...
        def _fetch_pr(self) -> dict[str, Any]: ...
        def full_sha(self, sha: str) -> str: ...

    def merge(
        self, pr: PullRequest, *, method: str, sha: str, delete_branch: bool = False
    ) -> WriteResult:
        start = self._client.calls
        strategy = _STRATEGY.get(method)
        if strategy is None:
            detail = f"unknown merge method {method!r}: use merge, squash or rebase"
            return self._result("merge", start, ok=False, detail=detail)
        # Bitbucket has no head-SHA parameter: re-read the PR and compare right before merging.
        now = self._fetch_pr()
        if str(now.get("state") or "").upper() != "OPEN":
            detail = f"not merged: the pull request is {str(now.get('state')).lower()}"
            return self._result("merge", start, ok=False, detail=detail)
        current = str(_side(_side(now, "source"), "commit").get("hash") or "")
        if not sha or not current or self.full_sha(current) != self.full_sha(sha):
            return self._result(
                "merge", start, ok=False, detail="head moved since review; not merged"
            )
        close = bool(delete_branch) and not pr.fork
        body = {
            "type": "pullrequest_merge_parameters",
            "merge_strategy": strategy,
            "close_source_branch": close,
        }
        try:
            resp = self._req("POST", f"{self._pr_path}/merge", json=body, ok={200, 202, 555})
        except AmbiguousWrite:
            return self._merged_after_all(pr, start, delete_branch, "the merge request failed")
        except HttpStatusError as exc:
            if exc.status not in (400, 403, 404, 409):
                raise
            return self._result(
                "merge", start, ok=False, status=exc.status, detail=f"not merged: {exc.message}"
            )
        if resp.status_code == 555:
            return self._merged_after_all(pr, start, delete_branch, "the merge timed out (555)")
        if resp.status_code == 202:  # slow merge: a task URL to poll
            task = self._wait_for_merge(resp)
            if task is None:
                why = "the merge task did not finish"
                return self._merged_after_all(pr, start, delete_branch, why)
            return self._merge_done(pr, start, task, delete_branch)
        return self._merge_done(pr, start, self._client.json_of(resp), delete_branch)

    def _wait_for_merge(self, accepted: httpx.Response) -> dict[str, Any] | None:
        task = accepted.headers.get("location")
        if not task:
            return None
        for _ in range(_MERGE_POLLS):
            data = self._json("GET", task)
            status = str((data or {}).get("task_status") or "")
            if status == "SUCCESS":
                result = data.get("merge_result")
                return result if isinstance(result, dict) else {}
            if status != "PENDING":
                return None
            self._sleep(self._poll_interval)
        return None

    def _merged_after_all(
        self, pr: PullRequest, start: int, delete_branch: bool, why: str
    ) -> WriteResult:
        """After an unclear answer, only a PR that is now MERGED counts as merged."""
        data = self._fetch_pr()
        if str(data.get("state") or "").upper() == "MERGED":
            return self._merge_done(pr, start, data, delete_branch)
        return self._result("merge", start, ok=False, detail=f"not merged: {why}")

    def _merge_done(
        self, pr: PullRequest, start: int, merged: dict[str, Any], delete_branch: bool
    ) -> WriteResult:
        commit = str(_side(merged, "merge_commit").get("hash") or "")
        detail = f"merged as {commit[:12]}" if commit else "merged"
        if delete_branch and pr.fork:
            detail += "; source branch kept (it lives in a fork)"
        elif delete_branch:
            detail += f"; source branch {pr.head_ref} closed"
        return self._result(
            "merge", start, ok=True, status=200, ids=(commit,) if commit else (), detail=detail
        )
