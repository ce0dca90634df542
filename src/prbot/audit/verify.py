"""Verifying an audit database: is what it holds still what prbot wrote?

The append-only triggers of :mod:`prbot.audit.store` stop accidents, not someone who owns the file.
Against a deliberate edit this recomputes the hash chain (:func:`prbot.audit.chain.verify_rows`),
checks it still holds the anchors kept in the per-run JSON records (a chain alone cannot notice
that its newest events were cut off), and compares every ``runs`` and ``model_calls`` row with the
chained event it was written with: those tables are not chained themselves, so an edit there would
otherwise go unseen. SQLite's own integrity check and the presence of the triggers are reported too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from prbot.audit.chain import VerifyReport, verify_rows
from prbot.audit.store import CALL_FIELDS, EVENT_COLUMNS, RUN_FIELDS, TRIGGERS, run_dict


def verify_database(
    conn: sqlite3.Connection, anchors: Iterable[tuple[int, str]] = ()
) -> VerifyReport:
    """Check the whole database behind ``conn`` (autocommit mode, no transaction open).

    Everything is read in one transaction, so other processes may keep appending while the check
    runs without making it see half an append. A database too damaged to read is a problem in
    the report, not an exception: the report is what the operator needs either way.
    """
    try:
        conn.execute("BEGIN")
        try:
            return _verify(conn, anchors)
        finally:
            conn.execute("ROLLBACK")
    except sqlite3.DatabaseError as exc:
        return VerifyReport(problems=[f"database unreadable: {exc}"])


def _verify(conn: sqlite3.Connection, anchors: Iterable[tuple[int, str]]) -> VerifyReport:
    problems = [
        f"sqlite integrity_check: {r[0]}"
        for r in conn.execute("PRAGMA integrity_check(20)")
        if r[0] != "ok"
    ]
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    problems += [f"append-only trigger {t} is missing" for t in TRIGGERS if t not in present]
    rows = conn.execute(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY seq")
    report = verify_rows((tuple(r) for r in rows), anchors)
    report.problems[:0] = problems
    report.problems += _check_runs(conn) + _check_model_calls(conn)
    return report


def _payload(text: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if text is not None else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) or value is None else {}


def _check_runs(conn: sqlite3.Connection) -> list[str]:
    """Each ``runs`` row must equal what its ``run_started``/``run_finished`` events say."""
    problems: list[str] = []
    for row in conn.execute(
        """SELECT r.*, s.payload AS started, f.payload AS finished FROM runs r
        LEFT JOIN events s ON s.run_id = r.run_id AND s.kind = 'run_started'
        LEFT JOIN events f ON f.run_id = r.run_id AND f.kind = 'run_finished'
        ORDER BY r.run_id"""
    ):
        run, rid = run_dict(row), row["run_id"]
        started, finished = _payload(row["started"]), _payload(row["finished"])
        if started is None:
            problems.append(f"run {rid}: no run_started event in the chain")
            continue
        expected = {f: started.get(f) for f in RUN_FIELDS}
        ending = finished or {}
        expected.update(
            {f: ending.get(f) for f in ("outcome", "exit_code", "finished_at", "summary")}
        )
        changed = [f for f, value in expected.items() if run[f] != value]
        if changed:
            problems.append(
                f"run {rid}: {', '.join(changed)} differ from the chained events (runs row changed?)"
            )
    orphans = conn.execute(
        "SELECT run_id FROM events WHERE kind = 'run_started' "
        "AND run_id NOT IN (SELECT run_id FROM runs) ORDER BY seq"
    )
    return problems + [f"run {r[0]}: row missing from the runs table" for r in orphans]


def _check_model_calls(conn: sqlite3.Connection) -> list[str]:
    """Each ``model_calls`` row must equal the payload of the ``model_call`` event it was written with."""
    problems: list[str] = []
    for row in conn.execute(
        "SELECT m.*, e.run_id AS event_run, e.kind AS event_kind, e.payload AS event_payload "
        "FROM model_calls m LEFT JOIN events e ON e.seq = m.seq ORDER BY m.seq"
    ):
        if row["event_kind"] != "model_call":
            problems.append(
                f"model call {row['seq']}: no model_call event with that seq in the chain"
            )
            continue
        chained = _payload(row["event_payload"]) or {}
        actual = {**dict(row), "cache_hit": bool(row["cache_hit"])}
        if row["event_run"] != row["run_id"] or any(
            actual[f] != chained.get(f) for f in CALL_FIELDS
        ):
            problems.append(
                f"model call {row['seq']}: differs from its chained event (model_calls row changed?)"
            )
    orphans = conn.execute(
        "SELECT seq FROM events WHERE kind = 'model_call' "
        "AND seq NOT IN (SELECT seq FROM model_calls) ORDER BY seq"
    )
    return problems + [f"event {r[0]}: its model_calls row is missing" for r in orphans]
