"""The hash chain behind the audit trail: canonical JSON, event hashes and chain verification.

Pure code (no I/O): the store feeds it rows, and the same functions can check an exported log
anywhere. Each event's hash covers its own fields and the previous event's hash, so changing,
removing or reordering any event breaks every link after it. A chain alone cannot notice that its
newest events were cut off, so :func:`verify_rows` also takes *anchors* (seq, hash) that were kept
somewhere else (the per-run JSON record) and reports any that the chain no longer contains.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from pathlib import PurePath
from typing import Any

#: ``prev_hash`` of the first event.
GENESIS = "0" * 64
#: Domain separation: a prbot event hash can never be confused with a hash of anything else,
#: and a future hash layout gets a new tag instead of silently changing meaning.
DOMAIN_TAG = b"prbot-audit-v1\x00"
HASH_FORMAT = "prbot-audit-v1"


def to_jsonable(value: Any) -> Any:
    """Turn ``value`` into plain JSON types, so recording an event never fails on a stray type.

    Enums become their value, paths and unknown objects their ``str``, objects with ``to_dict``
    (our value types) that dict, dataclasses their fields, sets a sorted list. Non-finite floats
    become strings (JSON has no NaN), mapping keys become strings (sorting mixed keys would fail),
    and text that cannot be encoded as UTF-8 (lone surrogates from undecodable file names) is
    repaired, because SQLite and the JSON file both need valid UTF-8.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _valid_utf8(value)
    if isinstance(value, Enum):
        return to_jsonable(value.value)
    if isinstance(value, Mapping):
        return {_valid_utf8(str(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        items = [to_jsonable(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return _valid_utf8(value.decode("utf-8", "replace"))
    if isinstance(value, PurePath):
        return _valid_utf8(str(value))
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_jsonable(to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    return _valid_utf8(str(value))


def _valid_utf8(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def canonical_json(value: Any) -> str:
    """The one serialisation that is hashed: sorted keys, no whitespace, UTF-8 text kept as is.

    The same data always gives the same text, so a verifier can recompute a hash from the stored
    payload. ``value`` must already be plain JSON (see :func:`to_jsonable`); NaN is refused.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def event_hash(
    seq: int, prev_hash: str, run_id: str, kind: str, ts: str, payload: Mapping[str, Any] | str
) -> str:
    """SHA-256 over the domain tag and every field, each one length-prefixed.

    Length prefixes (rather than a separator) make the encoding unambiguous whatever the fields
    contain: moving bytes from one field into the next always changes the hash. ``payload`` is
    either the stored canonical JSON text (hashed exactly as stored) or a mapping to canonicalise.
    """
    text = payload if isinstance(payload, str) else canonical_json(to_jsonable(payload))
    h = hashlib.sha256(DOMAIN_TAG)
    for part in (str(int(seq)), prev_hash, run_id, kind, ts, text):
        data = part.encode("utf-8")
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


@dataclass(frozen=True)
class EventRow:
    """One chained event as stored: ``payload`` is its canonical JSON text."""

    seq: int
    run_id: str
    ts: str
    kind: str
    payload: str
    prev_hash: str
    hash: str

    def payload_dict(self) -> dict[str, Any]:
        value = json.loads(self.payload)
        return value if isinstance(value, dict) else {"value": value}

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "run_id": self.run_id,
            "ts": self.ts,
            "kind": self.kind,
            "payload": self.payload_dict(),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def make_row(
    seq: int, prev_hash: str, run_id: str, kind: str, ts: str, payload: Mapping[str, Any]
) -> EventRow:
    """Build the next row of the chain: canonicalise the payload once and hash that text."""
    text = canonical_json(to_jsonable(payload))
    return EventRow(
        seq, run_id, ts, kind, text, prev_hash, event_hash(seq, prev_hash, run_id, kind, ts, text)
    )


@dataclass
class VerifyReport:
    """The outcome of checking a chain. ``ok`` is derived, so it can never disagree with ``problems``."""

    events: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "problems": list(self.problems),
        }


def _as_row(row: EventRow | tuple[Any, ...]) -> EventRow:
    return row if isinstance(row, EventRow) else EventRow(*row)


def _missing(first: int, last: int) -> str:
    return f"event {first} missing" if first == last else f"events {first}-{last} missing"


def verify_rows(
    rows: Iterable[EventRow | tuple[Any, ...]], anchors: Iterable[tuple[int, str]] = ()
) -> VerifyReport:
    """Recompute every hash and link of ``rows`` (in ascending ``seq`` order) and check ``anchors``.

    Rows may be :class:`EventRow` or tuples in its field order. Rows are consumed one at a time, so
    a large log is never held in memory. Each problem names the event it is about, so an operator
    can see *where* the log was changed, not only that it was.
    """
    report = VerifyReport()
    wanted: dict[int, set[str]] = {}
    for anchor in anchors:
        if anchor is None:  # a run record without a chain (its database was unavailable)
            continue
        seq, digest = anchor
        wanted.setdefault(int(seq), set()).add(str(digest))
    expected_seq = 1
    prev_hash = GENESIS
    for raw in rows:
        row = _as_row(raw)
        if row.seq < expected_seq:
            report.problems.append(
                f"event {row.seq}: out of order (expected {expected_seq} or later)"
            )
            continue
        gap = row.seq > expected_seq
        if gap:
            report.problems.append(_missing(expected_seq, row.seq - 1))
        elif row.prev_hash != prev_hash:
            report.problems.append(
                f"event {row.seq}: prev_hash does not match event {row.seq - 1} (chain broken or rewritten)"
                if row.seq > 1
                else f"event {row.seq}: prev_hash is not the genesis value"
            )
        try:
            recomputed = event_hash(
                row.seq, row.prev_hash, row.run_id, row.kind, row.ts, row.payload
            )
        except (TypeError, ValueError, AttributeError):
            recomputed = ""
        if recomputed != row.hash:
            report.problems.append(f"event {row.seq}: hash mismatch (payload changed?)")
        for digest in wanted.pop(row.seq, ()):
            if digest != row.hash:
                report.problems.append(
                    f"event {row.seq}: hash differs from the anchor {digest[:12]}… (history rewritten?)"
                )
        report.events += 1
        report.head_seq = row.seq
        report.head_hash = row.hash
        prev_hash = row.hash
        expected_seq = row.seq + 1
    for seq in sorted(wanted):
        report.problems.append(
            f"event {seq} missing: it is anchored in a run record but not in the log (truncated?)"
        )
    return report
