"""Helpers every forge adapter uses when it writes: body limits and lost-answer reconciliation.

Forge-neutral on purpose (GitHub, GitLab and Bitbucket adapters all import from here), so the
adapters share one behaviour instead of three near-copies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from prbot.http import AmbiguousWrite

T = TypeVar("T")
R = TypeVar("R")

#: GitHub refuses comment/review bodies over 65536 characters; whether it counts characters or
#: bytes is not documented, so stay under the limit in UTF-8 bytes, with a margin for the note.
MAX_BODY_BYTES = 65_000


def truncate(text: str, limit: int = MAX_BODY_BYTES, *, note: str | None = None) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, ending with a note saying it was cut.

    The head is kept (hidden markers live there); the cut never splits a character.
    """
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    omitted_hint = note or "\n\n… (truncated: the full report is in the job log)"
    budget = max(0, limit - len(omitted_hint.encode("utf-8")))
    head = data[:budget].decode("utf-8", "ignore")
    return head + omitted_hint


def short(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters (status descriptions, annotation titles)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def post_once(
    post: Callable[[], R], find_existing: Callable[[], T | None]
) -> tuple[R | None, T | None]:
    """Send a create request at most twice, never duplicating it.

    A POST whose answer was lost (:class:`AmbiguousWrite`: timeout, reset, 5xx after sending) may
    have succeeded: re-list (``find_existing`` must not use a stale cache) and adopt what is there,
    and only post again when nothing was created. Returns ``(response, None)`` or ``(None, found)``.
    """
    try:
        return post(), None
    except AmbiguousWrite:
        found = find_existing()
        if found is not None:
            return None, found
        return post(), None
