"""Writing the report files: atomic, UTF-8 without BOM, clear errors, only what was asked for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prbot import __version__
from prbot.errors import ExitCode, PrbotError
from prbot.models import Finding, Severity
from prbot.reports import ReportError, write_json_atomic, write_reports
from prbot.reports.codequality import write_codequality
from prbot.reports.sarif import to_sarif, write_sarif
from tests.reports.test_sarif import real_findings


def test_write_reports_writes_both(tmp_path: Path) -> None:
    findings = real_findings()
    sarif, cq = tmp_path / "out" / "prbot.sarif", tmp_path / "gl-code-quality-report.json"
    written = write_reports(findings, sarif=sarif, codequality=cq, tool_version=__version__)
    assert written == [sarif, cq]
    raw = cq.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    items = json.loads(raw.decode("utf-8"))
    assert isinstance(items, list) and len(items) == len(findings)
    doc = json.loads(sarif.read_text(encoding="utf-8"))
    assert doc["version"] == "2.1.0"
    assert doc["runs"][0]["tool"]["driver"]["version"] == __version__
    assert [p.name for p in tmp_path.rglob(".*.tmp")] == []  # no temporary file left behind


def test_write_reports_only_what_is_asked(tmp_path: Path) -> None:
    assert write_reports([], sarif=None, codequality=None, tool_version="1") == []
    cq = tmp_path / "cq.json"
    assert write_reports([], sarif=None, codequality=cq, tool_version="1") == [cq]
    assert json.loads(cq.read_text()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cq.json"]


def test_rewrite_replaces_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("x" * 10_000)
    f = Finding("a.py", 1, Severity.ERROR, "r", "ü non-ascii stays readable")
    write_codequality(path, [{"description": f.message}])
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == [{"description": "ü non-ascii stays readable"}]
    assert "ü" in text
    write_sarif(path, to_sarif([f], tool_version="1"))
    assert json.loads(path.read_text())["version"] == "2.1.0"


def test_unwritable_targets_raise_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="is a directory") as exc:
        write_json_atomic(tmp_path, [])
    assert isinstance(exc.value, PrbotError)
    assert exc.value.exit_code == ExitCode.USAGE
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ReportError, match="cannot write report") as exc2:
        write_reports([], sarif=blocker / "sub" / "x.sarif", codequality=None, tool_version="1")
    assert "\n" not in exc2.value.one_line()
    assert "--sarif" in exc2.value.one_line()
    assert blocker.read_text() == ""
