"""The per-run JSON record: one readable file per run, written atomically.

The record is what a CI job keeps as an artifact and what a person reads first. It also carries the
chain anchor (the last event's seq and hash), which is how a later ``verify`` notices that the
database lost its newest events. A crash or a full disk must never leave a half-written record
where a good one was expected, so it is written to a temporary file beside the target and renamed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prbot.audit.chain import to_jsonable
from prbot.errors import AuditError

RECORD_FORMAT = "prbot-run-record"
RECORD_VERSION = 1


def _safe_name(run_id: object) -> str:
    rid = str(run_id or "")
    ok = 0 < len(rid) <= 128 and rid[0].isalnum()
    if not ok or any(not (c.isascii() and (c.isalnum() or c in "._-")) for c in rid):
        raise AuditError(f"invalid run id {rid[:80]!r} for a run record file name")
    return rid


PRETTY_MAX_EVENTS = 300


def write_run_record(dir: Path, record: Mapping[str, Any]) -> Path:
    """Write ``record`` to ``<dir>/<run_id>.json`` atomically and return that path.

    The file is synced before the rename and the directory after it, so after a power loss the
    record is either the complete new one or absent, never truncated. Any failure is an
    :class:`AuditError` with a one-line message.
    """
    name = _safe_name(record.get("run_id"))
    directory = Path(dir).expanduser()
    target = directory / f"{name}.json"
    try:
        data = to_jsonable(dict(record))
        # Pretty for the usual few dozen events; compact (C encoder, several times faster) for
        # huge runs, where nobody reads the file by eye anyway.
        pretty = len(data.get("events") or ()) <= PRETTY_MAX_EVENTS
        text = json.dumps(
            data,
            indent=2 if pretty else None,
            separators=None if pretty else (",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
    except (TypeError, ValueError) as exc:
        raise AuditError(f"run record {name} cannot be serialised: {exc}") from None
    tmp = directory / f".{name}.{secrets.token_hex(4)}.tmp"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # 0o666 and the umask, like any other file the user creates (mkstemp would force 0o600).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _sync_dir(directory)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise AuditError(f"cannot write the run record {target}: {reason}") from None
    return target


def _sync_dir(directory: Path) -> None:
    """Make the rename itself durable; not possible on every platform, so best effort."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_run_record(path: Path | str) -> dict[str, Any]:
    """Load a run record; anything that is not a JSON object is an :class:`AuditError`."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AuditError(f"cannot read the run record {p}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise AuditError(f"{p} is not a valid run record: {exc}") from None
    if not isinstance(data, dict):
        raise AuditError(f"{p} is not a valid run record: expected a JSON object")
    return data


def record_anchor(record: Mapping[str, Any]) -> tuple[int, str] | None:
    """The (seq, hash) a record vouches for, to pass to ``AuditStore.verify(anchors=...)``.

    ``None`` when the run reached no database (nothing to vouch for) or the field is malformed.
    """
    chain = record.get("chain")
    if not isinstance(chain, Mapping):
        return None
    seq, digest = chain.get("last_seq"), chain.get("head_hash")
    if isinstance(seq, int) and not isinstance(seq, bool) and seq > 0 and isinstance(digest, str):
        return seq, digest
    return None
