"""Where a finding may be placed: which diff path it means, and which lines the forge accepts.

Forges reject a comment on a line outside the diff, and a range that leaves its hunk, so every
finding is checked here before it can become an inline comment; anything that fails goes to the
summary instead. A finding without an anchor gets its line's text as one (the fingerprint hashes
it, so a finding keeps its identity when lines above it move), and that text passes through the
secret scanner first: the anchor is shown in comments and written to the audit, and a secret in
a diff is never repeated in full anywhere prbot writes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from prbot.diff.model import Diff, FileDiff
from prbot.models import Finding
from prbot.review.secrets import redact


def anchor_findings(findings: list[Finding], diff: Diff) -> tuple[list[Finding], list[Finding]]:
    """Split findings into (inline, summary): inline only on a commentable new-side line.

    Inline findings get their ``anchor`` (the line's text, secrets redacted) when they have none,
    and lose an ``end_line`` that would span hunks or leave the diff, which forges reject.
    """
    inline: list[Finding] = []
    summary: list[Finding] = []
    commentable: dict[str, frozenset[int]] = {}
    safe_text: dict[str, dict[int, str]] = {}
    for f in findings:
        fd = diff.file(f.path)
        if fd is None or f.line is None:
            summary.append(f)
            continue
        if f.path not in commentable:
            commentable[f.path] = fd.commentable_lines()
        lines = commentable[f.path]
        if f.line not in lines:
            summary.append(f)
            continue
        end = f.end_line
        span = _hunk_range(fd, f.line)
        if end is not None and (
            end <= f.line or end not in lines or span is None or end not in span
        ):
            end = None
        anchor = f.anchor
        if not anchor:
            if f.path not in safe_text:
                safe_text[f.path] = _redacted_lines(fd)
            anchor = safe_text[f.path].get(f.line, "")
        inline.append(replace(f, end_line=end, anchor=anchor))
    return inline, summary


def _hunk_range(fd: FileDiff, line: int) -> range | None:
    for h in fd.hunks:
        span = range(h.new_start, h.new_start + max(h.new_len, 0))
        if line in span:
            return span
    return None


def _redacted_lines(fd: FileDiff) -> dict[int, str]:
    """New-side line texts of ``fd`` by line number, every secret replaced by its placeholder.

    Each hunk is scanned whole, not line by line: a private key spans lines, and no line of its
    body is recognisable as a secret on its own. :func:`~prbot.review.secrets.redact` keeps the
    line breaks of such a block, so line ``i`` of the result is still line ``i`` of the hunk.
    """
    out: dict[int, str] = {}
    for h in fd.hunks:
        numbered = [
            (ln.new_no, ln.text) for ln in h.lines if ln.kind != "-" and ln.new_no is not None
        ]
        texts = redact("\n".join(text for _, text in numbered))[0].split("\n")
        if len(texts) != len(numbered):  # a line held a line break of its own: go line by line
            texts = [redact(text)[0] for _, text in numbered]
        for (no, _), text in zip(numbered, texts, strict=True):
            out.setdefault(no, text)  # first occurrence wins, as in FileDiff.line_text
    return out


def resolve_path(path: str, diff: Diff) -> str | None:
    """The diff path a model meant: exact, or without ``./``, ``/``, ``a/``, ``b/`` prefixes."""
    candidates = [path]
    p = path
    while p.startswith("./"):
        p = p[2:]
    candidates += [p, p.lstrip("/")]
    if p[:2] in ("a/", "b/"):
        candidates.append(p[2:])
    for c in candidates:
        if c and diff.file(c) is not None:
            return c
    return None


def shown_lines(chunk: Any, diff: Diff) -> dict[str, tuple[float, float]]:
    """Per path of the chunk, the new-side line span the model was shown.

    ``Chunk.lines`` holds added lines only; context lines between them are shown too. A file
    whose added lines all sit in this chunk was shown whole; a file split over chunks only
    between its first and last added line here.
    """
    added: dict[str, list[int]] = {}
    for path, line in chunk.lines:
        added.setdefault(path, []).append(line)
    spans: dict[str, tuple[float, float]] = {}
    for path in chunk.paths:
        fd = diff.file(path)
        here = added.get(path, [])
        everything = {n for n, _ in fd.added_lines()} if fd is not None else set()
        if everything.issubset(here):
            spans[path] = (float("-inf"), float("inf"))
        elif here:
            spans[path] = (min(here), max(here))
    return spans
