"""GitLab adapter: translates the Platform protocol into GitLab REST v4 calls.

Design points, all driven by GitLab's documented behaviour:

- GitLab has no batch review: inline findings are one discussion each, anchored by a ``position``
  computed from the parsed diff (``gitlab_review``); a refused anchor becomes a plain note, so no
  finding is ever lost. There are no check runs either: a commit status carries the verdict and the
  annotations go to the Code Quality artifact, written elsewhere.
- The MR object carries labels, SHAs and reviewers, so reads are few; notes and discussions are
  listed once per run and reused; summary and rule comments are found by marker *and* by the
  token's own user id, so a human pasting a marker cannot make prbot edit their note.
- ``CI_JOB_TOKEN`` cannot write notes, labels, approvals, merges or statuses: such a token is
  refused before any write is sent, with the one-line fix.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from prbot.diff.model import Diff
from prbot.errors import PlatformError, UsageError
from prbot.http import ApiClient, HttpStatusError, make_client
from prbot.platforms.base import (
    Capabilities,
    ChecksState,
    ExistingComment,
    PullRequest,
    WriteResult,
)
from prbot.platforms.gitlab_diff import DiffRefs
from prbot.platforms.gitlab_merge import MergeWriter
from prbot.platforms.gitlab_notes import NoteWriter
from prbot.platforms.gitlab_review import ReviewWriter

__all__ = ["API_URL", "JOB_TOKEN_CANNOT_WRITE", "GitLabPlatform", "gitlab_client"]

API_URL = "https://gitlab.com/api/v4"
JOB_TOKEN_CANNOT_WRITE = (
    "CI_JOB_TOKEN can read but not write notes: set PRBOT_GITLAB_TOKEN to a project access token "
    "with the api scope"
)
_TOKEN_REFUSED = "GitLab refused the token (401): check PRBOT_GITLAB_TOKEN"
_MARK = "<!-- prbot:"
_AUTH = {"private": ("PRIVATE-TOKEN", ""), "job": ("JOB-TOKEN", ""), "oauth": ("Authorization", "Bearer")}  # fmt: skip
_MERGE_PENDING = frozenset({"checking", "unchecked", "preparing", "approvals_syncing"})
_LEGACY_MERGE = {"can_be_merged": True, "cannot_be_merged": False, "cannot_be_merged_recheck": False}  # fmt: skip


def gitlab_client(
    api_url: str = API_URL, token: str | None = None, token_kind: str = "private", **kw: Any
) -> ApiClient:
    """The HTTP client with the header GitLab expects for this kind of token."""
    if token_kind not in _AUTH:
        raise UsageError(f"GitLab token kind must be private, job or oauth, got {token_kind!r}")
    header, scheme = _AUTH[token_kind]
    return make_client(api_url, token=token, auth_header=header, auth_scheme=scheme or "Bearer", **kw)  # fmt: skip


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _username(obj: Any) -> str:
    return str(obj.get("username") or "") if isinstance(obj, dict) else ""


def _mergeable(data: dict[str, Any]) -> bool | None:
    detailed = data.get("detailed_merge_status")
    if isinstance(detailed, str) and detailed:
        if detailed in _MERGE_PENDING:
            return None
        return detailed == "mergeable"  # unknown values are not mergeable
    return _LEGACY_MERGE.get(str(data.get("merge_status") or ""))


def _count(value: Any) -> int:
    digits = "".join(c for c in str(value or "") if c.isdigit())  # "1000+" when capped
    return int(digits) if digits else 0


class GitLabPlatform(ReviewWriter, NoteWriter, MergeWriter):
    """One merge request on GitLab.com or a self-managed instance (``api_url`` ends in ``/api/v4``)."""

    name = "gitlab"
    capabilities = Capabilities(checks=False, review_batch=False)

    def __init__(
        self,
        project: str | int,
        iid: int,
        *,
        token: str,
        api_url: str = API_URL,
        token_kind: str = "private",
        client: ApiClient | None = None,
    ) -> None:
        path = str(project).strip().strip("/")
        if not path:
            raise UsageError("GitLab project must be a path (group/project) or a numeric id")
        if token_kind not in _AUTH:
            raise UsageError(f"GitLab token kind must be private, job or oauth, got {token_kind!r}")
        self.project = path
        self.iid = int(iid)
        self.token_kind = token_kind
        self._client = client or gitlab_client(api_url, token, token_kind)
        self._base = f"projects/{quote(path, safe='')}"
        self._mr = f"{self._base}/merge_requests/{self.iid}"
        self._data: dict[str, Any] | None = None
        self._labels: list[str] | None = None
        self._notes: list[dict[str, Any]] | None = None
        self._discussions: list[dict[str, Any]] | None = None
        self._diff: Diff | None = None
        self._refs: DiffRefs | None = None
        self._me: dict[str, Any] | None = None

    @property
    def api_calls(self) -> int:
        return self._client.calls

    # -- transport helpers ------------------------------------------------------------------------
    def _refuse(self, exc: HttpStatusError, method: str) -> None:
        if exc.status == 401:
            raise PlatformError(_TOKEN_REFUSED) from None
        if exc.status == 403 and self.token_kind == "job":
            if method == "GET":
                raise PlatformError(
                    "CI_JOB_TOKEN cannot read this merge request: set PRBOT_GITLAB_TOKEN to a "
                    "project access token with the api (or read_api) scope"
                ) from None
            raise PlatformError(JOB_TOKEN_CANNOT_WRITE) from None

    def _req(self, method: str, path: str, **kw: Any) -> httpx.Response:
        if method != "GET":
            self._writable()
        try:
            return self._client.request(method, path, **kw)
        except HttpStatusError as exc:
            self._refuse(exc, method)
            raise

    def _writable(self) -> None:
        """Refuse a write up front when the token cannot write (no request is wasted on it)."""
        if self.token_kind == "job":
            raise PlatformError(JOB_TOKEN_CANNOT_WRITE)

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        return self._client.json_of(self._req(method, path, **kw))

    def _all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        try:
            return list(self._client.paginate(path, params))
        except HttpStatusError as exc:
            self._refuse(exc, "GET")
            raise

    def _result(self, action: str, start: int, **kw: Any) -> WriteResult:
        return WriteResult(action=action, api_calls=self._client.calls - start, **kw)

    def _user_id(self, username: str) -> int | None:
        found = self._json("GET", "users", params={"username": username})
        if isinstance(found, list) and found and isinstance(found[0], dict):
            uid = found[0].get("id")
            return uid if isinstance(uid, int) else None
        return None

    def _my_id(self) -> int | None:
        """The token's own user id (the bot user of a project token), asked once."""
        if self._me is None:
            resp = self._req("GET", "user", ok={200, 403, 404})
            data = self._client.json_of(resp) if resp.status_code == 200 else {}
            self._me = data if isinstance(data, dict) else {}
        uid = self._me.get("id")
        return uid if isinstance(uid, int) else None

    # -- reading ----------------------------------------------------------------------------------
    def get_pull_request(self) -> PullRequest:
        resp = self._req("GET", self._mr, ok={200, 404})
        if resp.status_code == 404:
            raise PlatformError(
                f"merge request {self.project}!{self.iid} not found (or the token cannot see it)"
            )
        data = self._client.json_of(resp)
        self._data = data
        association = self._association((data.get("author") or {}).get("id"))
        pr = self._to_pr(data, association)
        self._labels = list(pr.labels)
        return pr

    def _association(self, user_id: Any) -> str:
        """GitLab has no author association: the author's effective role in the project decides."""
        if not isinstance(user_id, int):
            return "NONE"
        resp = self._req("GET", f"{self._base}/members/all/{user_id}", ok={200, 403, 404})
        if resp.status_code != 200:
            return "NONE"
        level = self._client.json_of(resp).get("access_level")
        if not isinstance(level, int) or level < 30:
            return "NONE"
        return "OWNER" if level >= 50 else "MEMBER"

    def _to_pr(self, data: dict[str, Any], association: str = "NONE") -> PullRequest:
        refs = data.get("diff_refs") or {}
        labels = data.get("labels") or []
        state = str(data.get("state") or "opened")
        return PullRequest(
            forge=self.name,
            repo=self.project,
            number=int(data.get("iid") or self.iid),
            title=str(data.get("title") or ""),
            body=str(data.get("description") or ""),
            author=_username(data.get("author")),
            author_association=association,
            draft=bool(data.get("draft") or data.get("work_in_progress")),
            fork=data.get("source_project_id") != data.get("target_project_id"),
            state="open" if state == "opened" else state,
            base_ref=str(data.get("target_branch") or ""),
            base_sha=str(refs.get("base_sha") or ""),
            head_ref=str(data.get("source_branch") or ""),
            head_sha=str(refs.get("head_sha") or data.get("sha") or ""),
            labels=tuple(
                str(lb.get("name") if isinstance(lb, dict) else lb) for lb in labels if lb
            ),
            url=str(data.get("web_url") or ""),
            mergeable=_mergeable(data),
            created_at=_when(data.get("created_at")),
            updated_at=_when(data.get("updated_at")),
            changed_files=_count(data.get("changes_count")),
        )

    def get_diff(self, pr: PullRequest) -> bytes:
        from prbot.diff.parse import parse_diff
        from prbot.platforms.gitlab_diff import synthesise_diff

        data = synthesise_diff(self._all(f"{self._mr}/diffs"))
        self._diff = parse_diff(data)[0]
        self._diff_refs(pr)
        return data

    def _diff_refs(self, pr: PullRequest) -> DiffRefs:
        """The latest diff version's SHAs (what ``position`` needs), else the MR's ``diff_refs``."""
        if self._refs is None:
            versions = self._json("GET", f"{self._mr}/versions")
            latest = versions[0] if isinstance(versions, list) and versions else {}
            refs = (self._data or {}).get("diff_refs") or {}
            self._refs = DiffRefs(
                base_sha=str(latest.get("base_commit_sha") or refs.get("base_sha") or pr.base_sha),
                start_sha=str(latest.get("start_commit_sha") or refs.get("start_sha") or ""),
                head_sha=str(latest.get("head_commit_sha") or refs.get("head_sha") or pr.head_sha),
            )
        return self._refs

    def _discussion_list(self) -> list[dict[str, Any]]:
        if self._discussions is None:
            self._discussions = self._all(f"{self._mr}/discussions")
        return self._discussions

    def _note_list(self) -> list[dict[str, Any]]:
        if self._notes is None:
            self._notes = self._all(f"{self._mr}/notes", {"sort": "asc", "order_by": "created_at"})
        return self._notes

    def list_comments(self, pr: PullRequest) -> list[ExistingComment]:
        """Every note of every discussion (threads and plain notes alike) holding a marker."""
        out: list[ExistingComment] = []
        for d in self._discussion_list():
            for n in d.get("notes") or []:
                body = str(n.get("body") or "")
                if n.get("system") or _MARK not in body:
                    continue
                pos = n.get("position") or {}
                line = pos.get("new_line") or pos.get("old_line")
                out.append(
                    ExistingComment(
                        id=str(n.get("id")),
                        body=body,
                        author=_username(n.get("author")),
                        path=pos.get("new_path") or pos.get("old_path") or None,
                        line=line if isinstance(line, int) else None,
                    )
                )
        return out

    def checks_state(self, pr: PullRequest) -> ChecksState:
        """The latest MR pipeline (as ``pipeline``) plus the head commit's statuses, by name."""
        latest: dict[str, tuple[int, str, bool]] = {}
        pipelines = self._json("GET", f"{self._mr}/pipelines")
        if isinstance(pipelines, list) and pipelines:
            latest["pipeline"] = (0, str(pipelines[0].get("status") or ""), False)
        sha = quote(pr.head_sha, safe="")
        for s in self._all(f"{self._base}/repository/commits/{sha}/statuses"):
            name, sid = str(s.get("name") or "default"), int(s.get("id") or 0)
            if name not in latest or latest[name][0] <= sid:
                latest[name] = (sid, str(s.get("status") or ""), bool(s.get("allow_failure")))
        success, failure, pending = set(), set(), set()
        for name, (_, status, allowed) in latest.items():
            if status == "success" or (status in ("failed", "canceled") and allowed):
                success.add(name)
            elif status in ("failed", "canceled"):
                failure.add(name)
            elif status not in ("skipped", "manual", ""):
                pending.add(name)
        return ChecksState(frozenset(success), frozenset(failure), frozenset(pending))

    def read_file(self, path: str, ref: str) -> bytes | None:
        url = f"{self._base}/repository/files/{quote(path.lstrip('/'), safe='')}/raw"
        resp = self._req("GET", url, params={"ref": ref}, ok={200, 404})
        return None if resp.status_code == 404 else resp.content

    def list_open_pull_requests(self) -> list[PullRequest]:
        """Open MRs; ``author_association`` stays ``NONE`` (one members call per MR is too many)."""
        items = self._all(f"{self._base}/merge_requests", {"state": "opened"})
        return [self._to_pr(d) for d in items if isinstance(d, dict)]

    def is_team_member(self, team: str, user: str) -> bool:
        """``team`` is a group path (``org`` or ``org/sub``); minimal access or awaiting is not membership."""
        if not team.strip("/"):
            raise UsageError(f"team must be a GitLab group path, got {team!r}")
        uid = self._user_id(user)
        if uid is None:
            return False
        group = quote(team.strip("/"), safe="")
        resp = self._req("GET", f"groups/{group}/members/all/{uid}", ok={200, 404})
        if resp.status_code == 404:
            return False
        data = self._client.json_of(resp)
        if not isinstance(data, dict) or data.get("membership_state") == "awaiting":
            return False
        level = data.get("access_level")
        return isinstance(level, int) and level >= 10 and data.get("state", "active") == "active"
