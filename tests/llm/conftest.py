"""Fixtures for the model adapter and reviewer tests: the fake endpoint, settings, small diffs."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from prbot.config.schema import ModelSettings, ReviewSettings
from prbot.diff.model import DiffLine, FileDiff, FileStatus, Hunk
from tests.fakes.openai_server import FakeModelServer, fake_model  # noqa: F401  (fixture)

MODEL = "openai/gpt-4o-mini"
FAKE_KEY = "sk-test-fake"  # not a real key: the fake endpoint accepts anything


@pytest.fixture
def openai_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    return FAKE_KEY


def model_settings(server: FakeModelServer | None = None, **overrides: object) -> ModelSettings:
    """Fast, bounded settings: no transport retries and short timeouts unless a test asks."""
    values: dict[str, object] = {
        "name": MODEL,
        "timeout": 5.0,
        "max_retries": 0,
        "max_output_tokens": 512,
        "concurrency": 2,
    }
    if server is not None:
        values["api_base"] = server.base_url
    values.update(overrides)
    return ModelSettings(**values)


def review_settings(**overrides: object) -> ReviewSettings:
    return ReviewSettings(**overrides)


def file_diff(
    path: str,
    lines: Iterable[tuple[str, str]],
    *,
    old_start: int = 1,
    new_start: int = 1,
    status: FileStatus = FileStatus.MODIFIED,
) -> FileDiff:
    """One-hunk FileDiff from ``(kind, text)`` pairs with real old/new line numbers."""
    old_no, new_no = old_start, new_start
    out: list[DiffLine] = []
    for kind, text in lines:
        if kind == "+":
            out.append(DiffLine("+", text, None, new_no))
            new_no += 1
        elif kind == "-":
            out.append(DiffLine("-", text, old_no, None))
            old_no += 1
        else:
            out.append(DiffLine(" ", text, old_no, new_no))
            old_no += 1
            new_no += 1
    hunk = Hunk(old_start, old_no - old_start, new_start, new_no - new_start, lines=out)
    return FileDiff(path=path, status=status, hunks=[hunk])


def big_file(path: str, n_lines: int, width: int = 40) -> FileDiff:
    """An added file of ``n_lines`` distinct lines (for chunking tests)."""
    lines = [
        ("+", f"value_{i:04d} = compute('{path}', {i})".ljust(width, "#"))
        for i in range(1, n_lines + 1)
    ]
    return file_diff(path, lines, old_start=0, new_start=1, status=FileStatus.ADDED)
