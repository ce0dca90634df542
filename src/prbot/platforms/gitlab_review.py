"""Posting a review on GitLab: one discussion per finding, plain-note fallback, approve/unapprove.

GitLab has no atomic review. Each inline finding is its own ``POST …/discussions`` with a
``position`` computed from the parsed diff; one refused anchor therefore costs only that finding its
anchor: it is posted as a plain note naming ``path:line`` instead, so nothing is lost. Findings carry
a fingerprint marker and are skipped when already on the MR (anchored on the same path and line, or
as a fallback note), so re-runs add only what is new. The review body is not posted here: it goes
into the summary note (``upsert_summary``). There is no request-changes endpoint: an earlier
approval by this token is withdrawn instead, and the result says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from prbot.http import AmbiguousWrite, HttpStatusError
from prbot.platforms.base import (
    ExistingReview,
    InlineComment,
    PullRequest,
    ReviewEvent,
    WriteResult,
    finding_marker,
)
from prbot.platforms.gitlab_diff import DiffRefs, position_for

if TYPE_CHECKING:
    import httpx

    from prbot.diff.model import Diff
    from prbot.http import ApiClient

_FINDING_RE = re.compile(r"<!-- prbot:finding:([0-9A-Za-z_-]+) -->")
_MAX_BODY = 1_000_000


class ReviewWriter:
    """The review part of :class:`~prbot.platforms.gitlab.GitLabPlatform` (a mixin)."""

    _client: ApiClient
    _mr: str
    _diff: Diff | None
    _discussions: list[dict[str, Any]] | None

    if TYPE_CHECKING:

        def _req(self, method: str, path: str, **kw: Any) -> httpx.Response: ...
        def _json(self, method: str, path: str, **kw: Any) -> Any: ...
        def _result(self, action: str, start: int, **kw: Any) -> WriteResult: ...
        def _discussion_list(self) -> list[dict[str, Any]]: ...
        def _diff_refs(self, pr: PullRequest) -> DiffRefs: ...
        def _my_id(self) -> int | None: ...
        def get_diff(self, pr: PullRequest) -> bytes: ...

    # -- reading ----------------------------------------------------------------------------------
    def _approvals(self) -> dict[str, Any] | None:
        resp = self._req("GET", f"{self._mr}/approvals", ok={200, 403, 404})
        if resp.status_code != 200:
            return None  # approvals API unavailable (tier or permission): nothing to list
        data = self._client.json_of(resp)
        return data if isinstance(data, dict) else None

    def list_reviews(self, pr: PullRequest) -> list[ExistingReview]:
        data = self._approvals() or {}
        return [
            ExistingReview(
                author=str(user.get("username") or ""),
                state="APPROVED",
                commit_id=pr.head_sha,
                id=str(user.get("id") or ""),
            )
            for a in data.get("approved_by") or []
            if isinstance(a, dict) and isinstance(user := a.get("user"), dict)
        ]

    def _posted(self) -> tuple[set[tuple[str, int | None, str]], set[str]]:
        """Fingerprints already on the MR: anchored (path, line, fp), and in plain notes (fp)."""
        anchored: set[tuple[str, int | None, str]] = set()
        loose: set[str] = set()
        for d in self._discussion_list():
            for n in d.get("notes") or []:
                if n.get("system"):
                    continue
                fps = _FINDING_RE.findall(str(n.get("body") or ""))
                pos = n.get("position")
                if isinstance(pos, dict):
                    path = str(pos.get("new_path") or pos.get("old_path") or "")
                    for line in {pos.get("new_line"), pos.get("old_line")} - {None}:
                        anchored.update((path, line, fp) for fp in fps)
                else:
                    loose.update(fps)
        return anchored, loose

    # -- writing ----------------------------------------------------------------------------------
    def post_review(
        self, pr: PullRequest, *, body: str, comments: Sequence[InlineComment], event: ReviewEvent
    ) -> WriteResult:
        start = self._client.calls
        anchored, loose = self._posted() if comments else (set(), set())
        new = [
            c
            for c in comments
            if (c.path, c.line, c.fingerprint) not in anchored and c.fingerprint not in loose
        ]
        dup = len(comments) - len(new)
        notes = [f"{dup} inline comment(s) already posted, not repeated"] if dup else []
        ids: list[str] = []
        placed = moved = 0
        if new:
            if self._diff is None:
                self.get_diff(pr)
            refs = self._diff_refs(pr)
            for c in new:
                done, nid, why = self._post_one(c, refs)
                ids.append(nid)
                placed += done
                moved += not done
                if why:
                    notes.append(why)
        ok, status = True, 201 if new else None
        if event is not ReviewEvent.COMMENT:
            ev_ok, ev_status, ev_note, ev_ids = self._verdict(pr, event)
            ok, status = ok and ev_ok, ev_status or status
            notes.append(ev_note)
            ids.extend(ev_ids)
        if not new and event is ReviewEvent.COMMENT:
            return self._result(
                "review", start, ok=True, skipped=True,
                detail="; ".join(notes) if dup else "nothing new",
            )  # fmt: skip
        head = f"{placed} inline discussion(s)"
        if moved:
            head += f", {moved} finding(s) posted as plain notes"
        return self._result(
            "review", start, ok=ok, status=status, ids=tuple(ids),
            detail="; ".join([head, *notes]),
        )  # fmt: skip

    def _post_one(self, c: InlineComment, refs: DiffRefs) -> tuple[bool, str, str]:
        """Post one finding; (anchored?, note id, a remark when it had to fall back)."""
        text = f"{c.body}\n\n{finding_marker(c.fingerprint)}"[:_MAX_BODY]
        assert self._diff is not None
        position = position_for(self._diff, refs, c.path, c.line, c.side)
        path = f"{self._mr}/discussions"
        why = f"{c.path}:{c.line} is not on the diff; posted as a plain note"
        if position is not None:
            try:
                data = self._send(path, {"body": text, "position": position})
                self._remember(data)
                return True, _first_note_id(data), ""
            except HttpStatusError as exc:
                if exc.status != 400:
                    raise
                reason = exc.api_message or "400"
                why = f"GitLab refused the anchor {c.path}:{c.line} ({reason}); posted as a plain note"
        where = f"{c.start_line}-{c.line}" if c.start_line else str(c.line)
        plain = f"**`{c.path}` line {where}:**\n\n{text}"
        data = self._send(path, {"body": plain})
        self._remember(data)
        return False, _first_note_id(data), why

    def _send(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a discussion; a lost answer is reconciled by looking for its marker first."""
        try:
            return dict(self._json("POST", path, json=payload, ok={201}))
        except AmbiguousWrite:
            marker = str(payload["body"]).rsplit("\n", 1)[-1]
            self._discussions = None
            for d in self._discussion_list():
                if any(marker in str(n.get("body") or "") for n in d.get("notes") or []):
                    return dict(d)
            return dict(self._json("POST", path, json=payload, ok={201}))

    def _remember(self, discussion: dict[str, Any]) -> None:
        if self._discussions is not None:
            self._discussions.append(discussion)

    def _verdict(
        self, pr: PullRequest, event: ReviewEvent
    ) -> tuple[bool, int | None, str, list[str]]:
        """Approve (guarded by the reviewed SHA) or withdraw our approval for request-changes."""
        me = self._my_id()
        approvals = self._approvals() or {}
        mine = any(
            isinstance(a, dict) and (a.get("user") or {}).get("id") == me
            for a in approvals.get("approved_by") or []
        ) if me is not None else False  # fmt: skip
        if event is ReviewEvent.APPROVE:
            if mine:
                return True, None, "already approved", []
            resp = self._req(
                "POST", f"{self._mr}/approve", json={"sha": pr.head_sha},
                ok={201, 401, 403, 409},
            )  # fmt: skip
            if resp.status_code == 201:
                return True, 201, "approved", []
            if resp.status_code == 409:
                return False, 409, "not approved: head moved since review", []
            return False, resp.status_code, (
                f"GitLab refused the approval ({resp.status_code}): the token's user may not "
                "approve this merge request (author, or not an eligible approver)"
            ), []  # fmt: skip
        if not mine:
            return True, None, "GitLab has no request-changes; no approval of ours to withdraw", []
        resp = self._req("POST", f"{self._mr}/unapprove", ok={201, 404})
        return True, resp.status_code, "GitLab has no request-changes; unapproved", []


def _first_note_id(discussion: dict[str, Any]) -> str:
    notes = discussion.get("notes") or []
    if notes and isinstance(notes[0], dict):
        return str(notes[0].get("id"))
    return str(discussion.get("id") or "")
