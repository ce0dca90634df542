"""``prbot run`` and ``prbot explain``: the pipeline on a pull request, from CI or a PR URL."""

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

PrOpt = Annotated[
    str | None,
    typer.Option("--pr", help="Pull/merge request URL (outside CI, or to override it)."),
]
PrNumberOpt = Annotated[
    int | None, typer.Option("--pr-number", help="PR number (e.g. for workflow_dispatch).")
]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", "-m", help="LiteLLM model string or 'builtin' (env: PRBOT_MODEL)."),
]
ApiBaseOpt = Annotated[
    str | None,
    typer.Option("--api-base", help="OpenAI-compatible or self-hosted model endpoint."),
]


def _go(
    command: str,
    pr,
    pr_number,
    config,
    model,
    api_base,
    dry_run: bool,
    fail_on: str,
    json_out: bool,
    no_color: bool,
    quiet: bool,
    verbose: bool,
    sarif=None,
    codequality=None,
) -> None:
    from prbot.app.run import RunOptions, report_to_ci, run_pipeline
    from prbot.cli.render import make_console

    check_fail_on(fail_on)
    env = dict(os.environ)
    no_color = no_color or bool(env.get("NO_COLOR"))
    err = make_console(stderr=True, no_color=no_color)
    show = not quiet and not json_out

    def progress(msg: str) -> None:
        if show and (verbose or err.is_terminal):
            err.print(msg, style="dim")

    opts = RunOptions(
        pr_url=pr,
        pr_number=pr_number,
        config_path=config,
        model=model,
        api_base=api_base,
        dry_run=dry_run,
        fail_on=fail_on,
        env=env,
        command=command,  # type: ignore[arg-type]
    )
    outcome = run_pipeline(opts, progress=progress)
    write_reports_for(outcome.result, sarif, codequality)
    for line in report_to_ci(outcome, env):
        (sys.stderr if json_out else sys.stdout).write(line + "\n")
    if json_out:
        sys.stdout.write(
            json.dumps(outcome.to_document(), indent=2, ensure_ascii=False, default=str) + "\n"
        )
    else:
        from prbot.cli.render_run import render_run

        render_run(make_console(no_color=no_color), outcome, explain=command == "explain")
    if outcome.error is not None:
        from prbot.cli.errors import error_line

        error_line(outcome.error.one_line())
    raise typer.Exit(outcome.exit_code)


def run(
    pr: PrOpt = None,
    pr_number: PrNumberOpt = None,
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Evaluate everything, write nothing to the forge.")
    ] = False,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on", help="Exit 1 on findings at least this severe: error, warning or never."
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
    """CI entry point: detect the PR, review it, apply the rules, write the results."""
    _go(
        "run",
        pr,
        pr_number,
        config,
        model,
        api_base,
        dry_run,
        fail_on,
        json_out,
        no_color,
        quiet,
        verbose,
        sarif,
        codequality,
    )


def explain(
    pr: PrOpt = None,
    pr_number: PrNumberOpt = None,
    model: ModelOpt = None,
    api_base: ApiBaseOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    no_color: NoColorOpt = False,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Dry run: every rule, every condition with its actual value, and what would be done."""
    _go(
        "explain",
        pr,
        pr_number,
        config,
        model,
        api_base,
        True,
        "never",
        json_out,
        no_color,
        quiet,
        verbose,
    )
