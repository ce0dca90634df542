"""Render a diff the way the model reads it, and cut it into chunks that fit its context.

The rendering puts the new-side line number in front of every line a comment can go on, so the
model cites numbers it can see instead of counting lines inside a hunk (which models get wrong).
Chunking never loses a reviewable line: the union of :attr:`Chunk.lines` is every added line of
every text file, whatever the budget; a file is split at hunk boundaries, a hunk into line
windows, and a single line that alone is over the budget is truncated with a visible marker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from prbot.diff.model import Diff, DiffLine, FileDiff, FileStatus, Hunk

__all__ = ["Chunk", "approx_tokens", "chunk_diff", "render_file"]

TRUNCATION_MARKER = " …[line truncated]"
_NUMBER_WIDTH = 5
_BLANK_NUMBER = " " * _NUMBER_WIDTH
# Every character str.splitlines() breaks on: escaped so that one diff line is one rendered line
# and a line's text can never forge a numbered line of its own.
_LINE_BREAKS = str.maketrans(
    {
        "\n": "\\n",
        "\r": "\\r",
        "\x0b": "\\x0b",
        "\x0c": "\\x0c",
        "\x1c": "\\x1c",
        "\x1d": "\\x1d",
        "\x1e": "\\x1e",
        "\x85": "\\x85",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)
# Rounds of re-splitting when a tokenizer is not additive over lines (never needed for
# approx_tokens, whose per-line sums always bound the whole).
_MAX_REFITS = 8

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class Chunk:
    """One model request's worth of diff.

    ``index`` counts from 0 in diff order. ``lines`` holds ``(path, new_no)`` of the added lines
    shown in full or truncated in this chunk: the lines findings from this chunk may anchor to.
    """

    index: int
    text: str
    tokens: int
    paths: tuple[str, ...]
    lines: frozenset[tuple[str, int]]


def approx_tokens(text: str) -> int:
    """``ceil(len / 3.5)``: a cheap, slightly pessimistic estimate for code when no tokenizer is at hand."""
    return (2 * len(text) + 6) // 7


def render_file(
    f: FileDiff, hunks: Sequence[Hunk] | None = None, *, part: tuple[int, int] | None = None
) -> str:
    """The diff of one file as the model sees it (``hunks`` defaults to all of them).

    ``part`` is ``(i, n)`` when the file is split over several chunks. Each line reads
    ``<new line number, 5 columns, blank for deleted lines> <kind><text>``, e.g.
    ``   12 +    return x``; every line, the last included, ends with a newline.
    """
    shown = [] if f.is_binary else (f.hunks if hunks is None else hunks)
    return _file_header(f, part) + "\n" + "".join(_render_hunk(h) for h in shown)


def chunk_diff(
    diff: Diff, *, max_tokens: int, count_tokens: TokenCounter = approx_tokens
) -> list[Chunk]:
    """Pack the diff into chunks of at most ``max_tokens`` (as measured by ``count_tokens``).

    Whole files are packed in diff order; a file over the budget is split (header repeated with
    ``(part i/n)``). A chunk is over the budget only when it holds a single line that, even
    truncated to nothing, does not fit next to its headers. Binary files and files without
    hunks are left out: there is no line in them to review.
    """
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    pieces: list[_Piece] = []
    for f in diff.files:
        if f.is_binary or not f.hunks:
            continue
        rendered = [_render_hunk(h) for h in f.hunks]  # each line is rendered once
        text = _file_header(f, None) + "\n" + "".join(rendered)
        blocks = {id(h): block for h, block in zip(f.hunks, rendered, strict=True)}
        tokens = count_tokens(text)
        if tokens <= max_tokens:
            pieces.append(_Piece(f.path, text, tokens, _added(f.path, f.hunks)))
        else:
            pieces.extend(_FileSplitter(f, max_tokens, count_tokens, blocks).pieces())
    return _pack(pieces, max_tokens, count_tokens)


# --------------------------------------------------------------------------- rendering


def _file_header(f: FileDiff, part: tuple[int, int] | None) -> str:
    notes: list[str] = []
    if f.status is FileStatus.RENAMED and f.old_path:
        notes.append(f"renamed from {_clean(f.old_path)}")
    elif f.status is FileStatus.COPIED and f.old_path:
        notes.append(f"copied from {_clean(f.old_path)}")
    elif f.status is FileStatus.ADDED:
        notes.append("new file")
    elif f.status is FileStatus.DELETED:
        notes.append("deleted")
    if f.mode_changed:
        notes.append(f"mode {f.old_mode} -> {f.new_mode}")
    if f.is_binary:
        notes.append("binary file, content not shown")
    if part is not None:
        notes.append(f"part {part[0]}/{part[1]}")
    return f"### File: {_clean(f.path)}" + "".join(f" ({n})" for n in notes)


def _render_hunk(h: Hunk) -> str:
    return "\n".join([_hunk_header(h), *map(_render_line, h.lines)]) + "\n"


def _hunk_header(h: Hunk) -> str:
    head = f"@@ -{h.old_start},{h.old_len} +{h.new_start},{h.new_len} @@"
    return f"{head} {_clean(h.section)}" if h.section else head


def _render_line(ln: DiffLine) -> str:
    if ln.kind == "-" or ln.new_no is None:
        return f"{_BLANK_NUMBER} {ln.kind}{_clean(ln.text)}"
    return f"{ln.new_no:>{_NUMBER_WIDTH}} {ln.kind}{_clean(ln.text)}"


def _clean(text: str) -> str:
    return text.translate(_LINE_BREAKS)


def _added(path: str, hunks: Sequence[Hunk]) -> frozenset[tuple[str, int]]:
    return frozenset(
        (path, ln.new_no)
        for h in hunks
        for ln in h.lines
        if ln.kind == "+" and ln.new_no is not None
    )


# --------------------------------------------------------------------------- splitting


@dataclass(frozen=True)
class _Piece:
    """A rendered file or part of a file, the unit that chunks are packed from."""

    path: str
    text: str
    tokens: int
    lines: frozenset[tuple[str, int]]


class _FileSplitter:
    """Split one file that is over the budget into parts.

    Sizes are planned from per-hunk token counts (per-line inside a hunk that is itself too
    big), each text ending in its newline: for a tokenizer that is additive over lines, as
    ``approx_tokens`` is, their sums bound the count of the joined part, so the plan holds
    without re-measuring as it grows. It assumes the widest ``(part n/n)`` label possible; a
    final measurement of every part catches the tokenizers that are not additive.
    """

    def __init__(
        self, f: FileDiff, max_tokens: int, count: TokenCounter, blocks: dict[int, str]
    ) -> None:
        self.f = f
        self.blocks = blocks  # rendered original hunks, by id
        self.max = max_tokens
        self.count = count
        bound = sum(len(h.lines) + 1 for h in f.hunks)  # never more parts than lines + hunks
        self.widest = (bound, bound)
        self.header_t = count(_file_header(f, self.widest) + "\n")

    def pieces(self) -> list[_Piece]:
        atoms: list[tuple[Hunk, int]] = []
        for h in self.f.hunks:
            t = self._hunk_tokens(h)
            if self.header_t + t <= self.max:
                atoms.append((h, t))
            else:
                atoms.extend(self._windows(h))
        parts: list[list[Hunk]] = []
        current: list[Hunk] = []
        used = self.header_t
        for h, t in atoms:
            if current and used + t > self.max:
                parts.append(current)
                current, used = [], self.header_t
            current.append(h)
            used += t
        if current:
            parts.append(current)
        return self._render(parts)

    def _hunk_tokens(self, h: Hunk) -> int:
        return self.count(self._block(h))

    def _block(self, h: Hunk) -> str:
        block = self.blocks.get(id(h))
        return _render_hunk(h) if block is None else block

    def _windows(self, h: Hunk) -> list[tuple[Hunk, int]]:
        """Cut one hunk into sub-hunks that fit, each with a correct ``@@`` header of its own."""
        widest = Hunk(
            h.old_start + h.old_len, h.old_len, h.new_start + h.new_len, h.new_len, h.section
        )
        sub_t = self.count(_hunk_header(widest) + "\n")
        budget = self.max - self.header_t - sub_t
        out: list[tuple[Hunk, int]] = []
        start, used = 0, 0
        for j, ln in enumerate(h.lines):
            t = self.count(_render_line(ln) + "\n")
            if t > budget:  # the line alone does not fit: it becomes its own, truncated, window
                if j > start:
                    out.append((_sub_hunk(h, start, j), sub_t + used))
                cut = self._truncate(_sub_hunk(h, j, j + 1), self.widest)
                out.append((cut, self._hunk_tokens(cut)))
                start, used = j + 1, 0
                continue
            if j > start and used + t > budget:
                out.append((_sub_hunk(h, start, j), sub_t + used))
                start, used = j, 0
            used += t
        if start < len(h.lines):
            out.append((_sub_hunk(h, start, len(h.lines)), sub_t + used))
        return out

    def _truncate(self, h: Hunk, part: tuple[int, int]) -> Hunk:
        """``h`` (one line) with the longest prefix of its text that fits, and the marker.

        Measured on the real rendering of the part, so it holds for any tokenizer; just the
        marker is left when even that does not fit (the one chunk allowed over the budget).
        """
        ln = h.lines[0]
        text = ln.text.removesuffix(TRUNCATION_MARKER)  # a second pass cuts the original prefix

        def cut(k: int) -> Hunk:
            return replace(h, lines=[replace(ln, text=text[:k] + TRUNCATION_MARKER)])

        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.count(render_file(self.f, [cut(mid)], part=part)) <= self.max:
                lo = mid
            else:
                hi = mid - 1
        return cut(lo)

    def _render(self, parts: list[list[Hunk]]) -> list[_Piece]:
        """Render with the real labels; re-split (or cut) what the tokenizer still finds too big."""
        for _ in range(_MAX_REFITS):
            texts, tokens = self._measure(parts)
            over = {i for i, t in enumerate(tokens) if t > self.max and _splittable(parts[i])}
            if not over:
                break
            parts = [
                half for i, p in enumerate(parts) for half in (_halve(p) if i in over else [p])
            ]
        else:  # pragma: no cover - only a pathological tokenizer gets here
            texts, tokens = self._measure(parts)
        for i, t in enumerate(tokens):
            if t > self.max and len(parts[i]) == 1 and len(parts[i][0].lines) == 1:
                parts[i] = [self._truncate(parts[i][0], (i + 1, len(parts)))]
                texts[i] = render_file(self.f, parts[i], part=(i + 1, len(parts)))
                tokens[i] = self.count(texts[i])
        path = self.f.path
        return [
            _Piece(path, text, t, _added(path, p))
            for text, t, p in zip(texts, tokens, parts, strict=True)
        ]

    def _measure(self, parts: list[list[Hunk]]) -> tuple[list[str], list[int]]:
        n = len(parts)
        texts = [
            _file_header(self.f, (i + 1, n)) + "\n" + "".join(map(self._block, p))
            for i, p in enumerate(parts)
        ]
        return texts, [self.count(t) for t in texts]


def _sub_hunk(h: Hunk, start: int, end: int) -> Hunk:
    """Lines ``start:end`` of ``h`` as a hunk of their own, with the header git would write."""
    old_pos, new_pos = h.old_start, h.new_start
    for ln in h.lines[:start]:
        old_pos += ln.kind != "+"
        new_pos += ln.kind != "-"
    lines = list(h.lines[start:end])
    old_len = sum(ln.kind != "+" for ln in lines)
    new_len = sum(ln.kind != "-" for ln in lines)
    # An empty side names the line before the change, as in "@@ -5,0 +6,2 @@".
    old_start = old_pos if old_len else max(old_pos - 1, 0)
    new_start = new_pos if new_len else max(new_pos - 1, 0)
    if h.old_len == 0:
        old_start = h.old_start
    if h.new_len == 0:
        new_start = h.new_start
    return Hunk(old_start, old_len, new_start, new_len, h.section, lines)


def _splittable(part: list[Hunk]) -> bool:
    return len(part) > 1 or len(part[0].lines) > 1


def _halve(part: list[Hunk]) -> list[list[Hunk]]:
    if len(part) > 1:
        mid = len(part) // 2
        return [part[:mid], part[mid:]]
    h = part[0]
    mid = len(h.lines) // 2
    return [[_sub_hunk(h, 0, mid)], [_sub_hunk(h, mid, len(h.lines))]]


def _pack(pieces: list[_Piece], max_tokens: int, count: TokenCounter) -> list[Chunk]:
    """Greedy, in order: pieces are joined by a blank line until the next one would not fit."""
    chunks: list[Chunk] = []
    sep_t = count("\n")

    def close(group: list[_Piece]) -> None:
        text = "\n".join(p.text for p in group)
        tokens = count(text) if len(group) > 1 else group[0].tokens
        if tokens > max_tokens and len(group) > 1:  # tokenizer not additive: split the group
            mid = len(group) // 2
            close(group[:mid])
            close(group[mid:])
            return
        paths = tuple(dict.fromkeys(p.path for p in group))
        lines = frozenset().union(*(p.lines for p in group))
        chunks.append(Chunk(len(chunks), text, tokens, paths, lines))

    group: list[_Piece] = []
    used = 0
    for piece in pieces:
        if group and used + sep_t + piece.tokens > max_tokens:
            close(group)
            group, used = [], 0
        used += piece.tokens + (sep_t if group else 0)
        group.append(piece)
    if group:
        close(group)
    return chunks
