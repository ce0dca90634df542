"""``prbot auth login | status | logout``: tokens in the OS keyring for use on a laptop.

In CI, credentials come from the environment only; these commands refuse to store anything there.
Tokens are read with a hidden prompt or from stdin, never from an argument (which would land in
shell history and process listings), and are only ever printed masked.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer

from prbot.cli.options import JsonOpt

app = typer.Typer(
    help="Store forge and model tokens in the OS keyring for local use.", no_args_is_help=True
)

_STATUS_TARGETS = ("github", "gitlab", "bitbucket")
_MAX_STDIN_TOKEN = 64 * 1024


@app.command("login")
def login(
    target: Annotated[
        str,
        typer.Argument(help="github, gitlab, bitbucket or model:<provider> (e.g. model:openai)."),
    ] = "github",
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="Read the token from stdin instead of a prompt.")
    ] = False,
) -> None:
    """Store a token in the OS keyring (not in CI: set the variable as a CI secret there)."""
    from prbot.auth import keyring_store
    from prbot.auth.tokens import is_token_text, mask
    from prbot.ci.detect import running_in_ci
    from prbot.errors import UsageError

    env = os.environ
    user = keyring_store.keyring_username(target)
    if running_in_ci(env):
        raise UsageError(
            "prbot auth login is for local use; in CI set "
            f"{keyring_store.env_instead(user)} as a CI secret instead"
        )
    if token_stdin:
        token = sys.stdin.read(_MAX_STDIN_TOKEN + 1)
        if len(token) > _MAX_STDIN_TOKEN:
            raise UsageError("the token on stdin is longer than 64 KiB")
    else:
        token = typer.prompt(f"{user} token", hide_input=True, default="", show_default=False)
    token = token.strip()
    if not token:
        raise UsageError("empty token: nothing stored")
    if not is_token_text(token):
        raise UsageError("the token contains whitespace or control characters: paste it alone")
    keyring_store.set_secret(user, token, env)
    typer.echo(f"stored the {user} token in the OS keyring ({mask(token)})")


@app.command("status")
def status(json_out: JsonOpt = False) -> None:
    """Show which credential each forge resolves to, where it comes from, masked."""
    from prbot.auth.tokens import resolve_token
    from prbot.errors import UsageError

    report: dict[str, dict[str, object] | None] = {}
    lines: list[str] = []
    for forge in _STATUS_TARGETS:
        try:
            cred = resolve_token(forge, os.environ, allow_keyring=True)
        except UsageError as exc:
            report[forge] = {"error": exc.one_line()}
            lines.append(f"{forge}: {exc.one_line()}")
            continue
        if cred is None:
            report[forge] = None
            lines.append(f"{forge}: none")
            continue
        report[forge] = {
            "kind": cred.kind,
            "source": cred.source,
            "masked": cred.masked,
            "read_only": cred.read_only,
        }
        lines.append(f"{forge}: {cred.describe()}")
        if cred.message:
            lines.append(f"  {cred.message}")
    if json_out:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        sys.stdout.write("\n".join(lines) + "\n")


@app.command("logout")
def logout(
    target: Annotated[str, typer.Argument(help="github, gitlab, bitbucket or model:<provider>.")],
) -> None:
    """Remove a stored token from the OS keyring."""
    from prbot.auth import keyring_store

    user = keyring_store.keyring_username(target)
    if keyring_store.delete_secret(user, os.environ):
        typer.echo(f"removed the {user} token from the OS keyring")
    else:
        typer.echo(f"no {user} token was stored")
