"""Findings as a GitLab Code Quality report (the subset of the CodeClimate format GitLab reads).

GitLab shows these in the merge request's Code Quality widget and compares the report of the
source branch with the target branch's by ``fingerprint`` to tell new issues from fixed ones, so
a fingerprint must be unique within the report and must not change when unrelated lines move.
The finding fingerprint (which hashes the line's text, not its number) gives both: the first
occurrence of a fingerprint uses it as is; a second finding with the same fingerprint on another
line (the same text repeated) gets ``<fingerprint>-2``, and so on, in file order. Exact
duplicates (same fingerprint, same lines) are reported once.

Findings about the whole change have no path; GitLab requires one, so they are reported on the
repository root, ``"."``, line 1, rather than left out: for jobs whose token cannot comment, this
report may be the only place a reviewer sees them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prbot.models import Finding, Severity

#: CodeClimate severities are info, minor, major, critical, blocker; ``blocker`` is not used
#: (prbot's gate, ``--fail-on``, is what blocks a merge request).
SEVERITIES: dict[Severity, str] = {
    Severity.INFO: "info",
    Severity.WARNING: "major",
    Severity.ERROR: "critical",
}
#: The location of findings about the whole change.
CHANGE_PATH = "."


def to_codequality(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """One Code Quality issue per distinct finding, in the order given."""
    seen: set[tuple[str, str, int, int | None]] = set()
    occurrences: dict[str, int] = {}
    items: list[dict[str, Any]] = []
    for f in findings:
        path = report_path(f.path)
        begin = f.line if f.line is not None and f.line >= 1 else 1
        end = f.end_line if f.line is not None and f.end_line and f.end_line > begin else None
        fp = f.fingerprint
        key = (fp, path, begin, end)
        if key in seen:
            continue
        seen.add(key)
        occurrences[fp] = occurrences.get(fp, 0) + 1
        n = occurrences[fp]
        lines: dict[str, int] = {"begin": begin}
        if end is not None:
            lines["end"] = end
        rule = f.rule.strip() or "unknown"
        items.append(
            {
                "type": "issue",
                "engine_name": "prbot",
                "check_name": rule,
                "description": f.message.strip() or rule,
                "fingerprint": fp if n == 1 else f"{fp}-{n}",
                "severity": SEVERITIES[f.severity],
                "location": {"path": path, "lines": lines},
            }
        )
    return items


def write_codequality(path: Path | str, items: Sequence[dict[str, Any]]) -> Path:
    """Write the report atomically (UTF-8, no BOM): GitLab rejects a half-written artifact."""
    from prbot.reports import write_json_atomic

    return write_json_atomic(Path(path), list(items))


def report_path(path: str) -> str:
    """Repository-relative, forward slashes, no leading ``./`` or ``/`` (GitLab matches it to the diff)."""
    p = path.replace("\\", "/").strip()
    while p.startswith("./"):
        p = p[2:]
    p = p.lstrip("/")
    return p or CHANGE_PATH
