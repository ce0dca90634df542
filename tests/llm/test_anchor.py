from __future__ import annotations

from prbot.diff.model import Diff, DiffLine, FileDiff, FileStatus, Hunk
from prbot.models import Finding, Severity
from prbot.review.llm_reviewer import anchor_findings
from tests.llm.conftest import file_diff


def _diff() -> Diff:
    app = file_diff(
        "app.py",
        [
            (" ", "import os"),
            ("-", "x = 1"),
            ("+", "x = eval(data)"),
            ("+", "y = x"),
            (" ", "print(y)"),
        ],
        old_start=10,
        new_start=10,
    )
    # a second hunk further down the same file
    app.hunks.append(
        Hunk(
            40,
            1,
            41,
            2,
            lines=[DiffLine(" ", "def f():", 40, 41), DiffLine("+", "    return 1", None, 42)],
        )
    )
    gone = FileDiff(
        "old.py",
        status=FileStatus.DELETED,
        hunks=[Hunk(1, 1, 0, 0, lines=[DiffLine("-", "a", 1, None)])],
    )
    return Diff(files=[app, gone])


def _f(path: str, line: int | None, end_line: int | None = None, anchor: str = "") -> Finding:
    return Finding(
        path, line, Severity.WARNING, "llm/x", "msg", source="m", end_line=end_line, anchor=anchor
    )


def test_commentable_lines_go_inline_with_their_text_as_anchor() -> None:
    inline, summary = anchor_findings(
        [_f("app.py", 11), _f("app.py", 10), _f("app.py", 42)], _diff()
    )
    assert [(f.line, f.anchor) for f in inline] == [
        (11, "x = eval(data)"),
        (10, "import os"),
        (42, "    return 1"),
    ]
    assert summary == []


def test_everything_else_goes_to_the_summary() -> None:
    findings = [
        _f("app.py", None),  # whole file
        _f("app.py", 30),  # between hunks
        _f("app.py", 9999),  # invented
        _f("old.py", 1),  # deleted file: nothing commentable on the new side
        _f("nowhere.py", 1),  # not in the diff
    ]
    inline, summary = anchor_findings(findings, _diff())
    assert inline == []
    assert summary == findings


def test_ranges_must_stay_inside_one_hunk() -> None:
    inline, _ = anchor_findings(
        [
            _f("app.py", 11, 12),
            _f("app.py", 11, 42),
            _f("app.py", 12, 11),
            _f("app.py", 11, 11),
            _f("app.py", 41, 42),
        ],
        _diff(),
    )
    assert [(f.line, f.end_line) for f in inline] == [
        (11, 12),
        (11, None),
        (12, None),
        (11, None),
        (41, 42),
    ]


def test_existing_anchor_is_kept() -> None:
    inline, _ = anchor_findings([_f("app.py", 11, anchor="custom")], _diff())
    assert inline[0].anchor == "custom"
