"""Workflow-command escaping, GITHUB_OUTPUT heredocs and step-summary truncation, on real files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prbot.ci.actions_output import (
    STEP_SUMMARY_LIMIT,
    workflow_annotation,
    write_outputs,
    write_step_summary,
)
from prbot.errors import PlatformError, UsageError


def test_plain_annotation() -> None:
    assert workflow_annotation("warning", "debug print left") == "::warning::debug print left"


def test_annotation_with_all_properties() -> None:
    line = workflow_annotation(
        "error", "secret added", file="src/app.py", line=3, end_line=5, title="secrets/aws"
    )
    assert line == "::error file=src/app.py,line=3,endLine=5,title=secrets/aws::secret added"


def test_message_escaping_matches_the_toolkit() -> None:
    line = workflow_annotation("notice", "100% done\r\nnext: a,b")
    # Message: only %, CR, LF are escaped; ':' and ',' stay.
    assert line == "::notice::100%25 done%0D%0Anext: a,b"


def test_property_escaping_matches_the_toolkit() -> None:
    line = workflow_annotation("error", "m", file="a,b:c%\n.py", title="x: y, z")
    assert line == "::error file=a%2Cb%3Ac%25%0A.py,title=x%3A y%2C z::m"


def test_injection_cannot_start_a_second_command() -> None:
    evil = "fine\n::add-mask::x\n::error file=/etc/passwd::pwned"
    line = workflow_annotation("warning", evil, title="t\n::stop-commands::tok")
    assert "\n" not in line and "\r" not in line
    assert line.count("::") == 2 + evil.count("::")  # only the command's own separators added
    assert line.startswith("::warning title=t%0A%3A%3Astop-commands%3A%3Atok::")


def test_escaping_order_does_not_double_escape() -> None:
    assert workflow_annotation("error", "%0A") == "::error::%250A"


def test_invalid_lines_are_dropped() -> None:
    assert workflow_annotation("error", "m", file="a.py", line=0) == "::error file=a.py::m"
    assert workflow_annotation("error", "m", line=5, end_line=2) == "::error line=5::m"
    assert workflow_annotation("error", "m", end_line=2) == "::error::m"


def test_unknown_level_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        workflow_annotation("fatal", "m")  # type: ignore[arg-type]


def test_outputs_unset_is_a_noop(tmp_path: Path) -> None:
    assert write_outputs({"a": "b"}, {}) is False
    assert write_step_summary("# hi", {"GITHUB_STEP_SUMMARY": ""}) is False
    assert list(tmp_path.iterdir()) == []


def _read_outputs(text: str) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file the way the runner does."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line:
            i += 1
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            body: list[str] = []
            i += 1
            while lines[i] != delim:
                body.append(lines[i])
                i += 1
            out[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            out[name] = value
        i += 1
    return out


def test_outputs_single_and_multi_line(tmp_path: Path) -> None:
    path = tmp_path / "output"
    path.write_text("earlier=1\n")
    values = {
        "findings": "3",
        "summary": "line one\nline two\n\nEOF\nghadelimiter_x",
        "equals": "a=b<<c",
    }
    assert write_outputs(values, {"GITHUB_OUTPUT": str(path)}) is True
    text = path.read_text()
    assert text.startswith("earlier=1\n")
    assert "findings=3\n" in text
    assert re.search(r"^summary<<ghadelimiter_[0-9a-f]{32}$", text, re.M)
    assert _read_outputs(text) == {"earlier": "1", **values}


def test_output_value_cannot_forge_another_output(tmp_path: Path) -> None:
    path = tmp_path / "output"
    evil = "x\nEOF\ninjected=yes"
    write_outputs({"summary": evil}, {"GITHUB_OUTPUT": str(path)})
    assert _read_outputs(path.read_text()) == {"summary": evil}


def test_delimiters_are_random(tmp_path: Path) -> None:
    path = tmp_path / "output"
    write_outputs({"a": "1\n2", "b": "3\n4"}, {"GITHUB_OUTPUT": str(path)})
    delims = re.findall(r"<<(\S+)", path.read_text())
    assert len(delims) == 2 and delims[0] != delims[1]


@pytest.mark.parametrize("name", ["", "a b", "a\nb=c", "x=y", "1abc", "a<<b"])
def test_bad_output_names(tmp_path: Path, name: str) -> None:
    path = tmp_path / "output"
    with pytest.raises(UsageError, match=r"^not a valid step output name"):
        write_outputs({name: "v"}, {"GITHUB_OUTPUT": str(path)})
    assert not path.exists()


def test_unwritable_output_file(tmp_path: Path) -> None:
    with pytest.raises(PlatformError, match=r"^cannot write GITHUB_OUTPUT"):
        write_outputs({"a": "b"}, {"GITHUB_OUTPUT": str(tmp_path)})


def test_step_summary_appends(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(path)}
    assert write_step_summary("# prbot\n\nall good", env) is True
    assert write_step_summary("second", env) is True
    assert path.read_text() == "# prbot\n\nall good\nsecond\n"


def test_step_summary_is_truncated_under_one_mib(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    markdown = "".join(f"| finding {i} | ✓ é |\n" for i in range(100_000))
    assert len(markdown.encode()) > STEP_SUMMARY_LIMIT
    assert write_step_summary(markdown, {"GITHUB_STEP_SUMMARY": str(path)}) is True
    data = path.read_bytes()
    assert len(data) <= STEP_SUMMARY_LIMIT
    text = data.decode("utf-8")  # never cut inside a character
    assert "Summary truncated by prbot" in text
    body = text.split("\n\n_Summary truncated")[0]
    assert markdown.startswith(body) and body.endswith("|\n")  # cut at a line end
    shown = int(re.search(r"(\d+) of (\d+) bytes", text).group(1))  # type: ignore[union-attr]
    assert shown == len(body.encode())


def test_step_summary_counts_what_the_step_already_wrote(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_text("x" * 900)
    env = {"GITHUB_STEP_SUMMARY": str(path)}
    assert write_step_summary("y\n" * 200, env, limit_bytes=1000) is False  # no room for the note
    assert path.stat().st_size == 900
    path.write_text("x" * 100)
    assert write_step_summary("y\n" * 1000, env, limit_bytes=1000) is True
    assert 900 < path.stat().st_size <= 1000


def test_truncation_closes_an_open_code_fence(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    markdown = "## Diff\n\n~~~~diff\n" + "+ added line\n" * 500 + "~~~~\n"
    write_step_summary(markdown, {"GITHUB_STEP_SUMMARY": str(path)}, limit_bytes=2000)
    text = path.read_text()
    before_note = text.split("\n\n_Summary truncated")[0]
    assert before_note.endswith("\n~~~~")
    assert len(text.encode()) <= 2000


def test_small_summary_is_untouched(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    write_step_summary("ok\n", {"GITHUB_STEP_SUMMARY": str(path)}, limit_bytes=2000)
    assert path.read_text() == "ok\n"


def test_delimiter_found_in_the_value_is_redrawn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import secrets

    draws = iter(["a" * 32, "b" * 32])
    monkeypatch.setattr(secrets, "token_hex", lambda n: next(draws))
    path = tmp_path / "output"
    value = f"x\nghadelimiter_{'a' * 32}\ninjected=yes"
    write_outputs({"body": value}, {"GITHUB_OUTPUT": str(path)})
    assert path.read_text().startswith(f"body<<ghadelimiter_{'b' * 32}\n")
    assert _read_outputs(path.read_text()) == {"body": value}
