"""The pure hash-chain core: canonical JSON, event hashes and chain verification."""

from __future__ import annotations

import hashlib
import json
import math
from enum import Enum
from pathlib import PurePosixPath

import pytest

from prbot.audit.chain import (
    DOMAIN_TAG,
    GENESIS,
    EventRow,
    canonical_json,
    event_hash,
    make_row,
    to_jsonable,
    verify_rows,
)
from prbot.models import Severity


def _chain(n: int, run_id: str = "r1") -> list[EventRow]:
    rows: list[EventRow] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        row = make_row(seq, prev, run_id, "info", f"2025-01-01T00:00:{seq:02d}.000Z", {"i": seq})
        rows.append(row)
        prev = row.hash
    return rows


def test_canonical_json_is_sorted_compact_and_keeps_unicode() -> None:
    text = canonical_json({"b": [1, {"z": 1, "a": 2}], "a": "héllo ✓"})
    assert text == '{"a":"héllo ✓","b":[1,{"a":2,"z":1}]}'
    assert canonical_json({"x": 1, "y": 2}) == canonical_json({"y": 2, "x": 1})


def test_canonical_json_refuses_nan() -> None:
    with pytest.raises(ValueError):
        canonical_json({"x": math.nan})


def test_to_jsonable_turns_awkward_values_into_plain_json() -> None:
    class Color(Enum):
        RED = "red"

    value = to_jsonable(
        {
            1: Severity.ERROR,
            "path": PurePosixPath("a/b.py"),
            "nan": math.inf,
            "set": {3, 1, 2},
            "tuple": (1, "x"),
            "bytes": b"\xffok",
            "enum": Color.RED,
            "bad": "name\udcff.py",
        }
    )
    assert value["1"] == "error"
    assert value["path"] == "a/b.py"
    assert value["nan"] == "inf"
    assert value["set"] == [1, 2, 3]
    assert value["tuple"] == [1, "x"]
    assert value["bytes"] == "\ufffdok"
    assert value["enum"] == "red"
    value["bad"].encode("utf-8")  # repaired: no lone surrogate left
    # and the whole thing is now canonicalisable
    json.loads(canonical_json(value))


def test_event_hash_matches_the_documented_layout() -> None:
    fields = ["3", "a" * 64, "run", "finding", "2025-01-01T00:00:00.000Z", '{"k":"v"}']
    h = hashlib.sha256(DOMAIN_TAG)
    for f in fields:
        data = f.encode()
        h.update(len(data).to_bytes(8, "big") + data)
    got = event_hash(3, "a" * 64, "run", "finding", "2025-01-01T00:00:00.000Z", {"k": "v"})
    assert got == h.hexdigest()
    assert DOMAIN_TAG == b"prbot-audit-v1\x00"


def test_event_hash_changes_with_every_field() -> None:
    base = (1, GENESIS, "run", "info", "t", '{"a":1}')
    reference = event_hash(*base)
    for i, changed in enumerate([2, "1" * 64, "run2", "error", "t2", '{"a":2}']):
        args = list(base)
        args[i] = changed
        assert event_hash(*args) != reference, f"field {i} not covered"


def test_event_hash_field_boundaries_are_unambiguous() -> None:
    # Moving a character from one field to the next must change the hash.
    a = event_hash(1, GENESIS, "ab", "c", "t", "{}")
    b = event_hash(1, GENESIS, "a", "bc", "t", "{}")
    assert a != b


def test_verify_rows_accepts_a_good_chain() -> None:
    rows = _chain(5)
    report = verify_rows(rows)
    assert report.ok, report.problems
    assert (report.events, report.head_seq, report.head_hash) == (5, 5, rows[-1].hash)


def test_verify_rows_empty_chain() -> None:
    report = verify_rows([])
    assert report.ok and report.events == 0 and report.head_hash == GENESIS


def test_verify_rows_accepts_tuples_in_field_order() -> None:
    rows = [tuple(vars(r).values()) for r in _chain(3)]
    assert verify_rows(rows).ok


def test_verify_rows_reports_a_changed_payload_at_its_seq() -> None:
    rows = _chain(5)
    rows[2] = EventRow(**{**vars(rows[2]), "payload": '{"i":99}'})
    report = verify_rows(rows)
    assert not report.ok
    assert report.problems == ["event 3: hash mismatch (payload changed?)"]


def test_verify_rows_reports_a_rewritten_event_through_the_next_link() -> None:
    rows = _chain(5)
    forged = make_row(3, rows[1].hash, "r1", "info", rows[2].ts, {"i": 99})
    rows[2] = forged
    report = verify_rows(rows)
    assert any(p.startswith("event 4: prev_hash") for p in report.problems), report.problems
    assert not any(p.startswith("event 3") for p in report.problems)


def test_verify_rows_reports_missing_events() -> None:
    rows = _chain(9)
    del rows[6]  # seq 7
    del rows[2:4]  # seq 3 and 4
    report = verify_rows(rows)
    assert "event 7 missing" in report.problems
    assert "events 3-4 missing" in report.problems


def test_verify_rows_reports_a_missing_first_event() -> None:
    report = verify_rows(_chain(3)[1:])
    assert report.problems == ["event 1 missing"]


def test_verify_rows_reports_a_wrong_genesis() -> None:
    row = make_row(1, "f" * 64, "r", "info", "t", {})
    assert verify_rows([row]).problems == ["event 1: prev_hash is not the genesis value"]


def test_anchors_catch_truncation_and_rewrites() -> None:
    rows = _chain(6)
    truncated = rows[:4]
    assert verify_rows(truncated).ok  # a chain alone cannot see its tail is gone
    report = verify_rows(truncated, anchors=[(6, rows[5].hash)])
    assert not report.ok
    assert any("event 6 missing" in p and "anchored" in p for p in report.problems)
    report = verify_rows(rows, anchors=[(2, "e" * 64)])
    assert any(p.startswith("event 2: hash differs from the anchor") for p in report.problems)
    assert verify_rows(rows, anchors=[(2, rows[1].hash), None, [6, rows[5].hash]]).ok  # type: ignore[list-item]


def test_report_to_dict_has_ok() -> None:
    d = verify_rows(_chain(1)).to_dict()
    assert d["ok"] is True and d["events"] == 1 and d["problems"] == []
