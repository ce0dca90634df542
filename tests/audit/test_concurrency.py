"""Several processes appending to one audit database must never fork or lose the chain."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from prbot.audit.store import AuditStore, RunInfo

WORKERS = 4
APPENDS = 50


def _worker(db: str, run_id: str, go: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    # Every worker opens the (possibly still missing) database itself: the schema race is tested too.
    go.wait(30)
    with AuditStore(db) as store:
        for i in range(APPENDS):
            store.append_event(run_id, "info", {"i": i, "worker": run_id})


@pytest.mark.slow
def test_concurrent_processes_share_one_valid_chain(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    procs = [ctx.Process(target=_worker, args=(str(db), f"w{n}", go)) for n in range(WORKERS)]
    for p in procs:
        p.start()
    go.set()
    try:
        for p in procs:
            p.join(timeout=60)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join(5)
    assert [p.exitcode for p in procs] == [0] * WORKERS

    with AuditStore(db) as store:
        report = store.verify()
    assert report.ok, report.problems
    assert report.events == WORKERS * APPENDS
    raw = sqlite3.connect(db)
    seqs = [r[0] for r in raw.execute("SELECT seq FROM events ORDER BY seq")]
    assert seqs == list(range(1, WORKERS * APPENDS + 1))
    # no fork: every prev_hash is used exactly once
    forks = raw.execute(
        "SELECT count(*) FROM (SELECT prev_hash FROM events GROUP BY prev_hash HAVING count(*) > 1)"
    )
    assert forks.fetchone()[0] == 0
    # no lost rows: each worker's 50 appends are all there, in its own order
    for n in range(WORKERS):
        mine = [
            r[0]
            for r in raw.execute(
                "SELECT json_extract(payload, '$.i') FROM events WHERE run_id = ? ORDER BY seq",
                (f"w{n}",),
            )
        ]
        assert mine == list(range(APPENDS))


def test_threads_share_one_store(tmp_path: Path) -> None:
    import threading

    with AuditStore(tmp_path / "audit.db") as store:
        store.start_run(RunInfo(run_id="r", started_at="t", command="c"))

        def work(n: int) -> None:
            for i in range(25):
                store.append_event("r", "info", {"t": n, "i": i})

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        report = store.verify()
    assert report.ok and report.events == 101
