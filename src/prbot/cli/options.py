"""Option declarations shared by several commands, so every command spells them the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

ConfigOpt = Annotated[
    Optional[Path],  # noqa: UP045  (evaluated at import: keep the 3.10-safe spelling)
    typer.Option(
        "--config",
        "-c",
        help="Path to .prbot.yml (default: found from the repository root).",
        envvar="PRBOT_CONFIG",
        show_envvar=True,
    ),
]
JsonOpt = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON document on stdout instead of the terminal view."),
]
NoColorOpt = Annotated[
    bool, typer.Option("--no-color", help="Plain output (also honoured: NO_COLOR).")
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="More detail on stderr.")]
SarifOpt = Annotated[
    Optional[Path],  # noqa: UP045  (evaluated at import: keep the 3.10-safe spelling)
    typer.Option("--sarif", help="Also write the findings as SARIF 2.1.0 to this file."),
]
CodeQualityOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--codequality", help="Also write a GitLab Code Quality report to this file."),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Only the result; no progress.")]


FAIL_ON_LEVELS = ("error", "warning", "never")


def check_fail_on(value: str) -> str:
    """``--fail-on`` is validated here so every command words the error the same way."""
    if value not in FAIL_ON_LEVELS:
        from prbot.errors import UsageError

        raise UsageError(f"--fail-on must be error, warning or never (got {value!r})")
    return value


def write_reports_for(result, sarif: Path | None, codequality: Path | None) -> None:
    """Write the requested native reports (SARIF, Code Quality) from a run's findings."""
    if result is None or (sarif is None and codequality is None):
        return
    from prbot import __version__
    from prbot.reports import write_reports

    write_reports(
        result.all_findings, sarif=sarif, codequality=codequality, tool_version=__version__
    )
