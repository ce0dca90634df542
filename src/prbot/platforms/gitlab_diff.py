"""GitLab diff shapes: a unified diff from ``/diffs`` items, and ``position`` anchors from a diff.

Pure functions (no I/O). GitLab's ``/diffs`` items carry only hunks, so the git headers are added
back for prbot's parser; an item without a renderable diff (binary, or over the instance's limits)
becomes a ``Binary files … differ`` entry, which the parser reports as skipped rather than lost.

A discussion ``position`` must say which side a line is on the way GitLab indexes it: ``new_line``
for an added line, ``old_line`` for a removed one, and *both* for a context line (they differ once
an earlier hunk shifts lines). Only the parsed diff knows the old number of a context line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prbot.diff.model import Diff, FileDiff

_NEEDS_QUOTE = frozenset('"\\\n\t\r')


@dataclass(frozen=True)
class DiffRefs:
    """The three SHAs every ``position`` must carry (the latest diff version's)."""

    base_sha: str
    start_sha: str
    head_sha: str


def _quote(name: str) -> str:
    """A path as git writes it in headers: C-quoted only if it holds a quote, backslash or control."""
    if not any(c in _NEEDS_QUOTE or ord(c) < 0x20 for c in name):
        return name
    escaped = (
        name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    )
    escaped = "".join(c if ord(c) >= 0x20 else f"\\{ord(c):03o}" for c in escaped)
    return f'"{escaped}"'


def _mode(value: Any) -> str | None:
    text = str(value or "")
    return text if text.isdigit() and text.strip("0") else None


def synthesise_diff(items: Iterable[Mapping[str, Any]]) -> bytes:
    """A unified diff from GitLab ``/diffs`` items (``generated_file`` is ignored on purpose)."""
    out: list[str] = []
    for item in items:
        new = str(item.get("new_path") or item.get("old_path") or "")
        old = str(item.get("old_path") or new)
        if not new:
            continue
        a_name, b_name = _quote(f"a/{old}"), _quote(f"b/{new}")
        out.append(f"diff --git {a_name} {b_name}\n")
        a_mode, b_mode = _mode(item.get("a_mode")), _mode(item.get("b_mode"))
        if item.get("new_file"):
            out.append(f"new file mode {b_mode or '100644'}\n")
            a_name = "/dev/null"
        elif item.get("deleted_file"):
            out.append(f"deleted file mode {a_mode or '100644'}\n")
            b_name = "/dev/null"
        else:
            if a_mode and b_mode and a_mode != b_mode:
                out.append(f"old mode {a_mode}\nnew mode {b_mode}\n")
            if item.get("renamed_file") and old != new:
                out.append(f"rename from {_quote(old)}\nrename to {_quote(new)}\n")
        text = item.get("diff")
        text = text if isinstance(text, str) else ""
        if text.startswith("--- ") or text.startswith("Binary files "):
            out.append(text if text.endswith("\n") else text + "\n")  # unidiff=true shape
        elif text.startswith("@@"):
            out.append(f"--- {a_name}\n+++ {b_name}\n")
            out.append(text if text.endswith("\n") else text + "\n")
        elif (
            not _hidden(item)
            and not item.get("new_file")
            and not item.get("deleted_file")
            and (item.get("renamed_file") or (a_mode and b_mode and a_mode != b_mode))
        ):
            continue  # a pure rename or mode change has no content to show
        else:
            # Binary, over the instance's limits, or an (ambiguous) empty added/deleted file.
            out.append(f"Binary files {a_name} and {b_name} differ\n")
    return "".join(out).encode("utf-8")


def _hidden(item: Mapping[str, Any]) -> bool:
    return bool(item.get("too_large") or item.get("collapsed"))


def _file(diff: Diff, path: str) -> FileDiff | None:
    found = diff.file(path)
    if found is None:
        found = next((f for f in diff.files if f.old_path == path), None)
    return found


def position_for(
    diff: Diff, refs: DiffRefs, path: str, line: int, side: str = "RIGHT"
) -> dict[str, Any] | None:
    """The ``position`` for a comment on ``line`` of ``path``, or ``None`` if it is not on the diff.

    ``side`` ``RIGHT`` means a new-side line number (added or context), ``LEFT`` an old-side one
    (removed or context).
    """
    fd = _file(diff, path)
    if fd is None:
        return None
    for hunk in fd.hunks:
        for ln in hunk.lines:
            if side == "LEFT":
                if ln.old_no != line or ln.kind == "+":
                    continue
            elif ln.new_no != line or ln.kind == "-":
                continue
            pos: dict[str, Any] = {
                "position_type": "text",
                "base_sha": refs.base_sha,
                "start_sha": refs.start_sha,
                "head_sha": refs.head_sha,
                "old_path": fd.old_path or fd.path,
                "new_path": fd.path,
            }
            if ln.kind in (" ", "+"):
                pos["new_line"] = ln.new_no
            if ln.kind in (" ", "-"):
                pos["old_line"] = ln.old_no
            return pos
    return None
