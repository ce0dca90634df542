"""Keep the benchmark scripts runnable: each main() at its smallest size, no timing asserted.

The scripts live outside the package and no other test imports them, so without this they
would rot silently when an API they call changes. The synthetic-diff generator is checked for
what the figures rely on: the exact number of changed lines and the findings it says it plants.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from prbot.diff.filters import filter_diff
from prbot.diff.parse import parse_diff
from prbot.review.builtin import builtin_review

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str) -> ModuleType:
    module_name = f"prbot_bench_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("lines", [1, 7, 99, 100, 1000, 2500])
def test_generator_makes_exactly_the_changed_lines_asked_for(lines: int) -> None:
    gen = _load("_gen").generate_diff(lines)
    diff, skipped = parse_diff(gen.text)
    assert skipped == []
    assert diff.additions + diff.deletions == lines == gen.changed_lines
    assert len(diff.files) == gen.files
    assert gen.size_bytes == len(gen.text.encode())
    assert gen.text == _load("_gen").generate_diff(lines).text  # deterministic


def test_generator_plants_the_findings_it_reports() -> None:
    gen = _load("_gen").generate_diff(3000, seed=7)
    diff, _ = parse_diff(gen.text)
    rules = Counter(f.rule for f in builtin_review(diff))
    secrets = sum(n for rule, n in rules.items() if rule.startswith("secret/"))
    assert gen.planted["secret"] >= 3
    assert secrets == gen.planted["secret"]
    assert rules["todo-added"] == gen.planted["todo"] > 0
    assert rules["debug/print"] == gen.planted["print"] > 0
    assert rules["debug/console-log"] == gen.planted["console-log"] > 0
    assert rules["lockfile-drift"] == gen.planted["lockfile-drift"] == 1
    _, skipped = filter_diff(diff)
    assert [s.path for s in skipped] == ["web/package-lock.json"]


def test_generator_rejects_an_empty_size() -> None:
    with pytest.raises(ValueError):
        _load("_gen").generate_diff(0)


def test_review_scaling_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    mod = _load("review_scaling")
    assert mod.main(["--sizes", "150", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    rows = [ln.split() for ln in out.splitlines() if ln.strip().startswith("150 ")]
    assert len(rows) == 1 and len(rows[0]) == 13
    assert int(rows[0][-1]) > 0  # findings: the builtin checks did work
    assert "problem" not in out  # both end-to-end runs exited 0 with the same findings
    assert "not measured" in out  # 100k is not among the sizes, so no verdict is claimed


def test_review_scaling_refuses_bad_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    mod = _load("review_scaling")
    for bad in (["0"], ["ten"], ["100,-5"]):
        with pytest.raises(SystemExit) as exc:
            mod.main(["--sizes", *bad])
        assert exc.value.code == 2
    assert "--sizes takes positive integers" in capsys.readouterr().err


def test_prompt_tokens_builds_chunks_without_a_model(capsys: pytest.CaptureFixture[str]) -> None:
    mod = _load("prompt_tokens")
    litellm_before = "litellm" in sys.modules  # other tests in the same run may import it
    assert mod.main(["--sizes", "200", "2000", "--context-tokens", "8192"]) == 0
    out = capsys.readouterr().out
    rows = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln.strip()[:1].isdigit()}
    assert set(rows) == {"200", "2000"}
    assert int(rows["2000"][2]) > int(rows["200"][2]) >= 1  # more lines, more chunks
    assert int(rows["2000"][-1]) >= 1  # planted secrets were redacted before any prompt
    assert ("litellm" in sys.modules) == litellm_before  # building prompts needs no model client


def test_cold_start_reports_that_the_cli_does_not_import_litellm(
    capsys: pytest.CaptureFixture[str],
) -> None:
    mod = _load("cold_start")
    assert mod.main(["--runs", "1", "--warmup", "0"]) == 0
    out = capsys.readouterr().out
    for label in ("python -c pass", "python -m prbot --help", "import prbot.cli.main"):
        assert label in out
    assert "litellm imported: False" in out
    assert "exit " not in out  # every command ran successfully
