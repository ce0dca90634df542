"""``prbot review``: review a change locally or from a diff file and print the findings."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer

from prbot.cli.options import (
    CodeQualityOpt,
    ConfigOpt,
    JsonOpt,
    NoColorOpt,
    QuietOpt,
    SarifOpt,
    VerboseOpt,
    check_fail_on,
    write_reports_for,
)


def review(
    diff: Annotated[
        str | None,
        typer.Option("--diff", "-d", help="Review this unified diff file; '-' reads stdin."),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            "-b",
            help="Base branch to diff against (default: origin/HEAD, else main/master).",
        ),
    ] = None,
    staged: Annotated[
        bool, typer.Option("--staged", help="Include staged (index) changes.")
    ] = False,
    working_tree: Annotated[
        bool, typer.Option("--working-tree", help="Include staged, unstaged and untracked changes.")
    ] = False,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", "-m", help="LiteLLM model string, or 'builtin' (env: PRBOT_MODEL)."
        ),
    ] = None,
    api_base: Annotated[
        str | None,
        typer.Option(
            "--api-base", help="Base URL of an OpenAI-compatible or self-hosted model endpoint."
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", "-x", help="Glob of files to skip (repeatable)."),
    ] = None,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            help="Exit 1 when a finding is at least this severe: error, warning or never.",
        ),
    ] = "never",
    config: ConfigOpt = None,
    sarif: SarifOpt = None,
    codequality: CodeQualityOpt = None,
    json_out: JsonOpt = False,
    no_color: NoColorOpt = False,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Review the current branch (or a diff file) and print the findings."""
    from prbot.app.review import ReviewOptions, run_review
    from prbot.cli.render import make_console, render_review
    from prbot.errors import UsageError

    check_fail_on(fail_on)
    if diff is not None and (staged or working_tree or base):
        raise UsageError("--diff cannot be combined with --base, --staged or --working-tree")
    no_color = no_color or bool(os.environ.get("NO_COLOR"))
    err = make_console(stderr=True, no_color=no_color)
    show_progress = not quiet and not json_out and err.is_terminal

    status = err.status("Reviewing…") if show_progress else None

    def progress(msg: str) -> None:
        if status is not None:
            status.update(msg)
        elif verbose:
            err.print(msg, style="dim")

    opts = ReviewOptions(
        diff_file=diff,
        base=base,
        staged=staged,
        working_tree=working_tree,
        model=model,
        api_base=api_base,
        exclude=list(exclude or []),
        config_path=config,
        fail_on=fail_on,  # type: ignore[arg-type]
    )
    if status is not None:
        status.start()
    try:
        outcome = run_review(opts, progress=progress)
    finally:
        if status is not None:
            status.stop()
    write_reports_for(outcome.result, sarif, codequality)
    if json_out:
        doc = outcome.to_document()
        # indent forces json's slow pure-Python encoder: only pretty-print documents of a sane size.
        indent = 2 if len(doc["findings"]) <= 300 else None
        sys.stdout.write(json.dumps(doc, indent=indent, ensure_ascii=False) + "\n")
    else:
        render_review(make_console(no_color=no_color), outcome, verbose=verbose)
    if outcome.error is not None:
        from prbot.cli.errors import error_line

        error_line(outcome.error.one_line())
    raise typer.Exit(outcome.exit_code)
