"""Posting a GitHub review: one atomic request, deduplicated, reconciled, never losing findings.

GitHub applies a review with all its inline comments atomically: one comment on a line outside the
diff rejects everything with a 422 that does not say which. So the review is retried once with the
inline comments moved into its body. Inline comments carry a fingerprint marker and are dropped when
the same (path, line, fingerprint) is already on the PR, so re-runs add only what is new. Each
request carries a marker of its own content, so a POST whose answer was lost (timeout, 5xx) is
looked up among the PR's reviews before being sent again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from prbot.http import AmbiguousWrite, HttpStatusError
from prbot.platforms.base import (
    REVIEW_MARKER,
    InlineComment,
    PullRequest,
    ReviewEvent,
    WriteResult,
    finding_marker,
)
from prbot.platforms.writes import truncate

if TYPE_CHECKING:
    import httpx

    from prbot.http import ApiClient

_FINDING_RE = re.compile(r"<!-- prbot:finding:([0-9A-Za-z_-]+) -->")


class ReviewWriter:
    """The review part of :class:`~prbot.platforms.github.GitHubPlatform` (a mixin)."""

    _client: ApiClient
    _base: str
    _review_comments: list[dict[str, Any]] | None

    if TYPE_CHECKING:

        def _req(self, method: str, path: str, **kw: Any) -> httpx.Response: ...
        def _all(self, path: str, params: dict[str, Any] | None = None) -> list[Any]: ...
        def _result(self, action: str, start: int, **kw: Any) -> WriteResult: ...
        def _review_comment_list(self, pr: PullRequest) -> list[dict[str, Any]]: ...

    def post_review(
        self, pr: PullRequest, *, body: str, comments: Sequence[InlineComment], event: ReviewEvent
    ) -> WriteResult:
        start = self._client.calls
        posted: set[tuple[str, int | None, str]] = set()
        for c in self._review_comment_list(pr):
            for fp in _FINDING_RE.findall(str(c.get("body") or "")):
                posted.add((str(c.get("path")), c.get("line"), fp))
        new = [c for c in comments if (c.path, c.line, c.fingerprint) not in posted]
        dup = len(comments) - len(new)
        if not new and event is ReviewEvent.COMMENT:
            detail = (
                f"{dup} inline comment(s) already posted; nothing new" if dup else "nothing new"
            )
            return self._result("review", start, ok=True, skipped=True, detail=detail)
        notes = [f"{dup} inline comment(s) already posted, not repeated"] if dup else []
        ok, inline, moved, ev = True, list(new), [], event
        while True:
            payload = self._review_payload(pr, body, inline, moved, ev)
            try:
                review = self._send_review(pr, payload)
                break
            except HttpStatusError as exc:
                if exc.status != 422:
                    raise
                refusal = _approval_refusal(ev, exc.api_message)
                if refusal:
                    ok = False
                    notes.append(refusal)
                    if not (inline or moved):
                        return self._result("review", start, ok=False, status=422, detail=refusal)
                    notes.append("findings posted as a plain comment review instead")
                    ev = ReviewEvent.COMMENT
                    continue
                if not inline:
                    raise
                notes.append(
                    f"GitHub rejected an inline anchor ({exc.api_message or '422'}); "
                    f"{len(inline)} inline comment(s) moved into the review body"
                )
                inline, moved = [], inline
        if self._review_comments is not None:
            self._review_comments.extend(
                {"path": c.path, "line": c.line, "body": finding_marker(c.fingerprint)}
                for c in inline
            )
        return self._result(
            "review",
            start,
            ok=ok,
            status=200,
            ids=(str(review.get("id")),),
            detail="; ".join([f"{ev.value} with {len(inline)} inline comment(s)", *notes]),
        )

    def _review_payload(
        self,
        pr: PullRequest,
        body: str,
        inline: Sequence[InlineComment],
        moved: Sequence[InlineComment],
        event: ReviewEvent,
    ) -> dict[str, Any]:
        text = body
        if moved:
            lines = ["", "", "**Findings that could not be placed on the diff:**", ""]
            for c in moved:
                where = f"{c.start_line}-{c.line}" if c.start_line else str(c.line)
                lines.append(f"- `{c.path}` line {where}: {' '.join(c.body.split())}")
            text += "\n".join(lines)
        items = []
        for c in inline:
            item: dict[str, Any] = {
                "path": c.path,
                "line": c.line,
                "side": c.side,
                "body": f"{c.body}\n\n{finding_marker(c.fingerprint)}",
            }
            if c.start_line is not None and c.start_line != c.line:
                item["start_line"] = c.start_line
                item["start_side"] = c.side
            items.append(item)
        payload = {"commit_id": pr.head_sha, "event": event.value, "comments": items}
        digest = hashlib.sha256(
            json.dumps([payload, text], sort_keys=True).encode("utf-8", "replace")
        ).hexdigest()[:16]
        # The post marker identifies this exact request, so a lost response can be reconciled.
        payload["body"] = truncate(f"{REVIEW_MARKER}\n<!-- prbot:post:{digest} -->\n{text}")
        return payload

    def _send_review(self, pr: PullRequest, payload: dict[str, Any]) -> dict[str, Any]:
        path = f"{self._base}/pulls/{pr.number}/reviews"
        try:
            return self._client.json_of(self._req("POST", path, json=payload, ok={200}))
        except AmbiguousWrite:
            marker = str(payload["body"]).split("\n", 2)[1]
            for r in self._all(path):
                if marker in str(r.get("body") or "") and r.get("commit_id") == pr.head_sha:
                    return r
            return self._client.json_of(self._req("POST", path, json=payload, ok={200}))


def _approval_refusal(event: ReviewEvent, message: str) -> str | None:
    """The one-line fix when GitHub refuses an approval/request-changes, else ``None``."""
    if event is ReviewEvent.COMMENT:
        return None
    low = message.lower()
    verb = "approve" if event is ReviewEvent.APPROVE else "request changes"
    if "your own pull request" in low:
        return (
            f"GitHub refuses to {verb}: the token acts as the PR author; use another account's "
            "token or a GitHub App in PRBOT_GITHUB_TOKEN / PRBOT_GITHUB_APP_ID"
        )
    if "not permitted to approve" in low:
        return (
            f"GitHub Actions may not {verb} here: enable 'Allow GitHub Actions to create and "
            "approve pull requests' (Settings > Actions > General) or use a GitHub App token"
        )
    return None
