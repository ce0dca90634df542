"""The SQLite audit database: runs, hash-chained events and model calls.

Many CI jobs (or a developer's parallel runs) may share one database file, so every append reads
the chain head and inserts the next event inside one ``BEGIN IMMEDIATE`` transaction: two writers
can never both extend the same head (fork the chain). WAL plus ``synchronous=FULL`` keeps every
committed event across a power loss. Triggers make ``events`` and ``model_calls`` append-only
against accidents; against a deliberate edit, :meth:`AuditStore.verify` recomputes the chain and
compares it with anchors kept in the per-run JSON records.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, astuple, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from prbot.audit.chain import (
    GENESIS,
    HASH_FORMAT,
    EventRow,
    VerifyReport,
    canonical_json,
    make_row,
)
from prbot.errors import AuditError
from prbot.models import ModelCall

SCHEMA_VERSION = 1
#: Seconds a writer waits for another process's transaction before giving up.
DEFAULT_TIMEOUT = 10.0
#: Kinds callers may append; the store itself writes ``model_call``, ``run_started``, ``run_finished``.
EVENT_KINDS = frozenset({"finding", "decision", "action", "error", "warning", "skipped", "info"})
_NETWORK_FS = frozenset(
    {"nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "afs", "9p", "ceph", "glusterfs",
     "fuse.sshfs", "fuse.glusterfs", "fuse.s3fs", "fuse.gcsfuse", "lustre", "gpfs", "davfs"}
)  # fmt: skip
RUN_FIELDS = (
    "run_id", "started_at", "command", "actor", "platform", "target", "base_ref", "base_sha",
    "head_sha", "config_hash", "model", "dry_run", "prbot_version",
)  # fmt: skip
CALL_FIELDS = (
    "model", "prompt_tokens", "completion_tokens", "cost_usd", "latency_ms", "cache_hit", "error",
    "purpose",
)  # fmt: skip
#: The ``events`` columns in :class:`~prbot.audit.chain.EventRow` field order.
EVENT_COLUMNS = "seq, run_id, ts, kind, payload, prev_hash, hash"

_TABLES = (
    """CREATE TABLE runs (run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, command TEXT NOT NULL,
    actor TEXT NOT NULL, platform TEXT NOT NULL, target TEXT NOT NULL, base_ref TEXT NOT NULL,
    base_sha TEXT NOT NULL, head_sha TEXT NOT NULL, config_hash TEXT NOT NULL, model TEXT NOT NULL,
    dry_run INTEGER NOT NULL, prbot_version TEXT NOT NULL,
    finished_at TEXT, outcome TEXT, exit_code INTEGER, summary TEXT)""",
    "CREATE INDEX runs_started ON runs(started_at)",
    """CREATE TABLE events (seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL, ts TEXT NOT NULL,
    kind TEXT NOT NULL, payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)""",
    "CREATE INDEX events_run ON events(run_id, kind)",
    """CREATE TABLE model_calls (seq INTEGER PRIMARY KEY REFERENCES events(seq),
    run_id TEXT NOT NULL, model TEXT NOT NULL, prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL, cost_usd REAL, latency_ms REAL NOT NULL,
    cache_hit INTEGER NOT NULL, error TEXT, purpose TEXT NOT NULL)""",
    "CREATE INDEX model_calls_run ON model_calls(run_id)",
)
#: Append-only guards. They stop accidents (a stray UPDATE), not someone who owns the file:
#: that is what :meth:`AuditStore.verify` is for.
TRIGGERS = {
    "events_no_update": "BEFORE UPDATE ON events",
    "events_no_delete": "BEFORE DELETE ON events",
    "model_calls_no_update": "BEFORE UPDATE ON model_calls",
    "model_calls_no_delete": "BEFORE DELETE ON model_calls",
    "runs_no_delete": "BEFORE DELETE ON runs",
    "runs_finished_once": "BEFORE UPDATE ON runs WHEN OLD.finished_at IS NOT NULL",
}


def utc_timestamp() -> str:
    """Now, as ISO-8601 UTC with milliseconds (``2025-01-31T12:00:00.123Z``): sorts as text."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def network_fs_type(path: Path, mounts: str) -> str | None:
    """The file-system type of ``path`` if ``mounts`` (``/proc/self/mounts`` text) says it is remote.

    SQLite's locking is not reliable on network file systems, which is the documented way to
    corrupt a database, so the store warns about such paths instead of failing silently later.
    """
    best, best_type = "", ""
    target = str(path)
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = parts[1].replace("\\040", " ")
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, best_type = mount, parts[2]
    return best_type if best_type in _NETWORK_FS else None


@dataclass
class RunInfo:
    """Who ran what, on which change, with which configuration: the row of ``runs``."""

    run_id: str
    started_at: str
    command: str
    actor: str = ""
    platform: str = "local"
    #: The PR URL or the branch.
    target: str = ""
    base_ref: str = ""
    base_sha: str = ""
    head_sha: str = ""
    config_hash: str = ""
    model: str = ""
    dry_run: bool = False
    prbot_version: str = ""

    def __post_init__(self) -> None:
        # The run id names the JSON record file: it must not be able to point anywhere else.
        rid = self.run_id
        ok = 0 < len(rid) <= 128 and rid[0].isalnum()
        if not ok or any(not (c.isascii() and (c.isalnum() or c in "._-")) for c in rid):
            raise ValueError(f"invalid run id {rid!r}: use letters, digits, '.', '_' and '-'")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class AuditStore:
    """One connection to an audit database; safe to share between threads of one process."""

    def __init__(self, path: Path | str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = Path(path).expanduser()
        #: Non-fatal remarks about the database (e.g. it is on a network file system).
        self.warnings: list[str] = []
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AuditError(
                f"cannot create the audit directory {self.path.parent}: {exc.strerror or exc}"
            ) from None
        self._check_network_fs()
        self._check_header()
        try:
            conn = sqlite3.connect(
                str(self.path), timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise AuditError(f"cannot open the audit database {self.path}: {exc}") from None
        conn.row_factory = sqlite3.Row
        self._conn = conn
        try:
            self._init_schema(conn)
        except AuditError:
            self.close()
            raise
        except sqlite3.DatabaseError as exc:
            self.close()
            raise self._error("cannot open", exc) from None

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _error(self, doing: str, exc: sqlite3.Error) -> AuditError:
        text = str(exc)
        if "file is not a database" in text:
            return AuditError(
                f"{self.path} is not a SQLite database, so it cannot hold the audit trail"
            )
        hint = None
        if "locked" in text or "busy" in text:
            hint = (
                "another process held the audit database too long; retry, or use a separate db path"
            )
        return AuditError(f"{doing} the audit database {self.path}: {text}", hint=hint)

    def _check_header(self) -> None:
        # SQLite silently adopts a short non-database file as an empty database and would write
        # its schema over it; refuse anything non-empty that lacks the SQLite header instead.
        try:
            with self.path.open("rb") as fh:
                head = fh.read(16)
        except (FileNotFoundError, IsADirectoryError):
            return
        except OSError as exc:
            raise AuditError(
                f"cannot read the audit database {self.path}: {exc.strerror}"
            ) from None
        if head and head != b"SQLite format 3\x00":
            raise AuditError(
                f"{self.path} is not a SQLite database, so it cannot hold the audit trail"
            )

    def _check_network_fs(self) -> None:
        try:
            mounts = Path("/proc/self/mounts").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return
        fs = network_fs_type(self.path.parent.resolve() / self.path.name, mounts)
        if fs:
            self.warnings.append(
                f"audit database {self.path} is on a network file system ({fs}); SQLite locking "
                "is unreliable there, keep it on a local disk"
            )

    def _init_schema(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise AuditError(
                f"{self.path} was written by a newer prbot (audit schema {version})",
                hint="upgrade prbot or use another audit db path",
            )
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if tables:
                    raise AuditError(
                        f"{self.path} is a SQLite database but not a prbot audit database",
                        hint="choose another audit db path",
                    )
                # Statement by statement: executescript() would commit our transaction first.
                for statement in _TABLES:
                    conn.execute(statement)
                for name, when in TRIGGERS.items():
                    conn.execute(
                        f"CREATE TRIGGER {name} {when} "
                        "BEGIN SELECT RAISE(ABORT, 'the prbot audit log is append-only'); END"
                    )
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise AuditError(f"the audit database {self.path} is closed")
        return self._conn

    # -- writing ---------------------------------------------------------------------------

    def _append(
        self,
        run_id: str,
        kind: str,
        payload: Mapping[str, Any],
        side: Callable[[sqlite3.Connection, EventRow], None] | None = None,
    ) -> EventRow:
        """Read the head and insert the next event in one write transaction (no forks).

        ``side`` writes the event's ``runs``/``model_calls`` row in the same transaction, so a side
        row never exists without its chained event, or the other way round.
        """
        return self._append_many(run_id, [(kind, payload, side)])[0]

    def _append_many(
        self,
        run_id: str,
        items: Sequence[
            tuple[str, Mapping[str, Any], Callable[[sqlite3.Connection, EventRow], None] | None]
        ],
    ) -> list[EventRow]:
        """Chain several events in ONE transaction: one fsync for a batch instead of one per event."""
        rows: list[EventRow] = []
        with self._lock:
            conn = self._db()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    last = conn.execute(
                        "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"
                    ).fetchone()
                    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
                    for kind, payload, side in items:
                        row = make_row(seq, prev, run_id, kind, utc_timestamp(), payload)
                        conn.execute(
                            f"INSERT INTO events ({EVENT_COLUMNS}) {_values(7)}", astuple(row)
                        )
                        if side is not None:
                            side(conn, row)
                        rows.append(row)
                        seq, prev = seq + 1, row.hash
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.IntegrityError as exc:
                raise AuditError(f"audit run {run_id}: {exc}") from None
            except sqlite3.Error as exc:
                raise self._error("cannot write to", exc) from None
            return rows

    def append_events(
        self, run_id: str, kind: str, payloads: Sequence[Mapping[str, Any]]
    ) -> list[EventRow]:
        """Append many events of one kind atomically (e.g. all findings of a run)."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown audit event kind {kind!r}")
        if not payloads:
            return []
        return self._append_many(run_id, [(kind, p, None) for p in payloads])

    def append_event(self, run_id: str, kind: str, payload: Mapping[str, Any]) -> EventRow:
        """Append one chained event; ``kind`` is one of :data:`EVENT_KINDS`."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown audit event kind {kind!r}")
        return self._append(run_id, kind, payload)

    def record_model_call(self, run_id: str, call: ModelCall) -> EventRow:
        """Chain a ``model_call`` event and write its ``model_calls`` row, atomically."""

        def side(conn: sqlite3.Connection, row: EventRow) -> None:
            d = row.payload_dict()
            values = [int(d[k]) if k == "cache_hit" else d[k] for k in CALL_FIELDS]
            conn.execute(
                f"INSERT INTO model_calls (seq, run_id, {', '.join(CALL_FIELDS)}) "
                f"{_values(2 + len(CALL_FIELDS))}",
                (row.seq, run_id, *values),
            )

        return self._append(run_id, "model_call", call.to_dict(), side)

    def start_run(self, info: RunInfo) -> EventRow:
        """Insert the ``runs`` row and chain a ``run_started`` event, atomically."""
        payload = {**info.to_dict(), "schema_version": SCHEMA_VERSION, "hash_format": HASH_FORMAT}

        def side(conn: sqlite3.Connection, row: EventRow) -> None:
            d = row.payload_dict()
            values = [int(d[k]) if k == "dry_run" else d[k] for k in RUN_FIELDS]
            try:
                conn.execute(
                    f"INSERT INTO runs ({', '.join(RUN_FIELDS)}) {_values(len(RUN_FIELDS))}",
                    values,
                )
            except sqlite3.IntegrityError:
                raise AuditError(f"audit run {info.run_id} already exists") from None

        return self._append(info.run_id, "run_started", payload, side)

    def finish_run(
        self,
        run_id: str,
        *,
        outcome: str,
        exit_code: int,
        finished_at: str,
        summary: Mapping[str, Any] | None = None,
    ) -> EventRow:
        """Chain a ``run_finished`` event and complete the ``runs`` row, atomically."""
        payload = {
            "outcome": outcome,
            "exit_code": int(exit_code),
            "finished_at": finished_at,
            "summary": dict(summary) if summary is not None else None,
        }

        def side(conn: sqlite3.Connection, row: EventRow) -> None:
            found = conn.execute(
                "SELECT finished_at FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
            if found is None or found[0] is not None:
                state = "was never started" if found is None else "is already finished"
                raise AuditError(f"audit run {run_id} {state}")
            d = row.payload_dict()
            summary_text = None if d["summary"] is None else canonical_json(d["summary"])
            conn.execute(
                "UPDATE runs SET finished_at = ?, outcome = ?, exit_code = ?, summary = ? "
                "WHERE run_id = ?",
                (d["finished_at"], d["outcome"], d["exit_code"], summary_text, run_id),
            )

        return self._append(run_id, "run_finished", payload, side)

    # -- reading ---------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """``(last seq, last hash)``; ``(0, GENESIS)`` for an empty log."""
        rows = self._query("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
        return (rows[0][0], rows[0][1]) if rows else (0, GENESIS)

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db().execute(sql, tuple(params)).fetchall()
            except sqlite3.Error as exc:
                raise self._error("cannot read", exc) from None

    def list_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest runs first, each with its event, finding, model-call and usage totals."""
        if limit < 1:
            return []
        rows = self._query(
            """SELECT r.*,
              (SELECT count(*) FROM events e WHERE e.run_id = r.run_id) AS events,
              (SELECT count(*) FROM events e WHERE e.run_id = r.run_id AND e.kind = 'finding')
                AS findings,
              count(m.seq) AS model_calls,
              coalesce(sum(m.prompt_tokens), 0) AS prompt_tokens,
              coalesce(sum(m.completion_tokens), 0) AS completion_tokens,
              CASE WHEN count(m.cost_usd) < count(m.seq) THEN NULL
                ELSE coalesce(sum(m.cost_usd), 0.0) END AS cost_usd
            FROM runs r LEFT JOIN model_calls m ON m.run_id = r.run_id
            GROUP BY r.run_id ORDER BY r.started_at DESC, r.run_id DESC LIMIT ?""",
            (int(limit),),
        )
        return [run_dict(row) for row in rows]

    def get_run(self, run_id_or_prefix: str) -> dict[str, Any] | None:
        """One run with its events and model calls, by full id or unique prefix.

        An ambiguous prefix is an error rather than a guess: showing another run's audit would be
        worse than asking for a longer prefix.
        """
        key = run_id_or_prefix.strip()
        if not key:
            return None
        rows = self._query("SELECT * FROM runs WHERE run_id = ?", (key,)) or self._query(
            "SELECT * FROM runs WHERE substr(run_id, 1, ?) = ? ORDER BY run_id LIMIT 6",
            (len(key), key),
        )
        if len(rows) > 1:
            shown = ", ".join(r["run_id"] for r in rows[:5]) + (", …" if len(rows) > 5 else "")
            raise AuditError(
                f"run id prefix {key!r} is ambiguous: {shown}", hint="give more of the run id"
            )
        if not rows:
            return None
        run = run_dict(rows[0])
        events = self._query(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE run_id = ? ORDER BY seq", (run["run_id"],)
        )
        run["events"] = [EventRow(*e).to_dict() for e in events]
        calls = self._query(
            "SELECT * FROM model_calls WHERE run_id = ? ORDER BY seq", (run["run_id"],)
        )
        run["model_calls"] = [{**dict(c), "cache_hit": bool(c["cache_hit"])} for c in calls]
        return run

    # -- verification ----------------------------------------------------------------------

    def verify(self, anchors: Iterable[tuple[int, str]] = ()) -> VerifyReport:
        """Check the whole database: see :func:`prbot.audit.verify.verify_database`.

        The lock keeps other threads of this process off the connection while the check reads
        one snapshot; other processes keep appending and are simply not seen.
        """
        # Imported here: the verifier reads this module's schema, so it imports us.
        from prbot.audit.verify import verify_database

        with self._lock:
            return verify_database(self._db(), anchors)


def _values(n: int) -> str:
    return f"VALUES ({', '.join('?' * n)})"


def run_dict(row: sqlite3.Row) -> dict[str, Any]:
    """A ``runs`` row with the types it was written with (SQLite keeps bools and JSON as text)."""
    d = dict(row)
    d["dry_run"] = bool(d["dry_run"])
    if d["summary"] is not None:
        with contextlib.suppress(ValueError):
            d["summary"] = json.loads(d["summary"])
    return d
