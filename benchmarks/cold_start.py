"""Start-up cost of the ``prbot`` command, and a check that the CLI does not import LiteLLM.

Start-up is paid on every CI job and every git hook, so it is measured against a bare
interpreter (the floor nothing can beat) rather than in absolute terms only. ``import litellm``
takes seconds, which is why the CLI must only import it when a model is actually called; the
last command prints whether importing the CLI pulled it in.

Each command runs once untimed first (``--warmup``) (so ``__pycache__`` and the OS file cache are warm, as on a
developer machine or a CI runner with a cached virtualenv), then ``--runs`` times.

Run from the repository root: ``python benchmarks/cold_start.py [--runs 10]``. Always exits 0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HELP_TARGET_SECONDS = 0.3
LITELLM_PROBE = "import prbot.cli.main; import sys; print('litellm' in sys.modules)"


@dataclass
class Timing:
    label: str
    median_s: float
    min_s: float
    exit_code: int
    stdout: str


def prbot_script() -> Path | None:
    """The ``prbot`` console script installed next to this interpreter."""
    folder = Path(sys.executable).parent
    for name in ("prbot", "prbot.exe"):
        if (folder / name).exists():
            return folder / name
    return None


def _env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def time_command(label: str, argv: list[str], runs: int, warmup: int = 1) -> Timing:
    """Median and minimum wall time of ``runs`` runs after ``warmup`` untimed ones.

    The exit code and output reported are those of the first run, timed or not.
    """
    env = _env()
    first = None
    for _ in range(warmup):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        first = first or done
    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        times.append(time.perf_counter() - start)
        first = first or done
    assert first is not None
    return Timing(label, statistics.median(times), min(times), first.returncode, first.stdout)


def commands() -> list[tuple[str, list[str]]]:
    py = sys.executable
    script = prbot_script()
    out = [
        ("python -c pass", [py, "-c", "pass"]),
        ("python -m prbot --help", [py, "-m", "prbot", "--help"]),
    ]
    if script is not None:
        out.append(("prbot --version", [str(script), "--version"]))
    out.append(("import prbot.cli.main", [py, "-c", LITELLM_PROBE]))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first")
    args = parser.parse_args(argv)
    runs, warmup = max(1, args.runs), max(0, args.warmup)

    print(
        f"cold start, {runs} timed run(s) per command after {warmup} warm-up(s); "
        f"python {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} CPU(s)"
    )
    print(f"{'command':<26} {'median s':>9} {'min s':>7}  note")
    litellm_loaded: bool | None = None
    for label, cmd in commands():
        t = time_command(label, cmd, runs, warmup)
        notes: list[str] = []
        if t.exit_code != 0:
            notes.append(f"exit {t.exit_code}")
        if label.endswith("--help"):
            verdict = "PASS" if t.median_s < HELP_TARGET_SECONDS else "FAIL"
            notes.append(f"target < {HELP_TARGET_SECONDS} s: {verdict}")
        if cmd[-1] == LITELLM_PROBE:
            litellm_loaded = t.stdout.strip() == "True"
            notes.append(f"litellm imported: {t.stdout.strip() or '?'} (must be False)")
        print(f"{t.label:<26} {t.median_s:>9.3f} {t.min_s:>7.3f}  {'; '.join(notes)}".rstrip())
    if prbot_script() is None:
        print("prbot --version: no console script next to this interpreter (not timed)")
    if litellm_loaded:
        print("PROBLEM: importing the CLI imports litellm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
