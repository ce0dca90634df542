"""Bitbucket Cloud adapter: translates the Platform protocol into REST 2.0 calls.

Where Bitbucket differs from the other forges, and what this adapter does about it:

- **Short hashes.** A PR gives ``source.commit.hash`` abbreviated. :class:`PullRequest` keeps the
  hash as Bitbucket gave it (no extra call on every run); it is expanded with ``GET …/commit/{hash}``
  (cached) only where a full hash matters: posting a build status or Code Insights report, and the
  merge guard.
- **No head-SHA guard on merge.** The PR is re-read right before ``POST …/merge`` and the merge is
  refused if its source commit is not the reviewed one; a short race window remains
  (:mod:`prbot.platforms.bitbucket_merge`).
- **No labels.** ``set_labels`` records the labels and the Code Insights report shows them
  (``labels_mode="report"``), or does nothing (``"skip"``).
- **No review object.** Inline findings are one comment each; the review text is one comment kept
  up to date by its marker; approve and request-changes are their own endpoints
  (:mod:`prbot.platforms.bitbucket_comments`).
- **Checks** are a build status plus a Code Insights report with annotations
  (:mod:`prbot.platforms.bitbucket_insights`).
- **Identity.** ``author`` is the account's nickname (else display name); the immutable
  ``account_id``/``uuid`` are kept in :attr:`BitbucketPlatform.author_ids`. Workspace membership and
  groups are not exposed by API 2.0 in a cheap way, so ``author_association`` is ``"NONE"`` and
  :meth:`BitbucketPlatform.is_team_member` is always ``False``: a rule that needs team membership
  never passes on Bitbucket rather than passing on a guess.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from prbot.errors import PlatformError, UsageError
from prbot.http import ApiClient, HttpError, HttpStatusError, make_client
from prbot.platforms.base import (
    Capabilities,
    CheckReport,
    ChecksState,
    ExistingReview,
    PullRequest,
    WriteResult,
)
from prbot.platforms.bitbucket_comments import CommentWriter
from prbot.platforms.bitbucket_insights import checks_state, per_file_diff, set_check
from prbot.platforms.bitbucket_merge import Merger

__all__ = ["API_URL", "BitbucketPlatform", "bitbucket_client"]

API_URL = "https://api.bitbucket.org/2.0"
LABELS_NOTE = "Bitbucket has no labels: recorded in the Code Insights report"
_STATES = {"OPEN": "open", "MERGED": "merged", "DECLINED": "closed", "SUPERSEDED": "closed"}
_REFUSED = (
    "Bitbucket refused the credentials (401): check PRBOT_BITBUCKET_TOKEN, or BITBUCKET_USERNAME "
    "and BITBUCKET_APP_PASSWORD"
)
_PAGELEN = 100
_MAX_PAGES = 200


def bitbucket_client(
    api_url: str = API_URL,
    *,
    token: str | None = None,
    username: str | None = None,
    app_password: str | None = None,
    **kw: Any,
) -> ApiClient:
    """The HTTP client: Bearer for access/OAuth tokens, Basic for username + app password."""
    if token:
        return make_client(api_url, token=token, **kw)
    if username and app_password:
        pair = base64.b64encode(f"{username}:{app_password}".encode()).decode("ascii")
        return make_client(api_url, token=pair, auth_scheme="Basic", **kw)
    raise UsageError(
        "Bitbucket needs an access token, or a username and an app password",
        hint="set PRBOT_BITBUCKET_TOKEN, or BITBUCKET_USERNAME and BITBUCKET_APP_PASSWORD",
    )


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def user_name(user: Any) -> str:
    """A user object's human handle: ``nickname``, else ``display_name``."""
    if not isinstance(user, dict):
        return ""
    return str(user.get("nickname") or user.get("display_name") or "")


def _side(data: dict[str, Any], key: str) -> dict[str, Any]:
    side = data.get(key)
    return side if isinstance(side, dict) else {}


class BitbucketPlatform(CommentWriter, Merger):
    """One pull request in a Bitbucket Cloud repository (``workspace/repo_slug``)."""

    name = "bitbucket"
    capabilities = Capabilities(review_batch=False, labels=False, checks=True)

    def __init__(
        self,
        repo: str,
        pr_id: int,
        *,
        token: str | None = None,
        username: str | None = None,
        app_password: str | None = None,
        api_url: str = API_URL,
        client: ApiClient | None = None,
        labels_mode: str = "report",
        bot_uuid: str | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        workspace, _, slug = repo.partition("/")
        if not workspace or not slug or "/" in slug:
            raise UsageError(f"Bitbucket repository must be workspace/repo_slug, got {repo!r}")
        if labels_mode not in ("report", "skip"):
            raise UsageError(f"labels_mode must be report or skip, got {labels_mode!r}")
        self.repo = repo
        self.number = pr_id
        self.labels_mode = labels_mode
        #: When set, only comments by this account (``user.uuid``) count as prbot's own.
        self.bot_uuid = bot_uuid
        #: The PR author's immutable ids (``account_id``, ``uuid``), for identity checks.
        self.author_ids: tuple[str, ...] = ()
        #: Labels a rule asked for, shown in the Code Insights report (Bitbucket has none).
        self.recorded_labels: list[str] = []
        self._client = client or bitbucket_client(
            api_url, token=token, username=username, app_password=app_password
        )
        self._base = f"repositories/{quote(workspace, safe='')}/{quote(slug, safe='')}"
        self._pr_path = f"{self._base}/pullrequests/{int(pr_id)}"
        self._pr_data: dict[str, Any] | None = None
        self._full: dict[str, str] = {}
        self._comments: list[dict[str, Any]] | None = None
        self._labels_said = False
        self._poll_interval = max(0.0, poll_interval)
        self._sleep: Callable[[float], None] = time.sleep

    @property
    def api_calls(self) -> int:
        return self._client.calls

    # -- transport helpers ------------------------------------------------------------------------
    def _req(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            return self._client.request(method, path, **kw)
        except HttpStatusError as exc:
            if exc.status == 401:
                raise PlatformError(_REFUSED) from None
            raise

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        return self._client.json_of(self._req(method, path, **kw))

    def _pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """Every ``values`` item over all pages, following the body's ``next`` URL.

        A ``next`` on another host is refused: the credentials go only to the API they were given
        for.
        """
        origin = httpx.URL(self._client.base_url).host
        url, query = path, {"pagelen": _PAGELEN, **(params or {})}
        for _ in range(_MAX_PAGES):
            data = self._json("GET", url, params=query)
            if not isinstance(data, dict) or not isinstance(data.get("values"), list):
                raise HttpError(f"GET {url}: expected a page with values")
            yield from data["values"]
            nxt = data.get("next")
            if not nxt:
                return
            if httpx.URL(str(nxt)).host not in ("", origin):
                raise HttpError(f"pagination link points to another host ({httpx.URL(nxt).host})")
            url, query = str(nxt), None  # type: ignore[assignment]
        raise HttpError(f"GET {path}: more than {_MAX_PAGES} pages; stopped")

    def _all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        return list(self._pages(path, params))

    def _result(self, action: str, start: int, **kw: Any) -> WriteResult:
        return WriteResult(action=action, api_calls=self._client.calls - start, **kw)

    def full_sha(self, sha: str) -> str:
        """``sha`` as a full 40-hex hash (Bitbucket's PR object abbreviates), one call at most."""
        if len(sha) >= 40 or not sha:
            return sha
        if sha not in self._full:
            data = self._json("GET", f"{self._base}/commit/{quote(sha, safe='')}")
            full = str((data or {}).get("hash") or "")
            if not full.startswith(sha):
                raise PlatformError(f"Bitbucket resolved commit {sha} to {full or 'nothing'}")
            self._full[sha] = full
        return self._full[sha]

    # -- reading ----------------------------------------------------------------------------------
    def _fetch_pr(self) -> dict[str, Any]:
        resp = self._req("GET", self._pr_path, ok={200, 404})
        if resp.status_code == 404:
            raise PlatformError(
                f"pull request {self.repo}#{self.number} not found (or the credentials cannot see it)"
            )
        data = self._client.json_of(resp)
        if not isinstance(data, dict):
            raise PlatformError(f"GET {self._pr_path}: the answer is not a pull request")
        self._pr_data = data
        return data

    def get_pull_request(self) -> PullRequest:
        data = self._fetch_pr()
        author = data.get("author") if isinstance(data.get("author"), dict) else {}
        self.author_ids = tuple(
            str(author[k]) for k in ("account_id", "uuid") if author and author.get(k)
        )
        return self._to_pr(data)

    def _to_pr(self, data: dict[str, Any]) -> PullRequest:
        src, dst = _side(data, "source"), _side(data, "destination")
        src_repo = _side(src, "repository").get("full_name")
        dst_repo = _side(dst, "repository").get("full_name") or self.repo
        html = _side(_side(data, "links"), "html").get("href")
        description = data.get("description")
        if description is None:
            description = _side(data, "summary").get("raw")
        return PullRequest(
            forge=self.name,
            repo=self.repo,
            number=int(data.get("id") or self.number),
            title=str(data.get("title") or ""),
            body=str(description or ""),
            author=user_name(data.get("author")),
            author_association="NONE",
            draft=bool(data.get("draft")),
            fork=src_repo is None or src_repo != dst_repo,
            state=_STATES.get(str(data.get("state") or "OPEN").upper(), "closed"),
            base_ref=str(_side(dst, "branch").get("name") or ""),
            base_sha=str(_side(dst, "commit").get("hash") or ""),
            head_ref=str(_side(src, "branch").get("name") or ""),
            head_sha=str(_side(src, "commit").get("hash") or ""),
            url=str(html or ""),
            created_at=_when(data.get("created_on")),
            updated_at=_when(data.get("updated_on")),
        )

    def get_diff(self, pr: PullRequest) -> bytes:
        # PR/diff answers 302 to …/diff/{spec}; the client follows it on the same host.
        resp = self._req("GET", f"{self._base}/pullrequests/{pr.number}/diff", ok={200, 555})
        if resp.status_code == 200:
            return resp.content
        # 555: too large for one document. Rebuild it file by file from the diffstat.
        stat = self._all(f"{self._base}/pullrequests/{pr.number}/diffstat")
        return per_file_diff(self._client, str(resp.url), stat)

    def list_reviews(self, pr: PullRequest) -> list[ExistingReview]:
        data = self._fetch_pr()
        out: list[ExistingReview] = []
        for p in data.get("participants") or []:
            if not isinstance(p, dict):
                continue
            if p.get("approved") or p.get("state") == "approved":
                state = "APPROVED"
            elif p.get("state") == "changes_requested":
                state = "CHANGES_REQUESTED"
            elif p.get("role") == "REVIEWER":
                state = "PENDING"
            else:
                state = "COMMENTED"
            user = p.get("user") if isinstance(p.get("user"), dict) else {}
            out.append(
                ExistingReview(author=user_name(user), state=state, id=str(user.get("uuid") or ""))
            )
        return out

    def checks_state(self, pr: PullRequest) -> ChecksState:
        return checks_state(self, self.full_sha(pr.head_sha))

    def read_file(self, path: str, ref: str) -> bytes | None:
        url = f"{self._base}/src/{quote(ref, safe='')}/{quote(path.lstrip('/'), safe='/')}"
        resp = self._req("GET", url, ok={200, 404})
        return None if resp.status_code == 404 else resp.content

    def list_open_pull_requests(self) -> list[PullRequest]:
        # Drafts were once left out of ?state=OPEN (BCLOUD-23659): ask for both explicitly.
        params = {"state": "OPEN", "q": "draft=true OR draft=false"}
        return [self._to_pr(d) for d in self._all(f"{self._base}/pullrequests", params)]

    def is_team_member(self, team: str, user: str) -> bool:
        """Always ``False``: workspace groups are not in API 2.0 (see the module docstring)."""
        return False

    # -- labels, description, reviewers -----------------------------------------------------------
    def set_labels(
        self, pr: PullRequest, *, add: Sequence[str], remove: Sequence[str]
    ) -> WriteResult:
        if self.labels_mode == "skip":
            return WriteResult("labels", ok=True, skipped=True, detail="skipped")
        drop = {r.casefold() for r in remove} - {a.casefold() for a in add}
        labels = [lb for lb in self.recorded_labels if lb.casefold() not in drop]
        for name in add:
            if name and name.casefold() not in {lb.casefold() for lb in labels}:
                labels.append(name)
        self.recorded_labels = labels
        detail = "" if self._labels_said else LABELS_NOTE
        self._labels_said = True
        return WriteResult("labels", ok=True, skipped=True, ids=tuple(labels), detail=detail)

    def _put_pr(self, fields: dict[str, Any]) -> httpx.Response:
        data = self._pr_data or self._fetch_pr()
        # The title travels with every update: older API versions refused a PUT without it.
        body = {"title": data.get("title") or "", **fields}
        resp = self._req("PUT", self._pr_path, json=body, ok={200})
        new = self._client.json_of(resp)
        if isinstance(new, dict):
            self._pr_data = {**data, **new}
        return resp

    def update_description(self, pr: PullRequest, body: str) -> WriteResult:
        start = self._client.calls
        current = (self._pr_data or {}).get("description", pr.body)
        if current == body:
            return self._result(
                "describe", start, ok=True, skipped=True, detail="description already up to date"
            )
        try:
            resp = self._put_pr({"description": body})
        except HttpStatusError as exc:
            if exc.status not in (400, 404):
                raise
            return self._result("describe", start, ok=False, status=exc.status, detail=exc.message)
        return self._result(
            "describe", start, ok=True, status=resp.status_code, detail="description updated"
        )

    def request_reviewers(
        self, pr: PullRequest, *, users: Sequence[str], teams: Sequence[str]
    ) -> WriteResult:
        """Add reviewers by account id (or ``{uuid}``); Bitbucket has no team reviewers."""
        start = self._client.calls
        data = self._fetch_pr()  # reviewers are only on the PR's own URL, and the PUT replaces them
        current = [r for r in data.get("reviewers") or [] if isinstance(r, dict)]
        have = {str(r.get(k)) for r in current for k in ("account_id", "uuid") if r.get(k)}
        author = data.get("author") if isinstance(data.get("author"), dict) else {}
        mine = {str(author.get(k)) for k in ("account_id", "uuid", "nickname") if author.get(k)}
        new = [u for u in dict.fromkeys(users) if u and u not in have and u not in mine]
        notes = (
            [f"Bitbucket has no team reviewers: {', '.join(teams)} not requested"] if teams else []
        )
        if not new:
            return self._result(
                "reviewers",
                start,
                ok=True,
                skipped=True,
                detail="; ".join(["nobody new to request", *notes]),
            )
        keep = [{"uuid": r["uuid"]} if r.get("uuid") else {"account_id": r["account_id"]}
                for r in current if r.get("uuid") or r.get("account_id")]  # fmt: skip
        add = [{"uuid": u} if u.startswith("{") else {"account_id": u} for u in new]
        try:
            resp = self._put_pr({"reviewers": keep + add})
        except HttpStatusError as exc:
            if exc.status not in (400, 403, 404):
                raise
            return self._result("reviewers", start, ok=False, status=exc.status, detail=exc.message)
        return self._result(
            "reviewers", start, ok=True, status=resp.status_code, ids=tuple(new),
            detail="; ".join([f"requested {', '.join(new)}", *notes]),
        )  # fmt: skip

    # -- checks -------------------------------------------------------------------------
    def set_check(self, pr: PullRequest, report: CheckReport) -> WriteResult:
        return set_check(self, pr, report)
