from __future__ import annotations

import random
import string

from prbot.diff.model import Diff, DiffLine, FileDiff, FileStatus, Hunk
from prbot.models import Finding, Severity
from prbot.review.anchor import anchor_findings
from prbot.review.secrets import placeholder
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


def test_anchor_from_a_line_with_a_secret_does_not_repeat_the_secret() -> None:
    # Assembled at run time so this file holds nothing a secret scanner would take for a key.
    rng = random.Random("anchor")
    token = (
        "gh" + "p_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(36))
    )
    key_body = "".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(64))
    dashes = "-" * 5
    diff = Diff(
        files=[
            file_diff(
                "deploy.py",
                [
                    (" ", "import os"),
                    ("+", f'TOKEN = "{token}"'),
                    ("+", "KEY = '''"),
                    ("+", f"{dashes}BEGIN RSA PRIVATE KEY{dashes}"),
                    ("+", key_body),
                    ("+", f"{dashes}END RSA PRIVATE KEY{dashes}"),
                    ("+", "'''"),
                ],
            )
        ]
    )
    # A model finding carries no anchor of its own; line 5 is key material that no scan of that
    # line alone would recognise as a secret.
    lines = [1, 2, 5, 7]
    inline, summary = anchor_findings([_f("deploy.py", n) for n in lines], diff)
    assert summary == []
    assert [f.line for f in inline] == lines
    clean_before, token_anchor, key_anchor, clean_after = (f.anchor for f in inline)
    # lines without a secret keep their text, also after a redacted block of several lines
    assert (clean_before, clean_after) == ("import os", "'''")
    assert token not in token_anchor and token[4:] not in token_anchor
    assert token_anchor == f'TOKEN = "{placeholder("github-token", token)}"'
    assert key_body not in key_anchor and key_anchor.startswith("[REDACTED:private-key:")
    # the same line gives the same anchor, so the finding keeps its identity across runs
    again, _ = anchor_findings([_f("deploy.py", 2)], diff)
    assert again[0].fingerprint == inline[1].fingerprint
