"""Bitbucket comments: inline findings, the review text, summary and rule comments, approvals.

Bitbucket has no review object: each inline finding is its own ``POST …/comments`` with
``inline: {path, to}`` (``from`` for an old-side line); there are no multi-line anchors, so a range
is named in the text. A comment Bitbucket refuses inline is posted as a plain comment naming the
place, so no finding is lost. The review text is one comment owned by the review marker and edited
in place, so re-runs do not pile up. Approve and request-changes are separate endpoints.

Markers: raw HTML comments may render visibly on Bitbucket, so the platform-neutral markers
(``<!-- prbot:… -->``) are written as CommonMark link reference definitions
(``[//]: # (prbot:…)``), which are invisible and kept in ``content.raw``, and read back in either
form. Everything above this module sees the neutral markers only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from prbot.http import HttpStatusError
from prbot.platforms.base import (
    REVIEW_MARKER,
    SUMMARY_MARKER,
    ExistingComment,
    InlineComment,
    PullRequest,
    ReviewEvent,
    WriteResult,
    finding_marker,
)
from prbot.platforms.writes import post_once, truncate

if TYPE_CHECKING:
    import httpx

    from prbot.http import ApiClient

_HTML = re.compile(r"<!-- prbot:([^\s()<>]+) -->")
_LINK = re.compile(r"(?m)^\[//\]: # \(prbot:([^\s()<>]+)\)[ \t]*$")
_FINDING = re.compile(r"prbot:finding:([0-9A-Za-z_-]+)")
#: Statuses with which Bitbucket refuses an inline anchor (off the diff, unknown path).
_INLINE_REFUSED = (400, 422)


def to_bitbucket(text: str) -> str:
    """``text`` with each neutral marker on its own line turned into an invisible link reference.

    A link reference definition cannot interrupt a paragraph, so a blank line is put before it.
    """
    out: list[str] = []
    for line in text.split("\n"):
        m = _HTML.fullmatch(line.strip())
        if m:
            if out and out[-1].strip():
                out.append("")
            out.append(f"[//]: # (prbot:{m.group(1)})")
        else:
            out.append(line)
    return "\n".join(out)


def from_bitbucket(text: str) -> str:
    """``text`` with Bitbucket-form markers turned back into the neutral ``<!-- prbot:… -->``."""
    return _LINK.sub(lambda m: f"<!-- prbot:{m.group(1)} -->", text)


def _raw(comment: dict[str, Any]) -> str:
    content = comment.get("content")
    return str(content.get("raw") or "") if isinstance(content, dict) else ""


def _inline(comment: dict[str, Any]) -> tuple[str | None, int | None]:
    inline = comment.get("inline")
    if not isinstance(inline, dict):
        return None, None
    line = inline.get("to") if isinstance(inline.get("to"), int) else inline.get("from")
    return inline.get("path"), line if isinstance(line, int) else None


class CommentWriter:
    """The comment part of :class:`~prbot.platforms.bitbucket.BitbucketPlatform` (a mixin)."""

    _client: ApiClient
    _pr_path: str
    _comments: list[dict[str, Any]] | None
    bot_uuid: str | None

    if TYPE_CHECKING:

        def _req(self, method: str, path: str, **kw: Any) -> httpx.Response: ...
        def _all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]: ...
        def _result(self, action: str, start: int, **kw: Any) -> WriteResult: ...

    # -- reading ----------------------------------------------------------------------------------
    def _comment_list(self) -> list[dict[str, Any]]:
        """Every live comment on the PR (listed once per run, then kept up to date locally)."""
        if self._comments is None:
            self._comments = [
                c
                for c in self._all(f"{self._pr_path}/comments")
                if isinstance(c, dict) and not c.get("deleted")
            ]
        return self._comments

    def _own(self, comment: dict[str, Any]) -> bool:
        text = _raw(comment)
        if "prbot:" not in text or not (_LINK.search(text) or _HTML.search(text)):
            return False
        if self.bot_uuid:
            user = comment.get("user")
            return isinstance(user, dict) and user.get("uuid") == self.bot_uuid
        return True

    def list_comments(self, pr: PullRequest) -> list[ExistingComment]:
        out: list[ExistingComment] = []
        for c in self._comment_list():
            if not self._own(c):
                continue
            path, line = _inline(c)
            user = c.get("user") if isinstance(c.get("user"), dict) else {}
            out.append(
                ExistingComment(
                    id=str(c.get("id")),
                    body=from_bitbucket(_raw(c)),
                    author=str(user.get("nickname") or user.get("display_name") or ""),
                    path=path,
                    line=line,
                )
            )
        return out

    def _find(self, marker: str) -> dict[str, Any] | None:
        for c in self._comment_list():
            if c.get("inline") or not self._own(c):
                continue
            if marker in from_bitbucket(_raw(c)):
                return c
        return None

    # -- writing ----------------------------------------------------------------------------------
    def _create(self, raw: str, inline: dict[str, Any] | None, key: str) -> dict[str, Any]:
        """POST one comment; after a lost answer, adopt it if ``key`` is on the PR, else resend."""
        body: dict[str, Any] = {"content": {"raw": raw}}
        if inline:
            body["inline"] = inline
        path = f"{self._pr_path}/comments"

        def existing() -> dict[str, Any] | None:
            self._comments = None
            return next(
                (
                    c
                    for c in self._comment_list()
                    if key in from_bitbucket(_raw(c)) and self._own(c)
                ),
                None,
            )

        resp, found = post_once(lambda: self._req("POST", path, json=body, ok={201}), existing)
        if found is not None:
            return found
        created = self._client.json_of(resp)
        if isinstance(created, dict):
            self._comment_list().append(created)
            return created
        return {}

    def _upsert(self, action: str, marker: str, body: str) -> WriteResult:
        start = self._client.calls
        text = body if marker in body else f"{marker}\n{body}"
        raw = truncate(to_bitbucket(text))
        mine = self._find(marker)
        if mine is None:
            created = self._create(raw, None, marker)
            return self._result(
                action, start, ok=True, status=201, ids=(str(created.get("id")),),
                detail=f"{action} comment created",
            )  # fmt: skip
        cid = str(mine.get("id"))
        if _raw(mine) == raw:
            return self._result(
                action, start, ok=True, skipped=True, ids=(cid,),
                detail=f"{action} comment already up to date",
            )  # fmt: skip
        resp = self._req(
            "PUT", f"{self._pr_path}/comments/{cid}", json={"content": {"raw": raw}}, ok={200}
        )
        mine["content"] = {"raw": raw}
        return self._result(
            action, start, ok=True, status=resp.status_code, ids=(cid,),
            detail=f"{action} comment updated",
        )  # fmt: skip

    def upsert_summary(self, pr: PullRequest, body: str) -> WriteResult:
        return self._upsert("summary", SUMMARY_MARKER, body)

    def upsert_comment(self, pr: PullRequest, marker: str, body: str) -> WriteResult:
        return self._upsert("comment", marker, body)

    def post_review(
        self, pr: PullRequest, *, body: str, comments: Sequence[InlineComment], event: ReviewEvent
    ) -> WriteResult:
        start = self._client.calls
        placed: set[tuple[str | None, int | None, str]] = set()
        anywhere: set[str] = set()  # findings posted as plain comments (refused inline before)
        for c in self._comment_list():
            if not self._own(c):
                continue
            path, line = _inline(c)
            for fp in _FINDING.findall(_raw(c)):
                if path is None:
                    anywhere.add(fp)
                else:
                    placed.add((path, line, fp))
        new = [
            c
            for c in comments
            if (c.path, c.line, c.fingerprint) not in placed and c.fingerprint not in anywhere
        ]
        dup = len(comments) - len(new)
        if not new and event is ReviewEvent.COMMENT:
            detail = (
                f"{dup} inline comment(s) already posted; nothing new" if dup else "nothing new"
            )
            return self._result("review", start, ok=True, skipped=True, detail=detail)
        ids: list[str] = []
        moved = 0
        for c in new:
            created, was_moved = self._post_finding(c)
            ids.append(str(created.get("id")))
            moved += was_moved
        notes = [f"{event.value} with {len(new) - moved} inline comment(s)"]
        if moved:
            notes.append(f"{moved} refused inline by Bitbucket, posted as plain comments")
        if dup:
            notes.append(f"{dup} inline comment(s) already posted, not repeated")
        ok, status = True, 201 if new else None
        if body.strip():
            ids.append(self._upsert("review", REVIEW_MARKER, body).ids[0])
        if event is not ReviewEvent.COMMENT:
            verdict_ok, verdict_status, verdict = self._verdict(event)
            ok, status = ok and verdict_ok, verdict_status
            notes.append(verdict)
        return self._result(
            "review", start, ok=ok, status=status, ids=tuple(ids), detail="; ".join(notes)
        )

    def _post_finding(self, c: InlineComment) -> tuple[dict[str, Any], bool]:
        marker = finding_marker(c.fingerprint)
        text = c.body
        if c.start_line is not None and c.start_line < c.line:
            text = f"_Lines {c.start_line}–{c.line}:_\n\n{text}"
        if marker not in text:
            text = f"{text}\n\n{marker}"
        side = "from" if c.side.upper() == "LEFT" else "to"
        try:
            return self._create(
                truncate(to_bitbucket(text)), {"path": c.path, side: c.line}, marker
            ), False
        except HttpStatusError as exc:
            if exc.status not in _INLINE_REFUSED:
                raise
        where = (
            f"`{c.path}` line {c.line}"
            if c.start_line is None
            else (f"`{c.path}` lines {c.start_line}–{c.line}")
        )
        plain = f"**{where}** (not placed on the diff: Bitbucket refused the anchor)\n\n{c.body}"
        if marker not in plain:
            plain = f"{plain}\n\n{marker}"
        return self._create(truncate(to_bitbucket(plain)), None, marker), True

    def _verdict(self, event: ReviewEvent) -> tuple[bool, int | None, str]:
        """Approve or request changes; a refusal is a one-line note, not a crash."""
        endpoint = "approve" if event is ReviewEvent.APPROVE else "request-changes"
        verb = "approve" if event is ReviewEvent.APPROVE else "request changes"
        try:
            # Set-style: approving twice leaves one approval, so a retry is harmless.
            resp = self._req("POST", f"{self._pr_path}/{endpoint}", idempotent=True, ok={200})
        except HttpStatusError as exc:
            if exc.status not in (400, 403, 404, 409):
                raise
            why = exc.api_message or exc.message
            return False, exc.status, f"Bitbucket refused to {verb} ({exc.status}): {why}"
        return True, resp.status_code, "approved" if endpoint == "approve" else "changes requested"
