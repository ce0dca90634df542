"""``prbot review`` inside a real git repository: base detection, staged/working-tree, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git
from tests.helpers import prbot


@pytest.fixture
def feature_repo(git_repo: Path) -> Path:
    git(git_repo, "checkout", "-q", "-b", "feature")
    (git_repo / "app.py").write_text("def f():\n    breakpoint()\n    return 1\n")
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-q", "-m", "Add f")
    return git_repo


def _rules(doc: dict) -> set[tuple[str, str]]:
    return {(f["path"], f["rule"]) for f in doc["findings"]}


def test_committed_changes_against_main(feature_repo: Path) -> None:
    run = prbot("review", "--json", cwd=feature_repo)
    assert run.code == 0, run.err
    doc = run.json()
    assert ("app.py", "debug/breakpoint") in _rules(doc)
    assert doc["source"] == "git:committed"
    assert len(doc["head_sha"]) == 40 and len(doc["base_sha"]) == 40


def test_uncommitted_work_only_with_flags(feature_repo: Path) -> None:
    (feature_repo / "staged.py").write_text("import pdb; pdb.set_trace()\n")
    git(feature_repo, "add", "staged.py")
    (feature_repo / "untracked.js").write_text("console.log('x')\n")
    committed = _rules(prbot("review", "--json", cwd=feature_repo).json())
    assert ("staged.py", "debug/breakpoint") not in committed
    staged = _rules(prbot("review", "--staged", "--json", cwd=feature_repo).json())
    assert ("staged.py", "debug/breakpoint") in staged
    assert ("untracked.js", "debug/console-log") not in staged
    working = _rules(prbot("review", "--working-tree", "--json", cwd=feature_repo).json())
    assert ("untracked.js", "debug/console-log") in working
    assert ("app.py", "debug/breakpoint") in working


def test_base_from_origin_head(tmp_path: Path, feature_repo: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(feature_repo), str(clone))
    # origin/HEAD points at origin/feature (the checked-out branch of the source repo); a new
    # branch on top of it must be diffed against that, not against main.
    git(clone, "checkout", "-q", "-b", "topic")
    (clone / "b.py").write_text("# TODO: later\n")
    git(clone, "add", ".")
    git(clone, "commit", "-q", "-m", "b")
    doc = prbot("review", "--json", cwd=clone).json()
    paths = {f["path"] for f in doc["findings"]}
    assert "b.py" in paths and "app.py" not in paths


def test_master_fallback_and_explicit_base(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "master")
    (repo / "a.txt").write_text("a\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "a")
    git(repo, "checkout", "-q", "-b", "work")
    (repo / "c.py").write_text("x = 1  # FIXME\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "c")
    doc = prbot("review", "--json", cwd=repo).json()
    assert ("c.py", "todo-added") in _rules(doc)
    same = prbot("review", "--json", "--base", "work", cwd=repo).json()
    assert same["findings"] == [] or all(f["path"] != "c.py" for f in same["findings"])


def test_unknown_base_is_exit_2(feature_repo: Path) -> None:
    run = prbot("review", "--base", "nope", cwd=feature_repo)
    assert run.code == 2
    assert "unknown base branch 'nope'" in run.err
    assert "--base" in run.err


def test_not_a_git_repo(tmp_path: Path) -> None:
    run = prbot("review", cwd=tmp_path)
    assert run.code == 2
    assert "not a git repository" in run.err
    assert "--diff" in run.err


def test_no_changes_is_nothing_to_review(git_repo: Path) -> None:
    git(git_repo, "checkout", "-q", "-b", "empty")
    run = prbot("review", cwd=git_repo)
    assert run.code == 0
    assert "Nothing to review" in run.out


def test_hook_install_writes_an_executable_pre_push(feature_repo: Path) -> None:
    run = prbot("hook", "install", cwd=feature_repo)
    assert run.code == 0, run.err
    hook = feature_repo / ".git" / "hooks" / "pre-push"
    text = hook.read_text()
    assert "prbot review --fail-on error" in text
    assert hook.stat().st_mode & 0o111
    (hook).write_text("#!/bin/sh\necho mine\n")
    refused = prbot("hook", "install", cwd=feature_repo)
    assert refused.code == 2 and "--force" in refused.err
    assert prbot("hook", "install", "--force", "--fail-on", "warning", cwd=feature_repo).code == 0
    assert "--fail-on warning" in hook.read_text()
    assert prbot("hook", "uninstall", cwd=feature_repo).code == 0
    assert not hook.exists()
