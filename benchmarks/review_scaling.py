"""How ``prbot review`` scales with the size of the diff (builtin reviewer, no model).

Each stage is timed on its own (parse, filter, builtin checks) so a regression points at the
stage that caused it, then the whole in-process pipeline (``run_review``, audit included) and
finally the real command in a subprocess, which is what a CI job pays. Timings are taken with
tracemalloc off (it slows allocation-heavy code several times); the Python heap peak comes from
one extra ``run_review`` under tracemalloc, and the end-to-end memory is the child's max RSS.

The end-to-end run is also reported as CPU time and once more with the audit trail switched off
(``audit.enabled: false``): the audit store syncs every event to disk, so on a busy or slow
disk wall time and CPU time part ways, and the difference shows what the audit costs.

Run from the repository root: ``python benchmarks/review_scaling.py [--sizes 1000 10000 100000]``.
It always exits 0: it reports PASS/FAIL against the target, it does not gate.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _gen import generate_diff

from prbot.app.review import ReviewOptions, run_review
from prbot.diff.filters import filter_diff
from prbot.diff.parse import parse_diff
from prbot.review.builtin import builtin_review

TARGET_LINES = 100_000
TARGET_SECONDS = 3.0
DEFAULT_SIZES = (1_000, 10_000, 100_000)
MIB = 1024 * 1024
NO_AUDIT_CONFIG = "audit:\n  enabled: false\n"


@dataclass
class EndToEnd:
    """Medians over the runs of one ``prbot review`` command line, and the largest RSS."""

    wall_s: float
    cpu_s: float
    rss_mib: float
    findings: int | None
    error: str | None = None


@dataclass
class Row:
    lines: int
    size_bytes: int
    parse_s: float
    filter_s: float
    builtin_s: float
    run_review_s: float
    stages_peak_mib: float
    heap_peak_mib: float
    findings: int
    e2e: EndToEnd
    e2e_no_audit: EndToEnd


def prbot_command() -> list[str]:
    """The ``prbot`` console script installed next to this interpreter, as CI would call it."""
    folder = Path(sys.executable).parent
    for name in ("prbot", "prbot.exe"):
        if (folder / name).exists():
            return [str(folder / name)]
    return [sys.executable, "-m", "prbot"]


def child_env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def _timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median wall time of ``repeat`` calls, and the last result."""
    times: list[float] = []
    result: object = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _run_child(argv: list[str], cwd: Path) -> tuple[float, float, float, int, str]:
    """Wall seconds, CPU seconds, max RSS in MiB, exit code and output of one subprocess.

    ``os.wait4`` gives the rusage of this child alone (``RUSAGE_CHILDREN`` would be the maximum
    over every child so far, hiding a smaller run after a bigger one). Output goes to files, not
    pipes, so a chatty child cannot block while nobody reads.
    """
    out_path, err_path = cwd / "stdout.json", cwd / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=child_env()
        )
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    # Linux reports KiB, macOS bytes.
    rss = usage.ru_maxrss / (MIB if sys.platform == "darwin" else 1024)
    cpu = usage.ru_utime + usage.ru_stime
    text = out_path.read_text("utf-8", "replace")
    if code != 0:
        text = err_path.read_text("utf-8", "replace") or text
    return elapsed, cpu, rss, code, text


def end_to_end(diff_file: Path, workdir: Path, repeat: int, *, audit: bool = True) -> EndToEnd:
    """``prbot review --diff FILE --json --model builtin`` in a fresh folder per run."""
    walls: list[float] = []
    cpus: list[float] = []
    rss = 0.0
    findings: int | None = None
    error = None
    for i in range(repeat):
        cwd = workdir / f"e2e-{diff_file.stem}-{'audit' if audit else 'noaudit'}-{i}"
        cwd.mkdir()
        if not audit:
            (cwd / ".prbot.yml").write_text(NO_AUDIT_CONFIG)
        argv = [*prbot_command(), "review", "--diff", str(diff_file), "--json"]
        wall, cpu, child_rss, code, text = _run_child([*argv, "--model", "builtin"], cwd)
        walls.append(wall)
        cpus.append(cpu)
        rss = max(rss, child_rss)
        if code != 0:
            lines = text.strip().splitlines()
            error = f"exit {code}: {lines[-1] if lines else '(no output)'}"
        else:
            findings = len(json.loads(text)["findings"])
    return EndToEnd(statistics.median(walls), statistics.median(cpus), rss, findings, error)


def _traced_peak(fn: Callable[[], object]) -> float:
    """Peak MiB that Python allocated while ``fn`` ran (its result is dropped inside)."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / MIB
    finally:
        tracemalloc.stop()


def measure(lines: int, repeat: int, workdir: Path, seed: int = 1) -> Row:
    synthetic = generate_diff(lines, seed=seed)
    raw = synthetic.text.encode("utf-8")
    diff_file = workdir / f"synthetic-{lines}.diff"
    diff_file.write_bytes(raw)

    parse_s, parsed = _timed(lambda: parse_diff(raw), repeat)
    diff = parsed[0]  # type: ignore[index]
    filter_s, _ = _timed(lambda: filter_diff(diff), repeat)
    builtin_s, _ = _timed(lambda: builtin_review(diff), repeat)

    def stages() -> object:
        parsed_diff = parse_diff(raw)[0]
        filter_diff(parsed_diff)
        return builtin_review(parsed_diff)  # on the whole diff, as run_review does

    stages_peak = _traced_peak(stages)

    runs = iter(range(10**6))

    def review_once() -> object:
        cwd = workdir / f"run-{lines}-{next(runs)}"
        cwd.mkdir()
        return run_review(ReviewOptions(diff_file=str(diff_file), cwd=cwd, model="builtin"))

    run_review_s, outcome = _timed(review_once, repeat)
    findings = len(outcome.result.all_findings)  # type: ignore[attr-defined]

    heap_peak = _traced_peak(review_once)

    e2e = end_to_end(diff_file, workdir, repeat)
    if e2e.error is None and e2e.findings != findings:
        e2e.error = f"{e2e.findings} findings end to end, {findings} from run_review"
    return Row(
        lines=synthetic.changed_lines,
        size_bytes=len(raw),
        parse_s=parse_s,
        filter_s=filter_s,
        builtin_s=builtin_s,
        run_review_s=run_review_s,
        stages_peak_mib=stages_peak,
        heap_peak_mib=heap_peak,
        findings=findings,
        e2e=e2e,
        e2e_no_audit=end_to_end(diff_file, workdir, repeat, audit=False),
    )


_COLUMNS = (
    ("lines", 7), ("bytes", 9), ("parse s", 7), ("filter s", 8), ("builtin s", 9),
    ("run_review s", 12), ("end-to-end s", 12), ("e2e CPU s", 9), ("no-audit s", 10),
    ("stages MiB", 10), ("peak MiB", 8), ("e2e RSS MiB", 11), ("findings", 8),
)  # fmt: skip


def format_header() -> str:
    return " ".join(f"{name:>{width}}" for name, width in _COLUMNS)


def format_row(r: Row) -> str:
    values = (
        r.lines, r.size_bytes, f"{r.parse_s:.3f}", f"{r.filter_s:.4f}", f"{r.builtin_s:.3f}",
        f"{r.run_review_s:.3f}", f"{r.e2e.wall_s:.3f}", f"{r.e2e.cpu_s:.3f}",
        f"{r.e2e_no_audit.wall_s:.3f}", f"{r.stages_peak_mib:.1f}", f"{r.heap_peak_mib:.1f}",
        f"{r.e2e.rss_mib:.1f}",
        r.findings,
    )  # fmt: skip
    return " ".join(f"{v:>{width}}" for v, (_, width) in zip(values, _COLUMNS, strict=True))


def _sizes(parser: argparse.ArgumentParser, values: Sequence[str]) -> list[int]:
    try:
        sizes = [int(v.replace("_", "")) for item in values for v in item.split(",") if v.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        parser.error(f"--sizes takes positive integers, got {' '.join(values)!r}")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", nargs="+", default=[str(s) for s in DEFAULT_SIZES],
        help="changed lines per synthetic diff (space- or comma-separated)",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median shown)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sizes = _sizes(parser, args.sizes)
    repeat = max(1, args.repeat)

    print(
        f"review scaling, builtin reviewer, median of {repeat} run(s); "
        f"python {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} CPU(s)"
    )
    print(
        "end-to-end = `prbot review --diff FILE --json --model builtin` in a subprocess "
        "(CPU = its user+sys time, no-audit = same with audit.enabled: false); "
        "stages MiB / peak MiB = tracemalloc peak of parse+filter+builtin / of run_review; "
        "e2e RSS = max RSS of the child"
    )
    print(format_header())
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="prbot-bench-") as tmp:
        for n in sizes:
            row = measure(n, repeat, Path(tmp), seed=args.seed)
            rows.append(row)
            print(format_row(row), flush=True)
            for label, run in (("end-to-end", row.e2e), ("no-audit", row.e2e_no_audit)):
                if run.error:
                    print(f"  {label} problem: {run.error}")
    target = f"target: {TARGET_LINES} lines end to end < {TARGET_SECONDS} s:"
    at_target = [r for r in rows if r.lines == TARGET_LINES]
    if at_target:
        e2e = at_target[0].e2e
        verdict = "PASS" if e2e.wall_s < TARGET_SECONDS and not e2e.error else "FAIL"
        print(f"{target} {verdict} ({e2e.wall_s:.2f} s)")
    else:
        print(f"{target} not measured")
    return 0


if __name__ == "__main__":
    sys.exit(main())
