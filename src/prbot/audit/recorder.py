"""The audit façade for one run: what the app layer calls while it works.

Auditing must never be the reason a review fails, and must never lose what already happened. So
every event goes to SQLite at once (a crash later still leaves it recorded) *and* is kept in memory
for the JSON record; when the database fails (locked past the timeout, disk error) the recorder
stops using it, keeps going in memory, and says so in the record (``audit_db_error``).
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from prbot.audit.chain import EventRow, to_jsonable
from prbot.audit.record import RECORD_FORMAT, RECORD_VERSION, write_run_record
from prbot.audit.store import (
    DEFAULT_TIMEOUT,
    EVENT_KINDS,
    AuditStore,
    RunInfo,
    utc_timestamp,
)
from prbot.errors import AuditError
from prbot.models import ModelCall, Usage

#: RunInfo fields that may carry free text (a PR URL with credentials, a command line).
_INFO_TEXT_FIELDS = ("command", "actor", "target", "base_ref", "model")
_REDACTION_FAILED = "[text withheld: secret redaction failed]"


def new_run_id() -> str:
    """A run id that sorts by start time (to the second) and is unique: ``20250131T120000Z-1a2b3c4d``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(4)}"


def _load_redactor() -> Callable[[str], Any] | None:
    """The secret redactor, if the review package provides one (imported only when needed)."""
    try:
        from prbot.review.secrets import redact  # type: ignore[import-not-found,unused-ignore]
    except Exception:  # missing module, or one that fails to import: auditing goes on without it
        return None
    return redact if callable(redact) else None


class AuditRecorder:
    """Records one run to the audit database and the run's JSON record. Thread-safe."""

    def __init__(
        self,
        info: RunInfo,
        *,
        db_path: Path | None,
        records_dir: Path | None,
        enabled: bool = True,
        db_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._enabled = enabled
        self._db_path = Path(db_path) if db_path is not None else None
        self._records_dir = Path(records_dir) if records_dir is not None else None
        self._lock = threading.RLock()
        self._events: list[dict[str, Any]] = []
        self._calls: list[dict[str, Any]] = []
        self._usage = Usage()
        self._redactions = 0
        self._store: AuditStore | None = None
        self._db_error: str | None = None
        self._problems: list[str] = []
        self._chain: dict[str, Any] | None = None
        self._t0 = time.monotonic()
        self._finished = False
        self._written: Path | None = None
        self._redactor = _load_redactor() if enabled else None
        texts = {name: self._clean(getattr(info, name)) for name in _INFO_TEXT_FIELDS}
        self._info = dataclasses.replace(info, **texts)
        if not enabled or self._db_path is None:
            return
        try:
            store = AuditStore(self._db_path, timeout=db_timeout)
        except AuditError as exc:
            self._db_failed(exc)
            return
        try:
            self._note_chain(store.start_run(self._info))
        except Exception as exc:
            store.close()
            self._db_failed(exc)
            return
        self._store = store
        for warning in store.warnings:
            self.event("warning", message=warning)

    # -- properties ------------------------------------------------------------------------

    @property
    def run_id(self) -> str:
        return self._info.run_id

    @property
    def json_path(self) -> Path | None:
        """Where the JSON record is (or will be) written; ``None`` when there is none."""
        if not self._enabled or self._records_dir is None:
            return None
        return self._records_dir / f"{self.run_id}.json"

    @property
    def db_path(self) -> Path | None:
        """The SQLite database, when this run could write to it."""
        if not self._enabled or self._db_error is not None:
            return None
        return self._db_path

    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def problems(self) -> list[str]:
        """What went wrong with the audit itself (database or record), for the caller to show."""
        return list(self._problems)

    # -- recording -------------------------------------------------------------------------

    def event(self, kind: str, /, **payload: Any) -> None:
        """Record one event. Never raises: a failing audit must not take the run down with it."""
        if not self._enabled:
            return
        try:
            if kind not in EVENT_KINDS:
                payload = {
                    "message": f"unknown audit event kind {kind!r}",
                    "kind": kind,
                    "payload": payload,
                }
                kind = "warning"
            data = self._clean(payload)
        except Exception as exc:  # pragma: no cover - to_jsonable accepts any object
            data = {"message": f"event could not be recorded: {type(exc).__name__}"}
        with self._lock:
            row = self._to_db(lambda store: store.append_event(self.run_id, kind, data))
            self._events.append(_entry(row, kind, data))

    def events(self, kind: str, payloads: list[dict[str, Any]]) -> None:
        """Record many events of one kind in one transaction (a run's findings). Never raises."""
        if not self._enabled or not payloads:
            return
        if kind not in EVENT_KINDS:
            for payload in payloads:
                self.event(kind, **payload)
            return
        cleaned = [self._clean(p) for p in payloads]
        with self._lock:
            if self._store is None:
                rows: list[EventRow | None] = [None] * len(cleaned)
            else:
                try:
                    rows = list(self._store.append_events(self.run_id, kind, cleaned))
                except Exception as exc:
                    store, self._store = self._store, None
                    store.close()
                    self._db_failed(exc)
                    rows = [None] * len(cleaned)
                if rows and rows[-1] is not None:
                    self._note_chain(rows[-1])
            for row, data in zip(rows, cleaned, strict=True):
                self._events.append(_entry(row, kind, data))

    def model_call(self, call: ModelCall) -> None:
        """Record one model call (and add it to the run's usage totals). Never raises."""
        if not self._enabled:
            return
        try:
            texts = {"model": self._clean(call.model), "purpose": self._clean(call.purpose)}
            if call.error is not None:
                texts["error"] = self._clean(call.error)
            clean = dataclasses.replace(call, **texts)
            data = clean.to_dict()
        except Exception as exc:  # pragma: no cover - a ModelCall always serialises
            clean, data = call, {"model": "?", "error": f"unrecordable call: {type(exc).__name__}"}
        with self._lock:
            row = self._to_db(lambda store: store.record_model_call(self.run_id, clean))
            entry = _entry(row, "model_call", data)
            self._calls.append(
                {"seq": entry["seq"], "ts": entry["ts"], **entry["payload"], "hash": entry["hash"]}
            )
            try:
                self._usage.add(int(call.prompt_tokens), int(call.completion_tokens), call.cost_usd)
            except (TypeError, ValueError):
                self._usage.cost_usd = None

    def finish(
        self, *, outcome: str, exit_code: int, result: Mapping[str, Any] | None = None
    ) -> Path | None:
        """Close the run in the database and write the JSON record; returns the record's path.

        Calling it again returns the first result. Raises :class:`AuditError` only when the run was
        meant to be recorded somewhere and neither the record nor the database took it.
        """
        if not self._enabled:
            return None
        with self._lock:
            if self._finished:
                return self._written
            self._finished = True
            finished_at = utc_timestamp()
            duration_ms = round((time.monotonic() - self._t0) * 1000)
            totals = self._totals()
            db_ok = False
            if self._store is not None:
                store, self._store = self._store, None
                try:
                    self._note_chain(
                        store.finish_run(
                            self.run_id,
                            outcome=outcome,
                            exit_code=int(exit_code),
                            finished_at=finished_at,
                            summary=totals,
                        )
                    )
                    db_ok = True
                except Exception as exc:
                    self._db_failed(exc)
                finally:
                    store.close()
            record = {
                "format": RECORD_FORMAT,
                "version": RECORD_VERSION,
                "run_id": self.run_id,
                "run": self._info.to_dict(),
                "outcome": outcome,
                "exit_code": int(exit_code),
                "timings": {
                    "started_at": self._info.started_at,
                    "finished_at": finished_at,
                    "duration_ms": duration_ms,
                },
                "events": self._events,
                "model_calls": self._calls,
                "totals": totals,
                "result": self._clean(result) if result is not None else None,
                # The last event that reached the database, even if it failed later: an anchor.
                "chain": self._chain,
                "audit_db": str(self._db_path) if self._db_path is not None else None,
                "audit_db_error": self._db_error,
            }
            if self._records_dir is not None:
                try:
                    self._written = write_run_record(self._records_dir, record)
                except Exception as exc:
                    self._problems.append(_one_line(exc))
            wanted = self._records_dir is not None or self._db_path is not None
            if wanted and self._written is None and not db_ok:
                raise AuditError(
                    f"the audit trail of run {self.run_id} could not be written: "
                    + "; ".join(self._problems)
                )
            return self._written

    # -- internals -------------------------------------------------------------------------

    def _to_db(self, write: Callable[[AuditStore], EventRow]) -> EventRow | None:
        if self._store is None:
            return None
        try:
            row = write(self._store)
        except Exception as exc:
            store, self._store = self._store, None
            store.close()
            self._db_failed(exc)
            return None
        self._note_chain(row)
        return row

    def _db_failed(self, exc: Exception) -> None:
        if self._db_error is None:
            self._db_error = _one_line(exc)
            self._problems.append(f"audit database: {self._db_error}")

    def _note_chain(self, row: EventRow) -> None:
        if self._chain is None:
            self._chain = {"first_seq": row.seq, "last_seq": row.seq, "head_hash": row.hash}
        else:
            self._chain.update(last_seq=row.seq, head_hash=row.hash)

    def _totals(self) -> dict[str, Any]:
        usage = self._usage.to_dict()
        return {
            "events": len(self._events),
            "findings": sum(1 for e in self._events if e["kind"] == "finding"),
            "model_calls": len(self._calls),
            **usage,
            "redactions": self._redactions,
        }

    def _clean(self, value: Any) -> Any:
        """Plain JSON with every string passed through the secret redactor (defence in depth)."""
        return self._redact(to_jsonable(value))

    def _redact(self, value: Any) -> Any:
        if self._redactor is None:
            return value
        if isinstance(value, str):
            try:
                out = self._redactor(value)
                text, count = (out[0], int(out[1])) if isinstance(out, tuple) else (out, 0)
            except Exception:
                self._redactions += 1
                return _REDACTION_FAILED
            if not isinstance(text, str):
                self._redactions += 1
                return _REDACTION_FAILED
            self._redactions += count
            return text
        if isinstance(value, dict):
            return {k: self._redact(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._redact(v) for v in value]
        return value


def _entry(row: EventRow | None, kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-record copy of an event; ``seq``/``hash`` are ``None`` if it never reached the DB."""
    if row is None:
        return {
            "seq": None,
            "ts": utc_timestamp(),
            "kind": kind,
            "payload": dict(data),
            "hash": None,
        }
    return {
        "seq": row.seq,
        "ts": row.ts,
        "kind": kind,
        "payload": row.payload_dict(),
        "hash": row.hash,
    }


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, AuditError):
        return exc.one_line()
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
