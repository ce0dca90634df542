"""``prbot audit show | verify | export``: read the SQLite audit trail."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from prbot.cli.options import ConfigOpt, JsonOpt, NoColorOpt

app = typer.Typer(help="Query and verify the audit trail.", no_args_is_help=True)

DbOpt = Annotated[
    Path | None, typer.Option("--db", help="Audit database (default: audit.db from the config).")
]


def _paths(config: Path | None, db: Path | None) -> tuple[Path, Path]:
    from prbot.config.loader import load_config

    loaded = load_config(config, start=Path.cwd())
    base = loaded.path.parent if loaded.path else _root(Path.cwd())
    return (db or base / loaded.config.audit.db), base / loaded.config.audit.dir


def _root(start: Path) -> Path:
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / ".git").exists():
            return folder
    return start.resolve()


def _open(db: Path):
    from prbot.audit.store import AuditStore
    from prbot.errors import AuditError

    if not db.is_file():
        raise AuditError(f"no audit database at {db}", hint="run prbot review first, or pass --db")
    return AuditStore(db)


@app.command("show")
def show(
    run: Annotated[
        str | None,
        typer.Argument(help="Run id (or a unique prefix). Without it: list recent runs."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many runs to list.")] = 20,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    no_color: NoColorOpt = False,
) -> None:
    """List recent runs, or show one run with its events and model calls."""
    from prbot.cli.render import make_console
    from prbot.errors import UsageError

    db_path, _ = _paths(config, db)
    with _open(db_path) as store:
        if run is None:
            runs = store.list_runs(limit=limit)
            if json_out:
                sys.stdout.write(json.dumps(runs, indent=2, default=str) + "\n")
                return
            _print_runs(make_console(no_color=no_color), runs)
            return
        found = store.get_run(run)
    if found is None:
        raise UsageError(f"no run matching '{run}'", hint="prbot audit show lists the runs")
    if json_out:
        sys.stdout.write(json.dumps(found, indent=2, default=str) + "\n")
        return
    _print_run(make_console(no_color=no_color), found)


def _print_runs(console, runs: list[dict[str, Any]]) -> None:
    from rich.table import Table

    if not runs:
        console.print("No runs recorded yet.")
        return
    table = Table(show_edge=False, header_style="bold")
    for col in ("run", "started", "command", "target", "model", "outcome", "exit"):
        table.add_column(col)
    for r in runs:
        table.add_row(
            str(r.get("run_id", "")),
            str(r.get("started_at", "")),
            str(r.get("command", "")),
            str(r.get("target", ""))[:40],
            str(r.get("model", "")),
            str(r.get("outcome") or "running/aborted"),
            "" if r.get("exit_code") is None else str(r.get("exit_code")),
        )
    console.print(table)


def _print_run(console, run: dict[str, Any]) -> None:
    from rich.table import Table

    info = {k: v for k, v in run.items() if k not in ("events", "model_calls")}
    for k, v in info.items():
        console.print(f"[bold]{k}[/bold]: {v}", highlight=False)
    events = run.get("events", [])
    table = Table(title=f"{len(events)} event(s)", show_edge=False, header_style="bold")
    for col in ("seq", "time", "kind", "payload"):
        table.add_column(col, overflow="fold")
    for e in events:
        payload = e.get("payload")
        text = (
            json.dumps(payload, ensure_ascii=False, default=str)
            if not isinstance(payload, str)
            else payload
        )
        table.add_row(
            str(e.get("seq", "")), str(e.get("ts", "")), str(e.get("kind", "")), text[:300]
        )
    console.print(table)


@app.command("verify")
def verify(
    db: DbOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Recompute the hash chain and compare it with the anchors kept in the JSON run records."""
    from prbot.audit.record import read_run_record

    db_path, records_dir = _paths(config, db)
    anchors: list[tuple[int, str]] = []
    if records_dir.is_dir():
        for rec in sorted(records_dir.glob("*.json")):
            try:
                chain = read_run_record(rec).get("chain") or {}
            except Exception:
                continue
            if chain.get("last_seq") and chain.get("head_hash"):
                anchors.append((int(chain["last_seq"]), str(chain["head_hash"])))
    with _open(db_path) as store:
        report = store.verify(anchors=anchors)
    if json_out:
        sys.stdout.write(
            json.dumps(
                {
                    "ok": report.ok,
                    "events": report.events,
                    "head_hash": report.head_hash,
                    "anchors": len(anchors),
                    "problems": report.problems,
                }
            )
            + "\n"
        )
    elif report.ok:
        sys.stdout.write(
            f"{db_path}: chain intact ({report.events} events, {len(anchors)} anchors checked, head {report.head_hash[:16]})\n"
        )
    else:
        for p in report.problems:
            sys.stderr.write(f"prbot: error: {db_path}: {p}\n")
    raise typer.Exit(0 if report.ok else 1)


@app.command("export")
def export(
    run: Annotated[
        str | None, typer.Argument(help="Run id or prefix; all recent runs without it.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n")] = 100,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Export runs with their events and model calls as JSON on stdout."""
    from prbot.errors import UsageError

    db_path, _ = _paths(config, db)
    with _open(db_path) as store:
        if run:
            found = store.get_run(run)
            if found is None:
                raise UsageError(f"no run matching '{run}'")
            doc: Any = found
        else:
            doc = [store.get_run(r["run_id"]) for r in store.list_runs(limit=limit)]
    sys.stdout.write(json.dumps(doc, indent=2, default=str, ensure_ascii=False) + "\n")
