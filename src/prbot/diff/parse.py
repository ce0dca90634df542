"""Unified diff text → :class:`~prbot.diff.model.Diff`.

Diffs come from users, CI logs and forges, so parsing must survive bad input file by file.
unidiff alone does not: it stops at the first bad hunk (losing every other file), silently
drops lines when a hunk is longer than its header says, guesses paths from the ambiguous
``diff --git`` line and knows nothing about copies. So one pass here cuts the input into files
and reads hunks while checking their counts (the only way to tell a removed ``-- comment``
line from a ``---`` file header); paths, status and modes come from git's extended headers;
and unidiff then re-reads every hunk as an independent check. A file that fails any of this
becomes a :class:`SkippedFile` with the reason, and the rest of the diff survives.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

import unidiff

from prbot.diff.model import Diff, DiffLine, FileDiff, FileStatus, Hunk
from prbot.errors import DiffError
from prbot.models import SkippedFile

__all__ = ["parse_diff"]

# Same grammar as unidiff's hunk header, with bounded digit runs so that an absurd count is a
# malformed header rather than a ValueError from int().
_HUNK_RE = re.compile(r"^@@ -(\d{1,18})(?:,(\d{1,18}))? \+(\d{1,18})(?:,(\d{1,18}))? @@[ ]?(.*)")
_DEV_NULL = "/dev/null"
# The epoch as `diff -N` prints it, in UTC or in a timezone west of it.
_EPOCH_RE = re.compile(r"\t(1970-01-01|1969-12-31)[ T]")
# Source/target prefix pairs git writes: default, mnemonic (diff.mnemonicPrefix) and --no-index.
_PREFIX_PAIRS = {("a/", "b/"), ("c/", "w/"), ("c/", "i/"), ("i/", "w/"), ("o/", "w/"), ("1/", "2/")}
_GIT_STARTS = ("diff --git ", "diff --cc ", "diff --combined ")
_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}
_UNKNOWN_PATH = "<unknown>"


class _State(Enum):
    OUTSIDE = 0  # preamble or junk between files (commit messages, `diff -r` command lines…)
    HEADER = 1  # inside a file's header, before its first hunk
    AFTER = 2  # right after a complete hunk of the current file
    SKIP = 3  # ignoring lines until the next file (binary patch data, broken or unsupported file)


@dataclass
class _Segment:
    """The lines of one file of the diff, cut out before any parsing of its own."""

    kind: str  # "git", "plain" or "binary" (a bare "Binary files … differ" line)
    header: list[str] = field(default_factory=list)
    hunks: list[Hunk] = field(default_factory=list)
    body: list[str] = field(default_factory=list)  # raw hunk lines, for unidiff's cross-check
    last_hunk: str = ""
    problem: str | None = None
    binary: bool = False


def parse_diff(data: bytes | str) -> tuple[Diff, list[SkippedFile]]:
    """Parse ``git diff`` or ``diff -u`` output.

    Returns the files that parsed and, in diff order, the files that did not (with the reason).
    Empty input is an empty diff; non-empty input without any file header raises
    :class:`DiffError` because the caller was almost certainly given the wrong file.
    """
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        return Diff(files=[]), []
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")  # not splitlines(): \x0b, \x1c, \u2028… are content, not line ends
    if lines[-1] == "":
        lines.pop()
    elif lines[-1].endswith("\r"):
        lines[-1] = lines[-1][:-1]

    segments, saw_hunk = _split(lines)
    if not segments and "\x1b[" in text:
        raise DiffError("the input has terminal colour codes", hint="use `git diff --no-color`")
    if not segments:
        what = "hunks without file headers" if saw_hunk else "no 'diff --git' or '---'/'+++' header"
        raise DiffError(
            f"input is not a unified diff ({what}); expected `git diff` or `diff -u` output"
        )
    _cross_check(segments)
    built = [_build(seg) for seg in segments]
    files = [b for b in built if isinstance(b, FileDiff)]
    return Diff(files=files), [b for b in built if isinstance(b, SkippedFile)]


# --------------------------------------------------------------------------- splitting


def _split(lines: list[str]) -> tuple[list[_Segment], bool]:
    """Cut the diff into per-file segments, reading hunks and validating their counts on the way.

    Returns the segments and whether a hunk header was seen outside any file (for the error text).
    """
    segments: list[_Segment] = []
    seg: _Segment | None = None
    state = _State.OUTSIDE
    blank_after = False
    saw_orphan_hunk = False
    n = len(lines)
    i = 0
    while i < n:
        line = lines[i]
        if line.startswith(_GIT_STARTS):
            seg = _Segment(kind="git", header=[line])
            segments.append(seg)
            if line.startswith("diff --git "):
                state = _State.HEADER
            else:
                seg.problem = "combined (merge) diffs are not supported"
                state = _State.SKIP
            i += 1
            continue
        if state is not _State.HEADER and _plain_start(lines, i):
            seg = _Segment(kind="plain", header=[lines[i], lines[i + 1]])
            segments.append(seg)
            state = _State.HEADER
            i += 2
            continue

        if seg is not None and state in (_State.HEADER, _State.AFTER) and line.startswith("@@"):
            i, state = _read_hunk(seg, lines, i)
            blank_after = False
            continue
        if state is _State.HEADER and seg is not None:
            if line == "GIT binary patch":
                seg.binary = True
                state = _State.SKIP
            else:
                seg.binary = seg.binary or _is_binary_line(line)
                seg.header.append(line)
        elif state is _State.AFTER and seg is not None:
            if line.startswith("\\"):
                pass
            elif not line:
                blank_after = True
            elif line in ("-- ", "--"):  # format-patch signature
                state = _State.OUTSIDE
            elif line[0] in "+- " and not blank_after:
                seg.problem = f"hunk '{_short(seg.last_hunk)}' has more lines than its header says"
                state = _State.SKIP
            else:
                state = _State.OUTSIDE
                continue  # re-read: it may be a bare "Binary files" line
        elif state is _State.OUTSIDE:
            if _is_binary_line(line):
                seg = _Segment(kind="binary", header=[line], binary=True)
                segments.append(seg)
            elif line.startswith("@@ -"):
                saw_orphan_hunk = True
        i += 1
    return segments, saw_orphan_hunk


def _read_hunk(seg: _Segment, lines: list[str], i: int) -> tuple[int, _State]:
    """Read the hunk whose header is ``lines[i]`` into ``seg``; return the next index and state.

    This is the hot loop of the parser (one pass, one DiffLine per line), so it is written flat.
    """
    header = lines[i]
    m = _HUNK_RE.match(header)
    if m is None:
        seg.problem = f"malformed hunk header '{_short(header)}'"
        return i + 1, _State.SKIP
    old_no, new_no = int(m.group(1)), int(m.group(3))
    old_len = 1 if m.group(2) is None else int(m.group(2))
    new_len = 1 if m.group(4) is None else int(m.group(4))
    hunk = Hunk(old_no, old_len, new_no, new_len, m.group(5))
    seg.hunks.append(hunk)
    seg.last_hunk = header
    body = seg.body
    body.append(header)
    out = hunk.lines.append
    old_left, new_left = old_len, new_len
    n = len(lines)
    first = i
    i += 1
    while (old_left or new_left) and i < n:
        line = lines[i]
        c = line[:1]
        if c == "+":
            if not new_left:
                break
            out(DiffLine("+", line[1:], None, new_no))
            new_no += 1
            new_left -= 1
        elif c == "-":
            if not old_left:
                break
            out(DiffLine("-", line[1:], old_no, None))
            old_no += 1
            old_left -= 1
        elif c == " " or not line:
            if not old_left or not new_left:
                break
            out(DiffLine(" ", line[1:], old_no, new_no))
            old_no += 1
            new_no += 1
            old_left -= 1
            new_left -= 1
        elif c == "\\":  # "\ No newline at end of file" (any locale): not a line
            i += 1
            continue
        else:  # the hunk stops before its header's counts: truncated or lying header
            seg.problem = f"hunk '{_short(header)}' has fewer lines than its header says"
            if i - 2 > first and _plain_start(lines, i - 2):
                i -= 2  # it swallowed the next file's "---"/"+++" header as body lines
            return i, _State.SKIP  # re-read this line as a possible file start
        body.append(line)
        i += 1
    else:
        if old_left or new_left:
            seg.problem = f"diff ends inside hunk '{_short(header)}' (truncated)"
            return i, _State.SKIP
        return i, _State.AFTER
    seg.problem = f"hunk '{_short(header)}' has more lines than its header says"
    return i, _State.SKIP


def _plain_start(lines: list[str], i: int) -> bool:
    """``---``, ``+++`` then ``@@``: the start of a file in plain ``diff -u`` style.

    Requiring the hunk header as well keeps a stray ``--- `` line in a commit message or a
    removed-lines run of a broken hunk from being taken for a file.
    """
    return (
        lines[i].startswith("--- ")
        and i + 2 < len(lines)
        and lines[i + 1].startswith("+++ ")
        and lines[i + 2].startswith("@@ -")
    )


def _is_binary_line(line: str) -> bool:
    return line.startswith("Binary files ") and line.endswith(" differ")


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- building files


@dataclass
class _Header:
    old: str | None = None
    new: str | None = None
    status: FileStatus = FileStatus.MODIFIED
    old_mode: str | None = None
    new_mode: str | None = None


def _build(seg: _Segment) -> FileDiff | SkippedFile:
    head = _read_header(seg)
    path = (head.old if head.status is FileStatus.DELETED else head.new) or head.new or head.old
    if seg.problem is not None or not path:
        reason = seg.problem or "no file name in the file header"
        return SkippedFile(path or _UNKNOWN_PATH, f"could not parse diff: {reason}")
    moved = head.status in (FileStatus.RENAMED, FileStatus.COPIED)
    hunks = [] if seg.binary else seg.hunks
    old_path = head.old if moved else None
    return FileDiff(path, head.status, old_path, seg.binary, head.old_mode, head.new_mode, hunks)


def _read_header(seg: _Segment) -> _Header:
    """Paths, status and modes from the header lines.

    Trust order for paths: ``rename``/``copy`` lines (exact, unprefixed), then ``---``/``+++``
    (git adds a tab after names with spaces, so they are exact), then the ``diff --git`` line
    (ambiguous with spaces), then a ``Binary files`` line.
    """
    h = _Header()
    header_old = header_new = None
    moved_from = moved_to = None
    src = dst = None
    binary_names: tuple[str, str] | None = None
    for line in seg.header:
        if line.startswith("diff --git "):
            header_old, header_new = _split_git_names(line[len("diff --git ") :])
        elif line.startswith(("diff --cc ", "diff --combined ")):
            header_new = _unquote(line.split(" ", 2)[2])
        elif line.startswith("--- "):
            src = _unquote(line[4:].split("\t", 1)[0])
        elif line.startswith("+++ "):
            dst = _unquote(line[4:].split("\t", 1)[0])
        elif line.startswith("new file mode "):
            h.status, h.new_mode = FileStatus.ADDED, line[14:].strip()
        elif line.startswith("deleted file mode "):
            h.status, h.old_mode = FileStatus.DELETED, line[18:].strip()
        elif line.startswith("old mode "):
            h.old_mode = line[9:].strip()
        elif line.startswith("new mode "):
            h.new_mode = line[9:].strip()
        elif line.startswith(("rename from ", "rename old ", "copy from ")):
            moved_from = _unquote(line.split(" ", 2)[2])
            h.status = FileStatus.COPIED if line.startswith("copy") else FileStatus.RENAMED
        elif line.startswith(("rename to ", "rename new ", "copy to ")):
            moved_to = _unquote(line.split(" ", 2)[2])
        elif line.startswith("index "):
            parts = line.split()
            if len(parts) == 3 and parts[2].isdigit():
                h.old_mode = h.old_mode or parts[2]
                h.new_mode = h.new_mode or parts[2]
        elif _is_binary_line(line):
            binary_names = _split_binary_names(line)

    if src == _DEV_NULL:
        h.status = FileStatus.ADDED
    elif dst == _DEV_NULL:
        h.status = FileStatus.DELETED
    if binary_names is not None and src is None and dst is None:
        src, dst = binary_names
        if seg.kind == "binary" and src == _DEV_NULL:
            h.status = FileStatus.ADDED
        elif seg.kind == "binary" and dst == _DEV_NULL:
            h.status = FileStatus.DELETED

    # The `diff --git` line always carries both prefixes (also for new and deleted files), so when
    # it can be read it decides alone: under --no-prefix, "+++ b/x" is a file in a directory "b".
    known = seg.kind == "git" and header_old is not None
    pair = _prefixes(header_old, header_new) if known else _prefixes(src, dst)
    pair = pair or ("", "")
    if header_old is not None and header_new is not None:
        header_old, header_new = _drop(header_old, pair[0]), _drop(header_new, pair[1])
    src_name = _drop(src, pair[0]) if src not in (None, _DEV_NULL) else None
    dst_name = _drop(dst, pair[1]) if dst not in (None, _DEV_NULL) else None
    h.old = moved_from or src_name or header_old
    h.new = moved_to or dst_name or header_new
    if seg.kind == "plain" and h.status is FileStatus.MODIFIED and len(seg.hunks) == 1:
        # `diff -N` shows a missing side as an epoch timestamp and a "-0,0"/"+0,0" range; an
        # empty file that gains lines also has "-0,0", but a real timestamp.
        hunk = seg.hunks[0]
        if hunk.old_start == hunk.old_len == 0 and _EPOCH_RE.search(seg.header[0]):
            h.status = FileStatus.ADDED
        elif hunk.new_start == hunk.new_len == 0 and _EPOCH_RE.search(seg.header[1]):
            h.status = FileStatus.DELETED
    return h


def _cross_check(segments: list[_Segment]) -> None:
    """Have unidiff re-read every hunk and agree with what we built, file by file.

    Defence in depth for the state machine above: a file whose hunks unidiff rejects, or reads
    differently (positions, added/removed counts), is skipped rather than reviewed wrongly.
    Our pass already built the lines, so unidiff runs with ``metadata_only`` (no per-line
    objects) over the whole diff at once, and file by file only when that fails.
    """
    todo = [s for s in segments if s.problem is None and s.hunks and not s.binary]
    if not todo:
        return
    try:
        patch = unidiff.PatchSet(_feed(todo), metadata_only=True)
        if len(patch) == len(todo) and all(map(_agrees, todo, patch)):
            return
    except unidiff.UnidiffParseError:
        pass
    for seg in todo:
        try:
            patch = unidiff.PatchSet(_feed([seg]), metadata_only=True)
        except unidiff.UnidiffParseError as exc:
            seg.problem = _short(str(exc).split("\n", 1)[0] or type(exc).__name__, 80)
            continue
        if len(patch) != 1 or not _agrees(seg, patch[0]):
            seg.problem = "hunks read inconsistently (unidiff disagrees)"


def _agrees(seg: _Segment, patched: unidiff.PatchedFile) -> bool:
    ours = [
        (h.old_start, h.old_len, h.new_start, h.new_len, sum(ln.kind == "+" for ln in h.lines))
        for h in seg.hunks
    ]
    theirs = [
        (u.source_start, u.source_length, u.target_start, u.target_length, u.added) for u in patched
    ]
    return ours == theirs


def _feed(segments: list[_Segment]) -> Iterator[str]:
    # Neutral file headers: paths were read from the real headers already, so unidiff's own path
    # guessing never sees (and never fails on) quoted names or names with spaces.
    for seg in segments:
        yield "--- a\n"
        yield "+++ b\n"
        for line in seg.body:
            yield line + "\n"


# --------------------------------------------------------------------------- paths


def _split_git_names(rest: str) -> tuple[str | None, str | None]:
    """The two names of a ``diff --git`` line (possibly C-quoted, possibly with spaces)."""
    if rest.startswith('"'):
        old, end = _take_quoted(rest)
        tail = rest[end:]
        if old is None or not tail.startswith(" "):
            return None, None
        return old, _unquote(tail[1:])
    if rest.endswith('"'):
        k = rest.find(' "')
        return (rest[:k], _unquote(rest[k + 1 :])) if k > 0 else (None, None)
    half = len(rest) // 2
    if len(rest) % 2 == 1 and rest[half] == " " and _same_file(rest[:half], rest[half + 1 :]):
        return rest[:half], rest[half + 1 :]
    parts = rest.split(" ")
    if len(parts) == 2:
        return parts[0], parts[1]
    k = rest.find(" b/")
    if rest.startswith("a/") and k > 0 and rest.find(" b/", k + 1) < 0:
        return rest[:k], rest[k + 1 :]
    return None, None  # a rename with spaces: the rename lines will name it


def _split_binary_names(line: str) -> tuple[str, str] | None:
    body = line[len("Binary files ") : -len(" differ")]
    splits = [(body[:i], body[i + 5 :]) for i in range(len(body)) if body.startswith(" and ", i)]
    if not splits:
        return None
    # " and " may be part of a name: prefer the split whose two names agree, as git writes them.
    old, new = next((s for s in splits if _same_file(*s)), splits[0])
    return _unquote(old), _unquote(new)


def _same_file(old: str, new: str) -> bool:
    """Whether two header names can be one file (equal but for an ``a/``-``b/`` style prefix)."""
    return (
        old == new
        or _DEV_NULL in (old, new)
        or (old[1:2] == new[1:2] == "/" and old[2:] == new[2:])
    )


def _prefixes(old: str | None, new: str | None) -> tuple[str, str] | None:
    """The ``a/``-``b/`` style prefix pair in use, judged from both names together."""
    if old is None or new is None:
        return None
    if old == _DEV_NULL:
        return ("", "b/") if new.startswith("b/") else None
    if new == _DEV_NULL:
        return ("a/", "") if old.startswith("a/") else None
    pair = (old[:2], new[:2])
    return pair if pair in _PREFIX_PAIRS else None


def _drop(name: str | None, prefix: str) -> str | None:
    if name is None or not prefix or not name.startswith(prefix):
        return name
    return name[len(prefix) :]


def _unquote(name: str) -> str:
    """Undo git's C-style quoting (``"caf\\303\\251.txt"``); unquoted names pass through."""
    if len(name) >= 2 and name.startswith('"') and name.endswith('"'):
        value, end = _take_quoted(name)
        if value is not None and end == len(name):
            return value
    return name


def _take_quoted(text: str) -> tuple[str | None, int]:
    """Decode the quoted string at the start of ``text``; return it and the index after it."""
    out = bytearray()
    i, n = 1, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            return out.decode("utf-8", errors="replace"), i + 1
        nxt = text[i + 1 : i + 2]
        octal = len(text[i + 1 : i + 4]) - len(text[i + 1 : i + 4].lstrip("01234567"))
        if c != "\\" or not nxt:
            out += c.encode("utf-8", errors="replace")
        elif nxt in _C_ESCAPES:
            out.append(_C_ESCAPES[nxt])
            i += 1
        elif octal:  # \ooo: one byte of a UTF-8 sequence
            out.append(int(text[i + 1 : i + 1 + octal], 8) & 0xFF)
            i += octal
        else:  # unknown escape: keep it as written
            out += ("\\" + nxt).encode("utf-8", errors="replace")
            i += 1
        i += 1
    return None, n
