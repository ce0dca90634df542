"""Native report files for CI systems: SARIF 2.1.0 and GitLab Code Quality.

They are how findings reach a forge when prbot cannot write to it (GitLab's ``CI_JOB_TOKEN``, a
fork's read-only token): the CI system picks the file up as an artifact. The builders in
:mod:`prbot.reports.sarif` and :mod:`prbot.reports.codequality` are pure; the only I/O is the
atomic write here, so an upload step never reads a half-written file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prbot.errors import ExitCode, PrbotError
from prbot.models import Finding


class ReportError(PrbotError):
    """A report file could not be written (bad path, no permission, disk full)."""

    exit_code = ExitCode.USAGE


def write_json_atomic(path: Path, data: Any) -> Path:
    """Write ``data`` as UTF-8 JSON (no BOM) to a temporary file beside ``path``, then rename it.

    Creates missing parent folders. Raises :class:`ReportError` with a one-line reason.
    """
    path = Path(path)
    if path.is_dir():
        raise ReportError(f"cannot write report {path}: it is a directory")
    tmp_name: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False, sort_keys=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        raise ReportError(
            f"cannot write report {path}: {exc.strerror or exc}",
            hint="check the path given to --sarif / --codequality",
        ) from None
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
    return path


def write_reports(
    outcome_findings: Sequence[Finding],
    *,
    sarif: Path | None,
    codequality: Path | None,
    tool_version: str,
    base_uri: str | None = None,
) -> list[Path]:
    """Write the requested reports; returns the paths written (SARIF first)."""
    from prbot.reports.codequality import to_codequality, write_codequality
    from prbot.reports.sarif import to_sarif, write_sarif

    written: list[Path] = []
    if sarif is not None:
        doc = to_sarif(outcome_findings, tool_version=tool_version, base_uri=base_uri)
        written.append(write_sarif(sarif, doc))
    if codequality is not None:
        written.append(write_codequality(codequality, to_codequality(outcome_findings)))
    return written


__all__ = ["ReportError", "write_json_atomic", "write_reports"]
