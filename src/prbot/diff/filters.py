"""Which files of a diff go to the reviewers that read code, and why the others do not.

Every file left out comes back as a :class:`SkippedFile` with a reason a user can act on (turn
off default excludes, change an ignore pattern, raise a size limit), because a file that silently
vanishes from a review looks like a file that was reviewed and found fine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from prbot.diff.model import Diff, FileDiff
from prbot.models import SkippedFile

__all__ = ["DEFAULT_EXCLUDES", "filter_diff", "is_generated", "match_glob"]

_LOCK = "lock file"
_VENDORED = "vendored"
_GENERATED = "generated"

#: Files nobody reviews line by line: (glob, reason). Matched with :func:`match_glob`.
DEFAULT_EXCLUDES: tuple[tuple[str, str], ...] = (
    ("**/package-lock.json", _LOCK),
    ("**/yarn.lock", _LOCK),
    ("**/pnpm-lock.yaml", _LOCK),
    ("**/poetry.lock", _LOCK),
    ("**/Pipfile.lock", _LOCK),
    ("**/uv.lock", _LOCK),
    ("**/Cargo.lock", _LOCK),
    ("**/go.sum", _LOCK),
    ("**/composer.lock", _LOCK),
    ("**/Gemfile.lock", _LOCK),
    ("vendor/", _VENDORED),
    ("third_party/", _VENDORED),
    ("node_modules/", _VENDORED),
    ("*.min.js", _GENERATED),
    ("*.min.css", _GENERATED),
    ("*_pb2.py", _GENERATED),
    ("*_pb2_grpc.py", _GENERATED),
    ("*.pb.go", _GENERATED),
    ("*.generated.*", _GENERATED),
)

_GENERATED_MARKERS = ("@generated", "DO NOT EDIT")
#: A marker counts when it is on one of the first lines of the new file…
_MARKER_HEAD_LINES = 10
#: …or on one of the first added lines (a header prepended to a file that was already long).
_MARKER_FIRST_ADDED = 5


def filter_diff(
    diff: Diff,
    *,
    ignore: Sequence[str] = (),
    exclude: Sequence[str] = (),
    use_default_excludes: bool = True,
    max_file_lines: int | None = None,
) -> tuple[Diff, list[SkippedFile]]:
    """Split ``diff`` into the files to review and the skipped ones (in diff order).

    Pure: the input diff is not modified and the kept :class:`FileDiff` objects are shared. Files
    without hunks that are not binary (pure renames, mode changes) and deleted files are kept; the
    caller decides what to do with them. ``ignore`` comes from the config, ``exclude`` from the
    command line; when several rules match, the user's own choice is the reason shown.
    """
    kept: list[FileDiff] = []
    skipped: list[SkippedFile] = []
    for f in diff.files:
        reason = _skip_reason(f, ignore, exclude, use_default_excludes, max_file_lines)
        if reason is None:
            kept.append(f)
        else:
            skipped.append(SkippedFile(f.path, reason))
    return Diff(files=kept), skipped


def _skip_reason(
    f: FileDiff,
    ignore: Sequence[str],
    exclude: Sequence[str],
    use_default_excludes: bool,
    max_file_lines: int | None,
) -> str | None:
    parts = _parts(f.path)
    for pattern in exclude:
        if _glob(pattern).match(parts):
            return f"excluded by --exclude ({pattern})"
    for pattern in ignore:
        if _glob(pattern).match(parts):
            return f"ignored by config ({pattern})"
    if f.is_binary:
        return "binary file"
    if use_default_excludes:
        for pattern, reason in DEFAULT_EXCLUDES:
            if _glob(pattern).match(parts):
                return reason
        if is_generated(f):
            return "generated (marked @generated)"
    if max_file_lines is not None:
        changed = f.additions + f.deletions
        if changed > max_file_lines:
            return f"too large ({changed} changed lines > {max_file_lines})"
    return None


def is_generated(f: FileDiff) -> bool:
    """Whether the visible head of the new file, or its first added lines, say "generated".

    Context lines in the head count too: a one-line fix to a generated file shows the
    generator's banner as context, and that file is still not for line-by-line review.
    """
    added = 0
    for h in f.hunks:
        for ln in h.lines:
            if ln.kind == "-":
                continue
            in_head = ln.new_no is not None and ln.new_no <= _MARKER_HEAD_LINES
            if ln.kind == "+":
                added += 1
            early = ln.kind == "+" and added <= _MARKER_FIRST_ADDED
            if (in_head or early) and any(m in ln.text for m in _GENERATED_MARKERS):
                return True
            if not in_head and added >= _MARKER_FIRST_ADDED:
                return False  # lines come in file order: nothing later can count
    return False


def match_glob(path: str, pattern: str) -> bool:
    """gitignore-style match of a repository-relative ``path``.

    ``*`` and ``?`` never cross a ``/``; ``**`` spans any number of directories (also none). A
    pattern without a ``/`` matches any single path component (the file name, or a directory
    name: ``node_modules`` covers everything below it), at any depth. A pattern with a ``/``
    is anchored at the repository root (a leading ``/`` is allowed) and also matches everything
    below a directory it names. A trailing ``/`` restricts the pattern to directories, so
    ``vendor/`` matches ``vendor/x.go`` and ``a/vendor/b/x.go`` but not a file named ``vendor``.
    """
    return _glob(pattern).match(_parts(path))


def _parts(path: str) -> list[str]:
    path = path.removeprefix("./").lstrip("/")
    return path.split("/") if path else []


@dataclass(frozen=True)
class _Glob:
    """A compiled pattern. Plain names are set lookups: most patterns (lock files, vendor
    directories) have no wildcard, and a diff of thousands of files meets every one of them."""

    anchored: bool
    dir_only: bool
    literal: str | None
    rx: re.Pattern[str] | None

    def match(self, parts: list[str]) -> bool:
        end = len(parts) - 1 if self.dir_only else len(parts)  # directories only: not the name
        rx = self.rx
        if rx is None:
            return self.literal is not None and self.literal in parts[:end]
        if not self.anchored:
            return any(rx.fullmatch(c) for c in parts[:end])
        # The path itself (a file), or one of its leading directories.
        return any(rx.fullmatch("/".join(parts[:k])) for k in range(1, end + 1))


@lru_cache(maxsize=512)
def _glob(pattern: str) -> _Glob:
    dir_only = pattern.endswith("/")
    pat = pattern.removeprefix("./").rstrip("/").lstrip("/")
    while pat.startswith("**/") and "/" not in pat[3:]:  # "**/name" is just "name"
        pat = pat[3:]
    if not pat:
        return _Glob(False, dir_only, None, None)
    if "/" not in pat:
        literal = None if any(c in pat for c in "*?[") else pat
        return _Glob(False, dir_only, literal, None if literal else _compile(pat))
    return _Glob(True, dir_only, None, _compile(pat))


@lru_cache(maxsize=512)
def _compile(pattern: str, classes: bool = True) -> re.Pattern[str]:
    """Glob → regex (``fnmatch`` lets ``*`` cross ``/``, which gitignore does not).

    A ``[...]`` class that is not a valid regex class (``[z-a]``, ``[!]``) is taken literally
    rather than failing: a bad ignore pattern should not stop a review.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*" and pattern.startswith("**", i) and (i == 0 or pattern[i - 1] == "/"):
            if i + 2 == n:  # trailing "**": everything below
                out.append(".*")
                i += 2
                continue
            if pattern[i + 2] == "/":  # "**/": zero or more directories
                out.append("(?:[^/]*/)*")
                i += 3
                continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif classes and c == "[" and (end := pattern.find("]", i + 2)) > 0:
            body = pattern[i + 1 : end]
            negate = body[0] in "!^"
            body = (
                (body[1:] if negate else body)
                .replace("\\", "\\\\")
                .replace("^", "\\^")
                .replace("[", "\\[")
            )
            out.append(f"(?!/)[^{body}]" if negate else f"[{body}]")
            i = end + 1
            continue
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error:
        return _compile(pattern, classes=False)
