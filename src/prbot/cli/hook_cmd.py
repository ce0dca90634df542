"""``prbot hook install | uninstall``: a git pre-push hook that reviews before pushing."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Annotated

import typer

from prbot.cli.options import check_fail_on

app = typer.Typer(help="Install prbot as a git pre-push hook.", no_args_is_help=True)

MARKER = "# installed by prbot hook install"


def hook_script(fail_on: str, model: str | None) -> str:
    model_arg = f" --model {model}" if model else ""
    return f"""#!/bin/sh
{MARKER}
# Reviews the branch being pushed; blocks the push on findings at or above --fail-on.
# Skip once with: git push --no-verify
command -v prbot >/dev/null 2>&1 || {{ echo "prbot not found on PATH; skipping review" >&2; exit 0; }}
exec prbot review --fail-on {fail_on}{model_arg} --quiet
"""


def _hooks_dir() -> Path:
    from prbot.platforms.local import hooks_dir

    return hooks_dir(Path.cwd())


@app.command("install")
def install(
    fail_on: Annotated[
        str, typer.Option("--fail-on", help="Block the push on findings at least this severe.")
    ] = "error",
    model: Annotated[
        str, typer.Option("--model", help="Reviewer for the hook (default: the configured one).")
    ] = "",
    force: Annotated[
        bool, typer.Option("--force", help="Replace a pre-push hook prbot did not write.")
    ] = False,
) -> None:
    """Write .git/hooks/pre-push so every push is reviewed first."""
    from prbot.errors import UsageError

    check_fail_on(fail_on)
    target = _hooks_dir() / "pre-push"
    if target.exists() and MARKER not in target.read_text(errors="replace") and not force:
        raise UsageError(
            f"{target} exists and was not written by prbot", hint="use --force to replace it"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(hook_script(fail_on, model or None), encoding="utf-8")
    target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    sys.stdout.write(f"installed {target} (blocks pushes with findings >= {fail_on})\n")


@app.command("uninstall")
def uninstall() -> None:
    """Remove the pre-push hook if prbot wrote it."""
    target = _hooks_dir() / "pre-push"
    if target.exists() and MARKER in target.read_text(errors="replace"):
        os.remove(target)
        sys.stdout.write(f"removed {target}\n")
    else:
        sys.stdout.write("no prbot pre-push hook installed\n")
