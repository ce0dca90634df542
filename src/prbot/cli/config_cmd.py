"""``prbot config validate | schema | init``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from prbot.cli.options import ConfigOpt, JsonOpt

app = typer.Typer(help="Check, describe and create .prbot.yml.", no_args_is_help=True)


@app.command("validate")
def validate(
    path: Annotated[
        Path | None,
        typer.Argument(help="Config file (default: found from the repository root)."),
    ] = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Check a config file; print every problem with its line number."""
    from prbot.config.loader import find_config, load_config
    from prbot.errors import ConfigError

    target = path or config or find_config(Path.cwd())
    if target is None:
        raise ConfigError(
            "no .prbot.yml found here or at the repository root",
            hint="prbot config init writes a starter file",
        )
    try:
        loaded = load_config(target)
    except ConfigError as exc:
        problems = exc.details or [exc.one_line()]
        if json_out:
            sys.stdout.write(
                json.dumps({"valid": False, "file": str(target), "problems": problems}) + "\n"
            )
        else:
            for p in problems:
                sys.stderr.write(f"prbot: error: {p}\n")
        raise typer.Exit(int(exc.exit_code)) from None
    if json_out:
        sys.stdout.write(
            json.dumps({"valid": True, "file": str(target), "sha256": loaded.sha256}) + "\n"
        )
    else:
        cfg = loaded.config
        sys.stdout.write(
            f"{target}: valid (model {cfg.model.name or 'builtin'}, {len(cfg.rules)} rule(s))\n"
        )


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of .prbot.yml (for editors and CI validation)."""
    from prbot.config.schema import PrbotConfig

    doc = PrbotConfig.model_json_schema()
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "prbot configuration (.prbot.yml)",
        **doc,
    }
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")


@app.command("init")
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the file.")] = Path(".prbot.yml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter .prbot.yml."""
    from prbot.config.starter import STARTER
    from prbot.errors import UsageError

    if path.exists() and not force:
        raise UsageError(f"{path} already exists", hint="use --force to overwrite")
    path.write_text(STARTER, encoding="utf-8")
    sys.stdout.write(f"wrote {path}; check it with: prbot config validate\n")
