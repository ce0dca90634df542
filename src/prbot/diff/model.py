"""The parsed-diff model every other layer reads.

It is independent of unidiff (which :mod:`prbot.diff.parse` uses underneath) so that reviewers,
chunkers and platform adapters depend on our small types only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class FileStatus(str, Enum):
    ADDED = "added"
    DELETED = "deleted"
    MODIFIED = "modified"
    RENAMED = "renamed"
    COPIED = "copied"


@dataclass(frozen=True)
class DiffLine:
    """One line of a hunk. ``kind`` is ``"+"``, ``"-"`` or ``" "`` (context)."""

    kind: str
    text: str
    old_no: int | None
    new_no: int | None


@dataclass
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    section: str = ""
    lines: list[DiffLine] = field(default_factory=list)


@dataclass
class FileDiff:
    """One file of a diff.

    ``path`` is the new path (the old path for a deleted file); ``old_path`` is set when it differs
    (renames, copies). Binary files and mode-only changes have no hunks.
    """

    path: str
    status: FileStatus = FileStatus.MODIFIED
    old_path: str | None = None
    is_binary: bool = False
    old_mode: str | None = None
    new_mode: str | None = None
    hunks: list[Hunk] = field(default_factory=list)

    @property
    def mode_changed(self) -> bool:
        return bool(self.old_mode and self.new_mode and self.old_mode != self.new_mode)

    @property
    def additions(self) -> int:
        return sum(1 for h in self.hunks for ln in h.lines if ln.kind == "+")

    @property
    def deletions(self) -> int:
        return sum(1 for h in self.hunks for ln in h.lines if ln.kind == "-")

    def added_lines(self) -> list[tuple[int, str]]:
        """``(new line number, text)`` of every added line, in order."""
        return [
            (ln.new_no, ln.text)
            for h in self.hunks
            for ln in h.lines
            if ln.kind == "+" and ln.new_no is not None
        ]

    def commentable_lines(self) -> frozenset[int]:
        """New-side line numbers a forge accepts an inline comment on (added or context lines)."""
        return frozenset(
            ln.new_no
            for h in self.hunks
            for ln in h.lines
            if ln.kind != "-" and ln.new_no is not None
        )

    def line_text(self, new_no: int) -> str | None:
        """Text of a new-side line if it appears in the diff."""
        for h in self.hunks:
            for ln in h.lines:
                if ln.new_no == new_no and ln.kind != "-":
                    return ln.text
        return None


@dataclass
class Diff:
    files: list[FileDiff] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.files

    @property
    def additions(self) -> int:
        return sum(f.additions for f in self.files)

    @property
    def deletions(self) -> int:
        return sum(f.deletions for f in self.files)

    def file(self, path: str) -> FileDiff | None:
        for f in self.files:
            if f.path == path:
                return f
        return None
