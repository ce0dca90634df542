"""The per-run JSON record file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from prbot.audit.record import read_run_record, record_anchor, write_run_record
from prbot.errors import AuditError


def test_write_and_read_round_trip(tmp_path: Path) -> None:
    record = {"run_id": "20250101T000000Z-0a1b2c3d", "note": "ünïcode ✓", "n": [1, 2]}
    path = write_run_record(tmp_path / "runs", record)
    assert path == tmp_path / "runs" / "20250101T000000Z-0a1b2c3d.json"
    text = path.read_text(encoding="utf-8")
    assert "ünïcode ✓" in text  # UTF-8, not \\u escapes
    assert text.startswith("{\n  ")  # pretty-printed
    assert text.endswith("}\n")
    assert read_run_record(path) == record


def test_rewrite_replaces_whole_file_and_leaves_no_temp_files(tmp_path: Path) -> None:
    write_run_record(tmp_path, {"run_id": "r1", "big": "x" * 100_000})
    path = write_run_record(tmp_path, {"run_id": "r1", "small": True})
    assert read_run_record(path) == {"run_id": "r1", "small": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r1.json"]


def test_file_mode_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = write_run_record(tmp_path, {"run_id": "r1"})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_odd_values_are_serialised(tmp_path: Path) -> None:
    path = write_run_record(
        tmp_path, {"run_id": "r1", "p": Path("a/b"), "nan": float("nan"), "s": {2, 1}}
    )
    assert read_run_record(path) == {"run_id": "r1", "p": "a/b", "nan": "nan", "s": [1, 2]}


@pytest.mark.parametrize("run_id", [None, "", "../escape", "a/b", ".hidden", "x\x00y", "a" * 200])
def test_unsafe_run_ids_are_refused(tmp_path: Path, run_id: object) -> None:
    with pytest.raises(AuditError):
        write_run_record(tmp_path / "runs", {"run_id": run_id})
    assert not (tmp_path / "escape.json").exists()


def test_unwritable_directory_is_an_audit_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AuditError, match="cannot write the run record"):
        write_run_record(blocker / "runs", {"run_id": "r1"})


def test_existing_directory_in_the_way_is_an_audit_error_and_cleans_up(tmp_path: Path) -> None:
    (tmp_path / "r1.json").mkdir()
    with pytest.raises(AuditError):
        write_run_record(tmp_path, {"run_id": "r1"})
    assert [p.name for p in tmp_path.iterdir()] == ["r1.json"]


def test_read_errors_are_audit_errors(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="cannot read"):
        read_run_record(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(AuditError, match="not a valid run record"):
        read_run_record(bad)
    bad.write_text(json.dumps([1, 2]))
    with pytest.raises(AuditError, match="JSON object"):
        read_run_record(bad)
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(AuditError):
        read_run_record(bad)


def test_record_anchor() -> None:
    assert record_anchor({"chain": {"first_seq": 1, "last_seq": 7, "head_hash": "ab"}}) == (7, "ab")
    assert record_anchor({"chain": None}) is None
    assert record_anchor({}) is None
    assert record_anchor({"chain": {"last_seq": "7", "head_hash": "ab"}}) is None
    assert record_anchor({"chain": {"last_seq": True, "head_hash": "ab"}}) is None
    assert record_anchor({"chain": {"last_seq": 0, "head_hash": "ab"}}) is None
