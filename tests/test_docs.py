"""The docs cannot drift: generated tables are current, links resolve, README commands match CI."""

from __future__ import annotations

import re

from prbot.docgen import main as docgen_main
from tests.helpers import REPO


def test_generated_tables_are_current() -> None:
    assert docgen_main(["--check", "--root", str(REPO)]) == 0


def test_relative_links_resolve() -> None:
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.name} -> {target}")
    assert broken == []


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    command = "python -m pip install -q -e '.[test]' && python -m pytest -q"
    assert command in readme
    assert command in ci.splitlines()


def test_every_command_is_documented() -> None:
    cli = (REPO / "docs" / "cli.md").read_text()
    for cmd in (
        "prbot review",
        "prbot run",
        "prbot explain",
        "prbot config validate",
        "prbot audit show",
        "prbot hook install",
        "prbot auth login",
    ):
        assert f"## `{cmd}" in cli
