"""The per-run audit façade: SQLite as it goes, the JSON record at the end, never losing events."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from prbot.audit.record import read_run_record, record_anchor
from prbot.audit.recorder import AuditRecorder, new_run_id
from prbot.audit.store import AuditStore, RunInfo
from prbot.errors import AuditError
from prbot.models import ModelCall


def _info(**kw: object) -> RunInfo:
    fields: dict[str, object] = {
        "run_id": new_run_id(),
        "started_at": "2025-01-01T00:00:00.000Z",
        "command": "review",
        "actor": "octocat",
        "platform": "github",
        "target": "https://example.com/o/r/pull/7",
        "base_ref": "main",
        "base_sha": "a" * 40,
        "head_sha": "b" * 40,
        "config_hash": "c" * 64,
        "model": "openai/gpt-4o",
        "dry_run": True,
        "prbot_version": "0.1.0",
    }
    fields.update(kw)
    return RunInfo(**fields)  # type: ignore[arg-type]


def _paths(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / ".prbot" / "audit.db", tmp_path / ".prbot" / "runs"


def test_full_run_writes_db_and_json_record(tmp_path: Path) -> None:
    db, runs = _paths(tmp_path)
    info = _info()
    rec = AuditRecorder(info, db_path=db, records_dir=runs)
    assert rec.run_id == info.run_id
    assert rec.json_path == runs / f"{info.run_id}.json"
    rec.event("finding", path="a.py", line=3, severity="error", rule="secret", message="m")
    rec.event("decision", rule="approve", result=False, reason="1 error finding")
    rec.model_call(
        ModelCall(
            model="openai/gpt-4o",
            prompt_tokens=100,
            completion_tokens=20,
            cost_usd=0.01,
            latency_ms=250.0,
        )
    )
    rec.model_call(
        ModelCall(
            model="openai/gpt-4o",
            prompt_tokens=50,
            completion_tokens=5,
            cost_usd=0.02,
            cache_hit=True,
        )
    )
    rec.event("action", name="comment", status="posted")
    result = {"findings": [{"path": "a.py", "line": 3}], "summary": "one finding"}
    path = rec.finish(outcome="changes_requested", exit_code=1, result=result)
    assert path == rec.json_path and path is not None and path.is_file()

    record = read_run_record(path)
    assert record["run_id"] == info.run_id
    assert record["run"] == info.to_dict()
    assert (record["outcome"], record["exit_code"]) == ("changes_requested", 1)
    timings = record["timings"]
    assert timings["started_at"] == info.started_at
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", timings["finished_at"])
    assert isinstance(timings["duration_ms"], int) and timings["duration_ms"] >= 0
    assert [e["kind"] for e in record["events"]] == ["finding", "decision", "action"]
    assert record["events"][1]["payload"] == {
        "rule": "approve",
        "result": False,
        "reason": "1 error finding",
    }
    assert [c["cache_hit"] for c in record["model_calls"]] == [False, True]
    assert record["model_calls"][0]["latency_ms"] == 250.0
    totals = record["totals"]
    assert (totals["events"], totals["findings"], totals["model_calls"]) == (3, 1, 2)
    assert (totals["prompt_tokens"], totals["completion_tokens"]) == (150, 25)
    assert totals["cost_usd"] == pytest.approx(0.03)
    assert record["result"] == result
    assert record["audit_db_error"] is None

    # The JSON record and the database tell the same story, and the record anchors the chain.
    with AuditStore(db) as store:
        run = store.get_run(info.run_id)
        assert run is not None and run["outcome"] == "changes_requested" and run["exit_code"] == 1
        assert run["summary"] == totals
        by_seq = {e["seq"]: e for e in run["events"]}
        for entry in record["events"] + record["model_calls"]:
            assert by_seq[entry["seq"]]["hash"] == entry["hash"]
        chain = record["chain"]
        assert chain["first_seq"] == run["events"][0]["seq"]
        assert (chain["last_seq"], chain["head_hash"]) == store.head()
        assert store.verify(anchors=[record_anchor(record)]).ok


def test_unknown_cost_makes_the_total_unknown(tmp_path: Path) -> None:
    db, runs = _paths(tmp_path)
    rec = AuditRecorder(_info(), db_path=db, records_dir=runs)
    rec.model_call(ModelCall(model="m", prompt_tokens=1, cost_usd=0.5))
    rec.model_call(ModelCall(model="ollama/llama3", prompt_tokens=1, cost_usd=None))
    record = read_run_record(rec.finish(outcome="success", exit_code=0))
    assert record["totals"]["cost_usd"] is None
    assert record["model_calls"][1]["cost_usd"] is None


def test_events_are_in_the_db_before_finish(tmp_path: Path) -> None:
    """A run that crashes after an event still has that event recorded."""
    db, runs = _paths(tmp_path)
    rec = AuditRecorder(_info(), db_path=db, records_dir=runs)
    rec.event("action", name="label", status="applied")
    with AuditStore(db) as store:
        run = store.get_run(rec.run_id)
        assert run is not None and run["finished_at"] is None
        assert [e["kind"] for e in run["events"]] == ["run_started", "action"]
    assert not runs.exists()  # the record is only written by finish()


def test_json_is_written_when_the_db_path_is_unwritable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    runs = tmp_path / "runs"
    rec = AuditRecorder(_info(), db_path=blocker / "audit.db", records_dir=runs)
    rec.event("finding", path="a.py", message="m")
    rec.model_call(ModelCall(model="m", prompt_tokens=3))
    path = rec.finish(outcome="success", exit_code=0)
    assert path is not None
    record = read_run_record(path)
    assert "cannot create the audit directory" in record["audit_db_error"]
    assert record["chain"] is None
    assert [e["seq"] for e in record["events"]] == [None]
    assert record["events"][0]["payload"] == {"path": "a.py", "message": "m"}
    assert record["model_calls"][0]["prompt_tokens"] == 3
    assert rec.problems and "audit database" in rec.problems[0]


def test_db_that_is_not_sqlite_still_gives_a_json_record(tmp_path: Path) -> None:
    db, runs = _paths(tmp_path)
    db.parent.mkdir(parents=True)
    db.write_bytes(b"garbage" * 1000)
    rec = AuditRecorder(_info(), db_path=db, records_dir=runs)
    rec.event("info", message="hello")
    record = read_run_record(rec.finish(outcome="success", exit_code=0))
    assert "not a SQLite database" in record["audit_db_error"]
    assert db.read_bytes() == b"garbage" * 1000


def test_db_locked_mid_run_keeps_every_event(tmp_path: Path) -> None:
    db, runs = _paths(tmp_path)
    rec = AuditRecorder(_info(), db_path=db, records_dir=runs, db_timeout=0.2)
    rec.event("finding", n=1)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    rec.event("finding", n=2)  # must not raise
    assert time.monotonic() - started < 3
    holder.execute("ROLLBACK")
    holder.close()
    rec.event("finding", n=3)
    path = rec.finish(outcome="success", exit_code=0)
    record = read_run_record(path)
    assert "locked" in record["audit_db_error"]
    assert [e["payload"]["n"] for e in record["events"]] == [1, 2, 3]
    seqs = [e["seq"] for e in record["events"]]
    assert seqs[0] is not None and seqs[1:] == [None, None]
    # what did reach the database is still a valid chain, and the record anchors it
    assert record["chain"]["last_seq"] == seqs[0]
    with AuditStore(db) as store:
        assert store.verify(anchors=[record_anchor(record)]).ok
        run = store.get_run(rec.run_id)
        assert run is not None and run["finished_at"] is None
        assert [e["kind"] for e in run["events"]] == ["run_started", "finding"]


def test_db_broken_mid_run_is_survived(tmp_path: Path) -> None:
    db, runs = _paths(tmp_path)
    rec = AuditRecorder(_info(), db_path=db, records_dir=runs)
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("DROP TABLE model_calls")
    rec.model_call(ModelCall(model="m"))
    rec.event("info", after=True)
    record = read_run_record(rec.finish(outcome="error", exit_code=4))
    assert "no such table" in record["audit_db_error"]
    assert record["model_calls"][0]["seq"] is None
    assert record["events"][0]["payload"] == {"after": True}


def test_event_never_raises_on_odd_input(tmp_path: Path) -> None:
    db, runs = _paths(tmp_path)
    rec = AuditRecorder(_info(), db_path=db, records_dir=runs)

    class Weird:
        def __str__(self) -> str:
            return "weird"

    rec.event(
        "info",
        obj=Weird(),
        path=Path("x/y"),
        nan=float("nan"),
        surrogate="a\udcffb",
        nested={1: {2, 3}},
    )
    rec.event("no-such-kind", value=1)
    rec.event("model_call", model="sneaky")  # reserved kinds are not for callers
    record = read_run_record(rec.finish(outcome="success", exit_code=0))
    first = record["events"][0]["payload"]
    assert first["obj"] == "weird" and first["path"] == "x/y" and first["nested"] == {"1": [2, 3]}
    assert [e["kind"] for e in record["events"]] == ["info", "warning", "warning"]
    assert record["events"][1]["payload"]["kind"] == "no-such-kind"
    assert record["events"][1]["payload"]["payload"] == {"value": 1}
    with AuditStore(db) as store:
        assert store.verify().ok


def test_finish_raises_only_when_nothing_could_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rec = AuditRecorder(_info(), db_path=blocker / "audit.db", records_dir=blocker / "runs")
    rec.event("info", message="lost?")
    with pytest.raises(AuditError) as info:
        rec.finish(outcome="success", exit_code=0)
    assert "could not be written" in info.value.one_line()

    # JSON fails but the database has the run: no exception, the problem is reported.
    db = tmp_path / "ok" / "audit.db"
    rec = AuditRecorder(_info(), db_path=db, records_dir=blocker / "runs")
    assert rec.finish(outcome="success", exit_code=0) is None
    assert any("cannot write the run record" in p for p in rec.problems)
    with AuditStore(db) as store:
        assert store.get_run(rec.run_id)["outcome"] == "success"

    # DB only, and it fails: nothing recorded at all, so that is an error.
    rec = AuditRecorder(_info(), db_path=blocker / "audit.db", records_dir=None)
    with pytest.raises(AuditError):
        rec.finish(outcome="success", exit_code=0)


def test_finish_is_idempotent(tmp_path: Path) -> None:
    db, runs = _paths(tmp_path)
    rec = AuditRecorder(_info(), db_path=db, records_dir=runs)
    first = rec.finish(outcome="success", exit_code=0)
    assert rec.finish(outcome="failure", exit_code=1) == first
    assert read_run_record(first)["outcome"] == "success"
    with AuditStore(db) as store:
        assert store.verify().ok and store.head()[0] == 2


def test_json_only_and_db_only(tmp_path: Path) -> None:
    rec = AuditRecorder(_info(), db_path=None, records_dir=tmp_path / "runs")
    rec.event("info", message="x")
    record = read_run_record(rec.finish(outcome="success", exit_code=0))
    assert (
        record["audit_db"] is None and record["audit_db_error"] is None and record["chain"] is None
    )
    db = tmp_path / "audit.db"
    rec = AuditRecorder(_info(), db_path=db, records_dir=None)
    assert rec.json_path is None
    assert rec.finish(outcome="success", exit_code=0) is None
    with AuditStore(db) as store:
        assert store.get_run(rec.run_id)["exit_code"] == 0


def test_disabled_recorder_records_nothing(tmp_path: Path) -> None:
    db, runs = _paths(tmp_path)
    rec = AuditRecorder(_info(), db_path=db, records_dir=runs, enabled=False)
    rec.event("finding", message="m")
    rec.model_call(ModelCall(model="m"))
    assert rec.finish(outcome="success", exit_code=0) is None
    assert rec.json_path is None
    assert list(tmp_path.iterdir()) == []


def test_threads_recording_through_one_recorder(tmp_path: Path) -> None:
    db, runs = _paths(tmp_path)
    rec = AuditRecorder(_info(), db_path=db, records_dir=runs)

    def work(n: int) -> None:
        for i in range(20):
            rec.event("info", t=n, i=i)
            if i % 5 == 0:
                rec.model_call(ModelCall(model="m", prompt_tokens=1))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    record = read_run_record(rec.finish(outcome="success", exit_code=0))
    assert record["audit_db_error"] is None
    assert len(record["events"]) == 80 and len(record["model_calls"]) == 16
    seqs = [e["seq"] for e in record["events"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == 80
    assert record["totals"]["prompt_tokens"] == 16
    with AuditStore(db) as store:
        assert store.verify(anchors=[record_anchor(record)]).ok


def test_new_run_id_is_sortable_and_unique() -> None:
    first = new_run_id()
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", first)
    ids = {new_run_id() for _ in range(5000)}
    assert len(ids) == 5000
    time.sleep(1.05)
    later = new_run_id()
    assert later > first and sorted([later, first]) == [first, later]
    RunInfo(run_id=later, started_at="t", command="c")  # usable as a run id / file name


def test_secrets_are_redacted_when_the_redactor_exists(tmp_path: Path) -> None:
    pytest.importorskip("prbot.review.secrets")
    db, runs = _paths(tmp_path)
    key = "AKIA" + "Q7X2MZRZ4KD3W5PL"
    token = "ghp_" + "x7Kq9Zr2Lm4Np8Vt1Yb6Wc3Hd5Fj0Gs2Aa9Q"
    rec = AuditRecorder(
        _info(target=f"https://{token}@example.com/o/r"), db_path=db, records_dir=runs
    )
    rec.event("warning", message=f"found {key} in config.py", nested={"list": [token]})
    rec.model_call(ModelCall(model="m", error=f"401 for key {key}"))
    path = rec.finish(outcome="success", exit_code=0, result={"note": key})
    text = path.read_text(encoding="utf-8")
    dump = "\n".join(sqlite3.connect(db).iterdump())
    for secret in (key, token):
        assert secret not in text
        assert secret not in dump
    assert read_run_record(path)["totals"]["redactions"] >= 3
