"""Shared fixtures: an isolated environment for every test, real git repositories in temp dirs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

# Environment variables that would make a test depend on the machine it runs on.
_LEAKY_PREFIXES = (
    "GITHUB_",
    "GITLAB_",
    "CI_",
    "BITBUCKET_",
    "PRBOT_",
    "OPENAI_",
    "ANTHROPIC_",
    "LITELLM_",
)
_LEAKY_NAMES = {"CI", "GITLAB_CI", "GITHUB_ACTIONS", "NO_COLOR", "FORCE_COLOR"}


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith(_LEAKY_PREFIXES) or name in _LEAKY_NAMES:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.setenv("COLUMNS", "120")
    # Never let LiteLLM reach the network for its cost map.
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` with a fixed identity and return stdout."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Author",
        "GIT_COMMITTER_EMAIL": "author@example.com",
    }
    out = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return out.stdout


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A real git repository on ``main`` with one commit."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# demo\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


from tests.fakes.bitbucket_server import fake_bitbucket  # noqa: E402,F401
from tests.fakes.github_server import fake_github  # noqa: E402,F401
from tests.fakes.gitlab_server import fake_gitlab  # noqa: E402,F401
from tests.fakes.openai_server import fake_model  # noqa: E402,F401  (fixture shared by every test dir)
