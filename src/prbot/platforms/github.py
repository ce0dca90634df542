"""GitHub adapter: translates the Platform protocol into GitHub REST calls (API version 2022-11-28).

Design points, all driven by GitHub's documented behaviour:

- Calls are few: labels come with the PR object, comments are listed once per run and reused, a
  review carries the body and every inline comment in one request. A normal run stays within 8.
- Nothing is duplicated on re-runs: inline comments carry a fingerprint marker and are dropped if
  already on the same path and line; the summary comment is found by its marker and edited; labels
  are set-style. A write whose response was lost (:class:`~prbot.http.AmbiguousWrite`) is
  reconciled by re-listing and looking for its marker before it is sent again.
- Reviews (atomic on GitHub, retried without inline anchors on a 422) are in ``github_review``;
  check runs and the commit-status fallback in ``github_checks``; App tokens in ``github_app``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from prbot import __version__
from prbot.errors import PlatformError, UsageError
from prbot.http import AmbiguousWrite, ApiClient, HttpStatusError, make_client
from prbot.platforms.base import (
    SUMMARY_MARKER,
    Capabilities,
    CheckReport,
    ChecksState,
    ExistingComment,
    ExistingReview,
    PullRequest,
    WriteResult,
)
from prbot.platforms.github_app import github_app_token
from prbot.platforms.github_checks import checks_state, set_check
from prbot.platforms.github_review import ReviewWriter
from prbot.platforms.writes import post_once, truncate

__all__ = ["API_URL", "GitHubPlatform", "github_app_token", "github_client"]

API_URL = "https://api.github.com"
_MARK = "<!-- prbot:"
_MERGE_METHODS = ("merge", "squash", "rebase")
_TOKEN_REFUSED = "GitHub refused the token (401): check GITHUB_TOKEN"


def github_client(api_url: str = API_URL, token: str | None = None, **kw: Any) -> ApiClient:
    """The HTTP client with GitHub's documented headers (version pinned, JSON media type)."""
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": f"prbot/{__version__}",
    }
    return make_client(api_url, token=token, headers=headers, **kw)


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _login(obj: Any) -> str:
    return str((obj or {}).get("login") or "") if isinstance(obj, dict) else ""


class GitHubPlatform(ReviewWriter):
    """One pull request on GitHub (or GitHub Enterprise Server via ``api_url``)."""

    name = "github"
    capabilities = Capabilities()

    def __init__(
        self,
        repo: str,
        number: int,
        *,
        token: str,
        api_url: str = API_URL,
        client: ApiClient | None = None,
        bot_login: str | None = None,
    ) -> None:
        owner, _, name = repo.partition("/")
        if not owner or not name or "/" in name:
            raise UsageError(f"GitHub repository must be owner/name, got {repo!r}")
        self.repo = repo
        self.number = number
        self.bot_login = bot_login
        self._client = client or github_client(api_url, token)
        self._base = f"repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        self._issue_comments: list[dict[str, Any]] | None = None
        self._review_comments: list[dict[str, Any]] | None = None
        self._labels: list[str] | None = None

    @property
    def api_calls(self) -> int:
        return self._client.calls

    # -- transport helpers ------------------------------------------------------------------------
    def _req(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            return self._client.request(method, path, **kw)
        except HttpStatusError as exc:
            if exc.status == 401:
                raise PlatformError(_TOKEN_REFUSED) from None
            raise

    def _all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        try:
            return list(self._client.paginate(path, params))
        except HttpStatusError as exc:
            if exc.status == 401:
                raise PlatformError(_TOKEN_REFUSED) from None
            raise

    def _result(self, action: str, start: int, **kw: Any) -> WriteResult:
        return WriteResult(action=action, api_calls=self._client.calls - start, **kw)

    # -- reading ----------------------------------------------------------------------------------
    def get_pull_request(self) -> PullRequest:
        resp = self._req("GET", f"{self._base}/pulls/{self.number}", ok={200, 404})
        if resp.status_code == 404:
            raise PlatformError(
                f"pull request {self.repo}#{self.number} not found (or the token cannot see it)"
            )
        pr = self._to_pr(self._client.json_of(resp))
        self._labels = list(pr.labels)
        return pr

    def _to_pr(self, data: dict[str, Any]) -> PullRequest:
        head = data.get("head") or {}
        base = data.get("base") or {}
        head_repo = (head.get("repo") or {}).get("full_name")
        base_repo = (base.get("repo") or {}).get("full_name") or self.repo
        return PullRequest(
            forge=self.name,
            repo=self.repo,
            number=int(data.get("number") or self.number),
            title=str(data.get("title") or ""),
            body=str(data.get("body") or ""),
            author=_login(data.get("user")),
            author_association=str(data.get("author_association") or "NONE"),
            draft=bool(data.get("draft")),
            fork=head_repo is None or head_repo != base_repo,
            state="merged" if data.get("merged") else str(data.get("state") or "open"),
            base_ref=str(base.get("ref") or ""),
            base_sha=str(base.get("sha") or ""),
            head_ref=str(head.get("ref") or ""),
            head_sha=str(head.get("sha") or ""),
            labels=tuple(
                str(lb.get("name")) for lb in data.get("labels") or [] if isinstance(lb, dict)
            ),
            url=str(data.get("html_url") or ""),
            mergeable=data.get("mergeable") if isinstance(data.get("mergeable"), bool) else None,
            created_at=_when(data.get("created_at")),
            updated_at=_when(data.get("updated_at")),
            additions=int(data.get("additions") or 0),
            deletions=int(data.get("deletions") or 0),
            changed_files=int(data.get("changed_files") or 0),
        )

    def get_diff(self, pr: PullRequest) -> bytes:
        resp = self._req(
            "GET",
            f"{self._base}/pulls/{pr.number}",
            headers={"Accept": "application/vnd.github.diff"},
            ok={200, 406},
        )
        if resp.status_code == 200:
            return resp.content
        # 406 too_large: rebuild the diff from the per-file patches (up to 3000 files).
        from prbot.platforms.github_format import synthesise_diff

        return synthesise_diff(self._all(f"{self._base}/pulls/{pr.number}/files"))

    def _issue_comment_list(self, pr: PullRequest) -> list[dict[str, Any]]:
        if self._issue_comments is None:
            self._issue_comments = self._all(f"{self._base}/issues/{pr.number}/comments")
        return self._issue_comments

    def _review_comment_list(self, pr: PullRequest) -> list[dict[str, Any]]:
        if self._review_comments is None:
            self._review_comments = self._all(f"{self._base}/pulls/{pr.number}/comments")
        return self._review_comments

    def list_comments(self, pr: PullRequest) -> list[ExistingComment]:
        out: list[ExistingComment] = []
        for c in self._issue_comment_list(pr) + self._review_comment_list(pr):
            body = str(c.get("body") or "")
            if _MARK in body:
                line = c.get("line")
                out.append(
                    ExistingComment(
                        id=str(c.get("id")),
                        body=body,
                        author=_login(c.get("user")),
                        path=c.get("path"),
                        line=line if isinstance(line, int) else None,
                    )
                )
        return out

    def list_reviews(self, pr: PullRequest) -> list[ExistingReview]:
        return [
            ExistingReview(
                author=_login(r.get("user")),
                state=str(r.get("state") or ""),
                commit_id=str(r.get("commit_id") or ""),
                id=str(r.get("id") or ""),
            )
            for r in self._all(f"{self._base}/pulls/{pr.number}/reviews")
        ]

    def checks_state(self, pr: PullRequest) -> ChecksState:
        return checks_state(self._client, self._base, pr.head_sha)

    def read_file(self, path: str, ref: str) -> bytes | None:
        url = f"{self._base}/contents/{quote(path.lstrip('/'), safe='/')}"
        resp = self._req("GET", url, params={"ref": ref}, ok={200, 404})
        if resp.status_code == 404:
            return None
        data = self._client.json_of(resp)
        if not isinstance(data, dict) or data.get("type") != "file":
            return None
        if data.get("encoding") == "base64":
            return base64.b64decode(str(data.get("content") or ""))
        raw = self._req(  # 1-100 MB: content is empty unless asked for raw bytes
            "GET", url, params={"ref": ref}, headers={"Accept": "application/vnd.github.raw+json"}
        )
        return raw.content

    def list_open_pull_requests(self) -> list[PullRequest]:
        return [self._to_pr(d) for d in self._all(f"{self._base}/pulls", {"state": "open"})]

    def is_team_member(self, team: str, user: str) -> bool:
        org, _, slug = team.partition("/")
        if not org or not slug:
            raise UsageError(f"team must be written org/slug, got {team!r}")
        path = f"orgs/{quote(org, safe='')}/teams/{quote(slug, safe='')}/memberships/"
        resp = self._req("GET", path + quote(user, safe=""), ok={200, 404})
        if resp.status_code == 404:
            return False
        data = self._client.json_of(resp)
        return isinstance(data, dict) and data.get("state") == "active"

    def _relist_issue_comments(self) -> None:
        """Forget the cached comment list, so the next lookup asks the forge again."""
        self._issue_comments = None

    # -- summary, labels, reviewers ---------------------------------------------------------------
    def upsert_summary(self, pr: PullRequest, body: str) -> WriteResult:
        start = self._client.calls
        full = truncate(f"{SUMMARY_MARKER}\n{body}")
        mine = self._find_summary(pr)
        if mine is None:
            path = f"{self._base}/issues/{pr.number}/comments"
            resp, mine = post_once(
                lambda: self._req("POST", path, json={"body": full}, ok={201}),
                lambda: self._relist_issue_comments() or self._find_summary(pr),
            )
            if mine is None:
                created = self._client.json_of(resp)
                self._issue_comment_list(pr).append(created)
                return self._result(
                    "summary", start, ok=True, status=201, ids=(str(created.get("id")),),
                    detail="summary comment created",
                )  # fmt: skip
        if mine.get("body") == full:
            return self._result(
                "summary", start, ok=True, skipped=True, ids=(str(mine.get("id")),),
                detail="summary comment already up to date",
            )  # fmt: skip
        resp = self._req(
            "PATCH",
            f"{self._base}/issues/comments/{mine.get('id')}",
            json={"body": full},
            idempotent=True,  # replacing a body is safe to repeat
            ok={200},
        )
        mine["body"] = full
        return self._result(
            "summary", start, ok=True, status=resp.status_code, ids=(str(mine.get("id")),),
            detail="summary comment updated",
        )  # fmt: skip

    def upsert_comment(self, pr: PullRequest, marker: str, body: str) -> WriteResult:
        """A rule's comment, found by its marker and edited in place (never posted twice)."""
        start = self._client.calls
        full = truncate(f"{marker}\n{body}")
        mine = self._find_marked(pr, marker)
        if mine is None:
            path = f"{self._base}/issues/{pr.number}/comments"
            resp, mine = post_once(
                lambda: self._req("POST", path, json={"body": full}, ok={201}),
                lambda: self._relist_issue_comments() or self._find_marked(pr, marker),
            )
            if mine is None:
                created = self._client.json_of(resp)
                self._issue_comment_list(pr).append(created)
                return self._result(
                    "comment", start, ok=True, status=201, ids=(str(created.get("id")),),
                    detail="comment created",
                )  # fmt: skip
        cid = str(mine.get("id"))
        if mine.get("body") == full:
            detail = "comment already up to date"
            return self._result("comment", start, ok=True, skipped=True, ids=(cid,), detail=detail)
        resp = self._req(
            "PATCH", f"{self._base}/issues/comments/{cid}", json={"body": full},
            idempotent=True, ok={200},
        )  # fmt: skip
        mine["body"] = full
        return self._result(
            "comment", start, ok=True, status=resp.status_code, ids=(cid,), detail="comment updated"
        )

    def update_description(self, pr: PullRequest, body: str) -> WriteResult:
        """Replace the PR body; the caller has already kept the human-written part of it."""
        start = self._client.calls
        resp = self._req(
            "PATCH", f"{self._base}/pulls/{pr.number}", json={"body": truncate(body)},
            idempotent=True, ok={200},  # replacing a body is safe to repeat
        )  # fmt: skip
        return self._result(
            "describe", start, ok=True, status=resp.status_code, ids=(str(pr.number),),
            detail="description updated",
        )  # fmt: skip

    def _find_marked(self, pr: PullRequest, marker: str) -> dict[str, Any] | None:
        for c in self._issue_comment_list(pr):
            if not str(c.get("body") or "").startswith(marker):
                continue
            if self.bot_login and _login(c.get("user")) != self.bot_login:
                continue
            return c
        return None

    def _find_summary(self, pr: PullRequest) -> dict[str, Any] | None:
        for c in self._issue_comment_list(pr):
            if SUMMARY_MARKER not in str(c.get("body") or ""):
                continue
            if self.bot_login and _login(c.get("user")) != self.bot_login:
                continue
            return c
        return None

    def set_labels(
        self, pr: PullRequest, *, add: Sequence[str], remove: Sequence[str]
    ) -> WriteResult:
        start = self._client.calls
        current = list(self._labels if self._labels is not None else pr.labels)
        have = {lb.casefold() for lb in current}
        to_add: list[str] = []
        for name in add:
            if (
                name
                and name.casefold() not in have
                and name.casefold() not in map(str.casefold, to_add)
            ):
                to_add.append(name)
        drop = {r.casefold() for r in remove} - {a.casefold() for a in add}
        to_remove = [lb for lb in current if lb.casefold() in drop]
        if not to_add and not to_remove:
            return self._result("labels", start, ok=True, skipped=True, detail="labels already set")
        status: int | None = None
        issue = f"{self._base}/issues/{pr.number}/labels"
        if to_add:
            # Adding a label that is already there is a no-op on GitHub: safe to retry.
            resp = self._req("POST", issue, json={"labels": to_add}, idempotent=True, ok={200})
            status = resp.status_code
            data = self._client.json_of(resp)
            if isinstance(data, list):
                current = [str(d.get("name")) for d in data if isinstance(d, dict)]
        for name in to_remove:
            resp = self._req("DELETE", f"{issue}/{quote(name, safe='')}", ok={200, 404})
            status = status or resp.status_code
            current = [lb for lb in current if lb.casefold() != name.casefold()]
        self._labels = current
        parts = [
            f"added {', '.join(to_add)}" if to_add else "",
            f"removed {', '.join(to_remove)}" if to_remove else "",
        ]
        return self._result(
            "labels", start, ok=True, status=status, ids=tuple(to_add + to_remove),
            detail="; ".join(p for p in parts if p),
        )  # fmt: skip

    def request_reviewers(
        self, pr: PullRequest, *, users: Sequence[str], teams: Sequence[str]
    ) -> WriteResult:
        start = self._client.calls
        people = [u for u in dict.fromkeys(users) if u and u != pr.author]
        slugs = [t.rpartition("/")[2] for t in dict.fromkeys(teams) if t]
        if not people and not slugs:
            return self._result(
                "reviewers", start, ok=True, skipped=True, detail="nobody to request"
            )
        try:
            resp = self._req(
                "POST",
                f"{self._base}/pulls/{pr.number}/requested_reviewers",
                json={"reviewers": people, "team_reviewers": slugs},
                idempotent=True,  # requesting the same reviewer twice is a no-op
                ok={200, 201},
            )
        except HttpStatusError as exc:
            if exc.status not in (403, 422):
                raise
            return self._result("reviewers", start, ok=False, status=exc.status, detail=exc.message)
        return self._result(
            "reviewers", start, ok=True, status=resp.status_code, ids=tuple(people + slugs),
            detail=f"requested {', '.join(people + slugs)}",
        )  # fmt: skip

    # -- checks and merge -------------------------------------------------------------------------
    def set_check(self, pr: PullRequest, report: CheckReport) -> WriteResult:
        return set_check(self._client, self._base, report)

    def merge(
        self, pr: PullRequest, *, method: str, sha: str, delete_branch: bool = False
    ) -> WriteResult:
        start = self._client.calls
        if method not in _MERGE_METHODS:
            detail = f"unknown merge method {method!r}: use merge, squash or rebase"
            return self._result("merge", start, ok=False, detail=detail)
        path = f"{self._base}/pulls/{pr.number}/merge"
        body = {"merge_method": method, "sha": sha}
        try:
            resp = self._req("PUT", path, json=body, idempotent=False, ok={200, 405, 409})
        except AmbiguousWrite:
            # Did it merge? Only then is it done; never merge twice or a moved head.
            now = self._client.get_json(f"{self._base}/pulls/{pr.number}")
            if now.get("merged") and (now.get("head") or {}).get("sha") == sha:
                return self._after_merge(
                    pr, start, 200, str(now.get("merge_commit_sha")), delete_branch
                )
            raise
        except HttpStatusError as exc:
            if exc.status not in (403, 404, 422):
                raise
            return self._result(
                "merge", start, ok=False, status=exc.status, detail=f"not merged: {exc.message}"
            )
        if resp.status_code == 405:
            msg = self._client.json_of(resp).get("message") or "not mergeable"
            return self._result(
                "merge", start, ok=False, status=405, detail=f"not mergeable: {msg}"
            )
        if resp.status_code == 409:
            detail = "head moved since review; not merged"
            return self._result("merge", start, ok=False, status=409, detail=detail)
        merged_sha = str(self._client.json_of(resp).get("sha") or "")
        return self._after_merge(pr, start, 200, merged_sha, delete_branch)

    def _after_merge(
        self, pr: PullRequest, start: int, status: int, merged_sha: str, delete_branch: bool
    ) -> WriteResult:
        detail = f"merged as {merged_sha[:12]}"
        if delete_branch and pr.fork:
            detail += "; head branch kept (it lives in a fork)"
        elif delete_branch and pr.head_ref:
            ref = quote(pr.head_ref, safe="/")
            resp = self._req("DELETE", f"{self._base}/git/refs/heads/{ref}", ok={204, 404, 422})
            gone = resp.status_code == 204
            detail += f"; branch {pr.head_ref} " + ("deleted" if gone else "was already gone")
        return self._result(
            "merge", start, ok=True, status=status, ids=(merged_sha,), detail=detail
        )
