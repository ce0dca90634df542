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
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Only the result; no progress.")]
