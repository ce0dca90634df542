"""Text GitHub needs from us in particular shapes: check/status limits, diffs from file lists.

Kept apart from the adapter because these are pure functions with their own edge cases (multi-byte
truncation, renamed and binary files in a synthesised diff) and their own tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: Check-run ``output.summary`` / ``output.text`` limit.
MAX_CHECK_TEXT = 65_535
#: Commit status ``description`` limit (longer is a 422).
MAX_STATUS_DESCRIPTION = 140


def synthesise_diff(files: Iterable[Mapping[str, Any]]) -> bytes:
    """A unified diff rebuilt from "list pull request files" items.

    Used when GitHub refuses the whole diff (406 ``too_large``). ``patch`` holds only hunks, so the
    git headers are added back; a file without ``patch`` (binary or too big for GitHub to render)
    becomes a ``Binary files … differ`` entry, which the parser reports as skipped, not lost.
    """
    out: list[str] = []
    for item in files:
        new = str(item.get("filename") or "")
        if not new:
            continue
        status = str(item.get("status") or "modified")
        old = str(item.get("previous_filename") or new)
        patch = item.get("patch")
        out.append(f"diff --git a/{old} b/{new}\n")
        a_name, b_name = f"a/{old}", f"b/{new}"
        if status == "added":
            out.append("new file mode 100644\n")
            a_name = "/dev/null"
        elif status == "removed":
            out.append("deleted file mode 100644\n")
            b_name = "/dev/null"
        elif status in ("renamed", "copied") and old != new:
            verb = "rename" if status == "renamed" else "copy"
            out.append(f"{verb} from {old}\n{verb} to {new}\n")
        if isinstance(patch, str) and patch:
            out.append(f"--- {a_name}\n+++ {b_name}\n")
            out.append(patch if patch.endswith("\n") else patch + "\n")
        elif status in ("renamed", "copied") and not item.get("changes"):
            continue  # a pure rename has no content change to show
        else:
            out.append(f"Binary files {a_name} and {b_name} differ\n")
    return "".join(out).encode("utf-8")
