"""How ``prbot review`` scales with the size of the diff (builtin reviewer, no model).

Each stage is timed on its own (parse, filter, builtin checks) so a regression points at the
stage that caused it, then the whole in-process pipeline (``run_review``, audit included) and
finally the real command in a subprocess, which is what a CI job pays. Timings are taken with
tracemalloc off (it slows allocation-heavy code several times); the Python heap peak comes from
one extra ``run_review`` under tracemalloc, and the end-to-end memory is the child's max RSS.

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


@dataclass
class Row:
    lines: int
    size_bytes: int
    parse_s: float
    filter_s: float
    builtin_s: float
    run_review_s: float
    end_to_end_s: float
    heap_peak_mib: float
    rss_mib: float
    findings: int
    e2e_error: str | None = None


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


def _run_child(argv: list[str], cwd: Path) -> tuple[float, float, int, str]:
    """Wall seconds, max RSS in MiB, exit code and stdout of one subprocess.

    ``os.wait4`` gives the rusage of this child alone (``RUSAGE_CHILDREN`` would be the maximum
    over every child so far, hiding a smaller run after a bigger one).
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
    text = out_path.read_text("utf-8", "replace")
    return elapsed, rss, code, text if code == 0 else err_path.read_text("utf-8", "replace") or text


def measure(lines: int, repeat: int, workdir: Path, seed: int = 1) -> Row:
    synthetic = generate_diff(lines, seed=seed)
    raw = synthetic.text.encode("utf-8")
    diff_file = workdir / f"synthetic-{lines}.diff"
    diff_file.write_bytes(raw)

    parse_s, parsed = _timed(lambda: parse_diff(raw), repeat)
    diff = parsed[0]  # type: ignore[index]
    filter_s, _ = _timed(lambda: filter_diff(diff), repeat)
    builtin_s, _ = _timed(lambda: builtin_review(diff), repeat)

    runs = iter(range(10**6))

    def review_once() -> object:
        cwd = workdir / f"run-{lines}-{next(runs)}"
        cwd.mkdir()
        opts = ReviewOptions(diff_file=str(diff_file), cwd=cwd, model="builtin")
        return run_review(opts)

    run_review_s, outcome = _timed(review_once, repeat)
    findings = len(outcome.result.all_findings)  # type: ignore[attr-defined]

    gc.collect()
    tracemalloc.start()
    review_once()
    heap_peak = tracemalloc.get_traced_memory()[1] / MIB
    tracemalloc.stop()

    e2e_times: list[float] = []
    rss = 0.0
    error = None
    for _ in range(repeat):
        cwd = workdir / f"e2e-{lines}-{next(runs)}"
        cwd.mkdir()
        argv = [
            *prbot_command(),
            "review",
            "--diff",
            str(diff_file),
            "--json",
            "--model",
            "builtin",
        ]
        elapsed, child_rss, code, text = _run_child(argv, cwd)
        e2e_times.append(elapsed)
        rss = max(rss, child_rss)
        if code != 0:
            error = f"exit {code}: {text.strip().splitlines()[-1] if text.strip() else ''}"
        elif len(json.loads(text)["findings"]) != findings:
            error = "end-to-end findings differ from run_review"
    return Row(
        lines=synthetic.changed_lines,
        size_bytes=len(raw),
        parse_s=parse_s,
        filter_s=filter_s,
        builtin_s=builtin_s,
        run_review_s=run_review_s,
        end_to_end_s=statistics.median(e2e_times),
        heap_peak_mib=heap_peak,
        rss_mib=rss,
        findings=findings,
        e2e_error=error,
    )


_HEADER = (
    f"{'lines':>8} {'bytes':>11} {'parse s':>8} {'filter s':>8} {'builtin s':>9} "
    f"{'run_review s':>12} {'end-to-end s':>12} {'peak MiB':>8} {'e2e RSS MiB':>11} {'findings':>8}"
)


def format_row(r: Row) -> str:
    return (
        f"{r.lines:>8} {r.size_bytes:>11} {r.parse_s:>8.3f} {r.filter_s:>8.4f} {r.builtin_s:>9.3f} "
        f"{r.run_review_s:>12.3f} {r.end_to_end_s:>12.3f} {r.heap_peak_mib:>8.1f} "
        f"{r.rss_mib:>11.1f} {r.findings:>8}"
    )


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
    print("peak MiB = tracemalloc peak of run_review; e2e RSS = max RSS of `prbot review` child")
    print(_HEADER)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="prbot-bench-") as tmp:
        for n in sizes:
            row = measure(n, repeat, Path(tmp), seed=args.seed)
            rows.append(row)
            print(format_row(row), flush=True)
            if row.e2e_error:
                print(f"  end-to-end problem: {row.e2e_error}")
    at_target = [r for r in rows if r.lines == TARGET_LINES]
    if at_target:
        e2e = at_target[0].end_to_end_s
        verdict = "PASS" if e2e < TARGET_SECONDS and not at_target[0].e2e_error else "FAIL"
        print(
            f"target: {TARGET_LINES} lines end to end < {TARGET_SECONDS} s: {verdict} ({e2e:.2f} s)"
        )
    else:
        print(f"target: {TARGET_LINES} lines end to end < {TARGET_SECONDS} s: not measured")
    return 0


if __name__ == "__main__":
    sys.exit(main())
