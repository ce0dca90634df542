from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import prbot


def test_init_then_validate(tmp_path: Path) -> None:
    assert prbot("config", "init", cwd=tmp_path).code == 0
    assert (tmp_path / ".prbot.yml").is_file()
    again = prbot("config", "init", cwd=tmp_path)
    assert again.code == 2 and "--force" in again.err
    ok = prbot("config", "validate", cwd=tmp_path)
    assert ok.code == 0 and "valid" in ok.out


def test_validate_lists_every_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text(
        "version: 1\nmodel:\n  nmae: x\nreview:\n  max_comments: -1\n"
    )
    run = prbot("config", "validate", "bad.yml", cwd=tmp_path)
    assert run.code == 2
    lines = run.err.strip().splitlines()
    assert len(lines) == 2
    assert "bad.yml:3: model.nmae: unknown key (did you mean 'name'?)" in lines[0]
    assert "bad.yml:5: review.max_comments" in lines[1]
    as_json = prbot("config", "validate", "bad.yml", "--json", cwd=tmp_path)
    assert json.loads(as_json.out)["valid"] is False


def test_validate_without_a_file(tmp_path: Path) -> None:
    run = prbot("config", "validate", cwd=tmp_path)
    assert run.code == 2 and "prbot config init" in run.err


def test_schema_is_json_schema(tmp_path: Path) -> None:
    run = prbot("config", "schema", cwd=tmp_path)
    doc = json.loads(run.out)
    assert doc["$schema"].endswith("2020-12/schema")
    assert {"model", "review", "audit", "rules"} <= set(doc["properties"])
    assert doc["additionalProperties"] is False


def test_unknown_command_and_version(tmp_path: Path) -> None:
    run = prbot("reveiw", cwd=tmp_path)
    assert run.code == 2 and "Traceback" not in run.err
    assert prbot("--version", cwd=tmp_path).out.startswith("prbot ")
    assert "review" in prbot("--help", cwd=tmp_path).out


def test_help_does_not_import_litellm(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = "import sys, prbot.cli.main, prbot.app.review, prbot.cli.render; print('litellm' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert out.stdout.strip() == "False"
