"""The SQLite audit store, on real database files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from prbot.audit.chain import GENESIS
from prbot.audit.store import AuditStore, RunInfo, network_fs_type
from prbot.errors import AuditError
from prbot.models import ModelCall


def _info(run_id: str, started_at: str = "2025-01-01T00:00:00.000Z", **kw: object) -> RunInfo:
    return RunInfo(run_id=run_id, started_at=started_at, command="review", **kw)  # type: ignore[arg-type]


def _raw(path: Path) -> sqlite3.Connection:
    """A plain connection, as someone editing the file by hand would use."""
    return sqlite3.connect(path, isolation_level=None)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "dir" / "audit.db"


@pytest.fixture
def store(db: Path):
    with AuditStore(db) as s:
        yield s


def _fill(store: AuditStore, run_id: str = "run-a", n: int = 5) -> None:
    store.start_run(_info(run_id, target="https://example.com/o/r/pull/1", base_sha="b" * 40))
    for i in range(n):
        store.append_event(run_id, "finding", {"path": "a.py", "line": i, "message": f"m{i}"})
    store.record_model_call(
        run_id, ModelCall(model="openai/gpt-4o", prompt_tokens=100, cost_usd=None)
    )
    store.finish_run(run_id, outcome="success", exit_code=0, finished_at="2025-01-01T00:01:00.000Z")


def test_new_database_is_created_with_parents_wal_and_schema(db: Path, store: AuditStore) -> None:
    assert db.is_file()
    raw = _raw(db)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
    tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "events", "model_calls"} <= tables
    assert store._db().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store.head() == (0, GENESIS)
    assert store.verify().ok


def test_appends_chain_and_verify(store: AuditStore) -> None:
    _fill(store)
    report = store.verify()
    assert report.ok, report.problems
    # run_started + 5 findings + model_call + run_finished
    assert report.events == 8
    assert store.head() == (8, report.head_hash)
    row = store.append_event("run-a", "info", {"x": 1})
    assert row.seq == 9 and row.prev_hash == report.head_hash
    assert store.verify().ok


def test_reopening_continues_the_same_chain(db: Path) -> None:
    with AuditStore(db) as s:
        _fill(s, "run-a")
    with AuditStore(db) as s:
        _fill(s, "run-b")
        report = s.verify()
    assert report.ok and report.events == 16


def test_append_rejects_unknown_and_reserved_kinds(store: AuditStore) -> None:
    store.start_run(_info("r"))
    for kind in ("bogus", "model_call", "run_finished"):
        with pytest.raises(ValueError):
            store.append_event("r", kind, {})
    assert store.head()[0] == 1


def test_duplicate_run_is_refused_without_extending_the_chain(store: AuditStore) -> None:
    store.start_run(_info("r"))
    head = store.head()
    with pytest.raises(AuditError, match="already exists"):
        store.start_run(_info("r"))
    assert store.head() == head


def test_finish_run_refuses_unknown_and_repeated_runs(store: AuditStore) -> None:
    with pytest.raises(AuditError, match="never started"):
        store.finish_run("ghost", outcome="x", exit_code=0, finished_at="t")
    assert store.head() == (0, GENESIS)  # nothing chained for a refused finish
    store.start_run(_info("r"))
    store.finish_run("r", outcome="success", exit_code=0, finished_at="t")
    head = store.head()
    with pytest.raises(AuditError, match="already finished"):
        store.finish_run("r", outcome="failure", exit_code=1, finished_at="t2")
    assert store.head() == head
    assert store.get_run("r")["outcome"] == "success"


def test_triggers_stop_update_and_delete(db: Path, store: AuditStore) -> None:
    _fill(store)
    raw = _raw(db)
    for sql in (
        "UPDATE events SET payload = '{}' WHERE seq = 2",
        "DELETE FROM events WHERE seq = 8",
        "UPDATE model_calls SET prompt_tokens = 1",
        "DELETE FROM model_calls",
        "DELETE FROM runs",
        "UPDATE runs SET outcome = 'failure'",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute(sql)
    assert store.verify().ok


def test_tampered_payload_is_reported_at_its_seq(db: Path, store: AuditStore) -> None:
    _fill(store)
    raw = _raw(db)
    raw.execute("DROP TRIGGER events_no_update")
    raw.execute(
        """UPDATE events SET payload = '{"line":2,"message":"harmless","path":"a.py"}' WHERE seq = 4"""
    )
    report = store.verify()
    assert not report.ok
    assert "event 4: hash mismatch (payload changed?)" in report.problems
    assert "append-only trigger events_no_update is missing" in report.problems
    assert not any(p.startswith(("event 3", "event 5")) for p in report.problems)


def test_rehashed_forgery_breaks_the_next_link(db: Path, store: AuditStore) -> None:
    from prbot.audit.chain import event_hash

    _fill(store)
    raw = _raw(db)
    raw.execute("DROP TRIGGER events_no_update")
    seq, run_id, ts, kind, prev = raw.execute(
        "SELECT seq, run_id, ts, kind, prev_hash FROM events WHERE seq = 3"
    ).fetchone()
    payload = '{"forged":true}'
    raw.execute(
        "UPDATE events SET payload = ?, hash = ? WHERE seq = 3",
        (payload, event_hash(seq, prev, run_id, kind, ts, payload)),
    )
    problems = store.verify().problems
    assert any(p.startswith("event 4: prev_hash does not match event 3") for p in problems), (
        problems
    )


def test_deleted_middle_row_is_reported(db: Path, store: AuditStore) -> None:
    _fill(store)
    raw = _raw(db)
    raw.execute("DROP TRIGGER events_no_delete")
    raw.execute("DELETE FROM events WHERE seq = 5")
    assert "event 5 missing" in store.verify().problems


def test_tail_truncation_needs_an_anchor(db: Path, store: AuditStore) -> None:
    _fill(store, "run-a")
    anchor = store.head()
    _fill(store, "run-b")
    late = store.head()
    raw = _raw(db)
    for trigger in ("events_no_delete", "model_calls_no_delete", "runs_no_delete"):
        raw.execute(f"DROP TRIGGER {trigger}")
    # A careful attacker removes the whole last run and recreates the triggers.
    raw.execute("DELETE FROM events WHERE run_id = 'run-b'")
    raw.execute("DELETE FROM model_calls WHERE run_id = 'run-b'")
    raw.execute("DELETE FROM runs WHERE run_id = 'run-b'")
    raw.close()
    with AuditStore(db) as s:
        raw = _raw(db)
        for name, sql in (
            ("events_no_delete", "BEFORE DELETE ON events"),
            ("model_calls_no_delete", "BEFORE DELETE ON model_calls"),
            ("runs_no_delete", "BEFORE DELETE ON runs"),
        ):
            raw.execute(f"CREATE TRIGGER {name} {sql} BEGIN SELECT RAISE(ABORT, 'x'); END")
        assert s.verify().ok  # the shorter chain is self-consistent...
        assert s.verify(anchors=[anchor]).ok
        report = s.verify(anchors=[anchor, late])  # ...but not with the later run's anchor
    assert not report.ok
    assert any(f"event {late[0]} missing" in p for p in report.problems), report.problems


def test_changed_runs_and_model_calls_rows_are_reported(db: Path, store: AuditStore) -> None:
    _fill(store)
    raw = _raw(db)
    raw.execute("DROP TRIGGER runs_finished_once")
    raw.execute("DROP TRIGGER model_calls_no_update")
    raw.execute("UPDATE runs SET outcome = 'failure', head_sha = 'c' WHERE run_id = 'run-a'")
    raw.execute("UPDATE model_calls SET cost_usd = 0.0")
    problems = store.verify().problems
    assert any(p.startswith("run run-a: head_sha, outcome differ") for p in problems), problems
    assert any(p.startswith("model call 7: differs") for p in problems), problems


def test_missing_side_rows_are_reported(db: Path, store: AuditStore) -> None:
    _fill(store)
    raw = _raw(db)
    raw.execute("DROP TRIGGER model_calls_no_delete")
    raw.execute("DROP TRIGGER runs_no_delete")
    raw.execute("DELETE FROM model_calls")
    raw.execute("DELETE FROM runs")
    problems = store.verify().problems
    assert "event 7: its model_calls row is missing" in problems
    assert "run run-a: row missing from the runs table" in problems


def test_model_call_columns(store: AuditStore) -> None:
    store.start_run(_info("r"))
    call = ModelCall(
        model="anthropic/claude", prompt_tokens=12, completion_tokens=34, cost_usd=None,
        latency_ms=56.78, cache_hit=True, error="timeout", purpose="describe",
    )  # fmt: skip
    row = store.record_model_call("r", call)
    assert row.kind == "model_call"
    [stored] = store.get_run("r")["model_calls"]
    assert stored == {
        "seq": row.seq, "run_id": "r", "model": "anthropic/claude", "prompt_tokens": 12,
        "completion_tokens": 34, "cost_usd": None, "latency_ms": 56.8, "cache_hit": True,
        "error": "timeout", "purpose": "describe",
    }  # fmt: skip


def test_list_runs_newest_first_with_totals(store: AuditStore) -> None:
    for i, rid in enumerate(
        ["20250101T000000Z-aaaa0001", "20250102T000000Z-bbbb0002", "20250103T000000Z-cccc0003"]
    ):
        store.start_run(_info(rid, started_at=f"2025-01-0{i + 1}T00:00:00.000Z", dry_run=i == 1))
    store.append_event("20250102T000000Z-bbbb0002", "finding", {"m": 1})
    store.record_model_call(
        "20250102T000000Z-bbbb0002",
        ModelCall(model="m", prompt_tokens=10, completion_tokens=2, cost_usd=0.5),
    )
    store.record_model_call(
        "20250102T000000Z-bbbb0002", ModelCall(model="m", prompt_tokens=5, cost_usd=0.25)
    )
    store.record_model_call("20250103T000000Z-cccc0003", ModelCall(model="m", cost_usd=None))
    runs = store.list_runs()
    assert [r["run_id"][:9] for r in runs] == ["20250103T", "20250102T", "20250101T"]
    middle = runs[1]
    assert middle["dry_run"] is True and middle["findings"] == 1 and middle["events"] == 4
    assert (middle["model_calls"], middle["prompt_tokens"], middle["completion_tokens"]) == (
        2,
        15,
        2,
    )
    assert middle["cost_usd"] == pytest.approx(0.75)
    assert runs[0]["cost_usd"] is None  # one unpriced call makes the total unknown
    assert runs[2]["cost_usd"] == 0.0 and runs[2]["model_calls"] == 0
    assert [r["run_id"][:9] for r in store.list_runs(limit=1)] == ["20250103T"]
    assert store.list_runs(limit=0) == []


def test_get_run_by_id_and_prefix(store: AuditStore) -> None:
    _fill(store, "20250101T000000Z-abcdef01")
    store.start_run(_info("20250101T000000Z-abc99999"))
    store.start_run(_info("20250101T000000Z-abc"))
    run = store.get_run("20250101T000000Z-abcd")
    assert run is not None and run["run_id"] == "20250101T000000Z-abcdef01"
    assert run["outcome"] == "success" and run["base_sha"] == "b" * 40
    kinds = [e["kind"] for e in run["events"]]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert run["events"][1]["payload"] == {"line": 0, "message": "m0", "path": "a.py"}
    assert len(run["model_calls"]) == 1
    # an exact id wins even though it is also a prefix of others
    assert store.get_run("20250101T000000Z-abc")["run_id"] == "20250101T000000Z-abc"
    with pytest.raises(AuditError, match="ambiguous"):
        store.get_run("20250101T000000Z-ab")
    assert store.get_run("2024") is None
    assert store.get_run("") is None
    assert store.get_run("%") is None  # no LIKE wildcards


def test_not_a_sqlite_file_is_a_one_line_audit_error(tmp_path: Path) -> None:
    bogus = tmp_path / "audit.db"
    bogus.write_text("this is not a database\n" * 100)
    with pytest.raises(AuditError) as info:
        AuditStore(bogus)
    assert "not a SQLite database" in info.value.one_line()
    assert "\n" not in info.value.one_line()
    assert bogus.read_text().startswith("this is not")  # left untouched


@pytest.mark.parametrize("content", [b"x", b"short text", b"SQLite format 2\x00" + b"\x00" * 200])
def test_short_or_fake_files_are_never_overwritten(tmp_path: Path, content: bytes) -> None:
    bogus = tmp_path / "audit.db"
    bogus.write_bytes(content)
    with pytest.raises(AuditError, match="not a SQLite database"):
        AuditStore(bogus)
    assert bogus.read_bytes() == content


def test_empty_file_becomes_a_database(tmp_path: Path) -> None:
    empty = tmp_path / "audit.db"
    empty.touch()
    with AuditStore(empty) as s:
        s.start_run(_info("r"))
        assert s.verify().ok


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    raw = sqlite3.connect(other)
    raw.execute("CREATE TABLE t (x)")
    raw.commit()
    raw.close()
    with pytest.raises(AuditError, match="not a prbot audit database"):
        AuditStore(other)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    newer = tmp_path / "newer.db"
    raw = sqlite3.connect(newer)
    raw.execute("PRAGMA user_version = 99")
    raw.close()
    with pytest.raises(AuditError, match="newer prbot"):
        AuditStore(newer)


def test_unusable_paths_are_audit_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AuditError, match="cannot create the audit directory"):
        AuditStore(blocker / "sub" / "audit.db")
    directory = tmp_path / "adir"
    directory.mkdir()
    with pytest.raises(AuditError):
        AuditStore(directory)


def test_locked_beyond_timeout_is_an_audit_error(db: Path) -> None:
    with AuditStore(db, timeout=0.2) as s:
        s.start_run(_info("r"))
        holder = _raw(db)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(AuditError) as info:
                s.append_event("r", "info", {})
            assert "locked" in info.value.one_line()
        finally:
            holder.execute("ROLLBACK")
        s.append_event("r", "info", {})  # usable again once the lock is gone
        assert s.verify().ok


def test_closed_store_raises_audit_error(db: Path) -> None:
    s = AuditStore(db)
    s.close()
    s.close()  # idempotent
    with pytest.raises(AuditError, match="closed"):
        s.head()


def test_unicode_and_odd_payloads_round_trip(store: AuditStore) -> None:
    store.start_run(_info("r"))
    store.append_event(
        "r", "info", {"msg": "naïve ✓ \x00 \u2028", "bad": "x\udcffy", "n": float("nan")}
    )
    payload = store.get_run("r")["events"][1]["payload"]
    assert payload["msg"] == "naïve ✓ \x00 \u2028"
    assert payload["n"] == "nan"
    assert store.verify().ok


def test_run_id_must_be_a_safe_file_name() -> None:
    for bad in ("", "../etc", "a/b", "-x", "a b", "é"):
        with pytest.raises(ValueError):
            RunInfo(run_id=bad, started_at="t", command="c")


def test_network_fs_detection() -> None:
    mounts = (
        "/dev/sda1 / ext4 rw 0 0\n"
        "server:/export /mnt/share nfs4 rw 0 0\n"
        "//host/s /mnt/share/local\\040dir cifs rw 0 0\n"
        "tmpfs /mnt/share/tmp tmpfs rw 0 0\n"
    )
    assert network_fs_type(Path("/home/u/repo/.prbot/audit.db"), mounts) is None
    assert network_fs_type(Path("/mnt/share/repo/audit.db"), mounts) == "nfs4"
    assert network_fs_type(Path("/mnt/share/local dir/audit.db"), mounts) == "cifs"
    assert network_fs_type(Path("/mnt/share/tmp/audit.db"), mounts) is None
    assert network_fs_type(Path("/mnt/shared/audit.db"), mounts) is None
