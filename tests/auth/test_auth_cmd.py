"""``prbot auth login | status | logout`` through typer's runner, with real keyring backends."""

from __future__ import annotations

import json
from collections.abc import Iterator

import keyring
import keyring.backends.fail
import keyring.backends.null
import pytest
import typer
from typer.testing import CliRunner

from prbot.cli.auth_cmd import app as auth_app
from prbot.errors import UsageError
from tests.auth import MemoryKeyring

TOKEN = "ghp_" + "T0k3n" * 7 + "wxyz"

root = typer.Typer()
root.add_typer(auth_app, name="auth")


@root.callback()
def _root() -> None:
    """Stand-in for the real root command."""


runner = CliRunner()


@pytest.fixture
def memory() -> Iterator[MemoryKeyring]:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(keyring.backends.null.Keyring())


@pytest.fixture
def failing() -> Iterator[None]:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(keyring.backends.null.Keyring())


def test_login_with_hidden_prompt(memory: MemoryKeyring) -> None:
    result = runner.invoke(root, ["auth", "login", "github"], input=f"{TOKEN}\n")
    assert result.exit_code == 0, result.output
    assert memory.store == {("prbot", "github"): TOKEN}
    assert TOKEN not in result.output  # hidden input is not echoed, confirmation is masked
    assert "ghp_…wxyz" in result.output


def test_login_defaults_to_github_and_reads_stdin(memory: MemoryKeyring) -> None:
    result = runner.invoke(root, ["auth", "login", "--token-stdin"], input=f"{TOKEN}\n")
    assert result.exit_code == 0, result.output
    assert memory.store[("prbot", "github")] == TOKEN


def test_login_model_key(memory: MemoryKeyring) -> None:
    key = "sk-" + "m" * 40
    result = runner.invoke(root, ["auth", "login", "model:openai", "--token-stdin"], input=key)
    assert result.exit_code == 0
    assert memory.store[("prbot", "model:openai")] == key


@pytest.mark.parametrize("given", ["\n", "ghp_has space\n", "a\x01b\n"])
def test_login_refuses_bad_tokens(memory: MemoryKeyring, given: str) -> None:
    result = runner.invoke(root, ["auth", "login", "gitlab", "--token-stdin"], input=given)
    assert isinstance(result.exception, UsageError)
    assert memory.store == {}
    assert "has space" not in result.exception.one_line()


def test_login_refuses_in_ci(memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    result = runner.invoke(root, ["auth", "login", "gitlab", "--token-stdin"], input=TOKEN)
    assert isinstance(result.exception, UsageError)
    assert result.exception.one_line() == (
        "prbot auth login is for local use; in CI set GITLAB_TOKEN as a CI secret instead"
    )
    assert memory.calls == []


def test_login_without_keyring(failing: None) -> None:
    result = runner.invoke(root, ["auth", "login", "bitbucket", "--token-stdin"], input=TOKEN)
    assert isinstance(result.exception, UsageError)
    assert result.exception.one_line() == (
        "no OS keyring available here (typical on headless CI): set PRBOT_BITBUCKET_TOKEN instead"
    )


def test_login_unknown_target(memory: MemoryKeyring) -> None:
    result = runner.invoke(root, ["auth", "login", "gitea", "--token-stdin"], input=TOKEN)
    assert isinstance(result.exception, UsageError)
    assert memory.calls == []


def test_status_shows_sources_masked(
    memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory.store[("prbot", "gitlab")] = "glpat-" + "g" * 20 + "1234"
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    result = runner.invoke(root, ["auth", "status"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines == [
        "github: token from GITHUB_TOKEN: ghp_…wxyz",
        "gitlab: token from keyring: glpa…1234",
        "bitbucket: none",
    ]
    assert TOKEN not in result.output


def test_status_json_and_job_token(memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLAB_CI", "true")
    monkeypatch.setenv("CI_JOB_TOKEN", "job-token-" + "j" * 20)
    result = runner.invoke(root, ["auth", "status", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["github"] is None and doc["bitbucket"] is None
    assert doc["gitlab"] == {
        "kind": "job-token",
        "source": "CI_JOB_TOKEN",
        "masked": "job-…jjjj",
        "read_only": True,
    }
    assert memory.calls == []  # in CI the keyring is never asked


def test_status_with_a_broken_keyring_reports_per_forge(
    failing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    result = runner.invoke(root, ["auth", "status"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "github: token from GITHUB_TOKEN: ghp_…wxyz",
        "gitlab: no OS keyring available here (typical on headless CI): set GITLAB_TOKEN instead",
        "bitbucket: no OS keyring available here (typical on headless CI): set PRBOT_BITBUCKET_TOKEN instead",
    ]


def test_logout(memory: MemoryKeyring) -> None:
    memory.store[("prbot", "github")] = TOKEN
    result = runner.invoke(root, ["auth", "logout", "github"])
    assert result.exit_code == 0 and "removed the github token" in result.output
    assert memory.store == {}
    again = runner.invoke(root, ["auth", "logout", "github"])
    assert again.exit_code == 0 and "no github token was stored" in again.output


def test_logout_requires_a_target() -> None:
    result = runner.invoke(root, ["auth", "logout"])
    assert result.exit_code == 2
