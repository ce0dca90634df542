"""The ``prbot`` command: parse options, dispatch, map errors to exit codes. No logic lives here.

Start-up must stay fast (``prbot --help`` well under 0.3 s): command modules import the app layer,
and the app layer imports heavy libraries (gitpython, litellm) only inside the functions that use them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from prbot import __version__
from prbot.cli import audit_cmd, auth_cmd, config_cmd, hook_cmd
from prbot.cli.errors import handled
from prbot.cli.review_cmd import review
from prbot.cli.run_cmd import explain, run

app = typer.Typer(
    name="prbot",
    help="CI-native pull-request review and automation: rules in YAML, an LLM for judgement, an audit trail.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    epilog="Exit codes: 0 ok; 1 gate failed (--fail-on); 2 usage or configuration error; 3 platform or model unavailable; 4 internal error. Docs: docs/README.md",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"prbot {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """prbot reviews, labels, gates and merges pull requests from your CI.

    Exit codes: 0 ok, 1 gate failed (--fail-on), 2 usage or configuration error,
    3 platform or model unavailable, 4 internal error.
    """


app.command("run")(run)
app.command("review")(review)
app.command("explain")(explain)
app.add_typer(config_cmd.app, name="config")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(hook_cmd.app, name="hook")
app.add_typer(auth_cmd.app, name="auth")


def main() -> None:
    with handled():
        _run()


def _run() -> None:
    try:
        rv = app(standalone_mode=False)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        raise KeyboardInterrupt from None
    except Exception as exc:
        # Click-style usage errors (unknown command, bad option): one line, exit 2. Recognised by
        # shape, because typer may ship its own copy of click.
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            from prbot.cli.errors import error_line

            error_line(exc.format_message())
            raise SystemExit(2) from None
        raise
    raise SystemExit(rv if isinstance(rv, int) else 0)
