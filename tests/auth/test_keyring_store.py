"""The keyring wrapper against real keyring backends: working, failing, locked, and never in CI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import keyring
import keyring.backends.fail
import keyring.backends.null
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked

from prbot.auth.keyring_store import (
    SERVICE,
    delete_secret,
    env_instead,
    get_secret,
    keyring_username,
    set_secret,
)
from prbot.errors import UsageError
from tests.auth import MemoryKeyring

SECRET = "ghp_" + "S" * 36


class LockedKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("locked")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("locked")


class DBusBrokenKeyring(KeyringBackend):
    """Like a Secret Service backend whose D-Bus session is gone: a plain RuntimeError."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError(f"dbus failure while storing {username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError(f"cannot store {password}")

    def delete_password(self, service: str, username: str) -> None:
        raise RuntimeError("gone")


UseBackend = Callable[[Any], Any]


@pytest.fixture
def use_backend() -> Iterator[UseBackend]:
    def _use(backend: KeyringBackend) -> KeyringBackend:
        keyring.set_keyring(backend)
        return backend

    yield _use
    keyring.set_keyring(keyring.backends.null.Keyring())


def test_round_trip(use_backend: UseBackend) -> None:
    backend = use_backend(MemoryKeyring())
    assert get_secret("github", {}) is None
    set_secret("GitHub", f"  {SECRET}\n", {})
    assert backend.store == {(SERVICE, "github"): SECRET}
    assert get_secret("github", {}) == SECRET
    assert delete_secret("github", {}) is True
    assert delete_secret("github", {}) is False
    assert get_secret("github", {}) is None


def test_model_entries(use_backend: UseBackend) -> None:
    backend = use_backend(MemoryKeyring())
    set_secret("model:openai", "sk-" + "x" * 30, {})
    assert (SERVICE, "model:openai") in backend.store


def test_null_backend_reads_nothing(use_backend: UseBackend) -> None:
    use_backend(keyring.backends.null.Keyring())
    assert get_secret("gitlab", {}) is None


@pytest.mark.parametrize(
    ("target", "variable"),
    [
        ("github", "GITHUB_TOKEN"),
        ("gitlab", "GITLAB_TOKEN"),
        ("bitbucket", "PRBOT_BITBUCKET_TOKEN"),
        ("model:openai", "OPENAI_API_KEY"),
        ("model:azure-ai", "AZURE_AI_API_KEY"),
    ],
)
def test_fail_backend_is_one_line_naming_the_variable(
    use_backend: UseBackend, target: str, variable: str
) -> None:
    use_backend(keyring.backends.fail.Keyring())
    expected = f"no OS keyring available here (typical on headless CI): set {variable} instead"
    for call in (
        lambda: get_secret(target, {}),
        lambda: set_secret(target, SECRET, {}),
        lambda: delete_secret(target, {}),
    ):
        with pytest.raises(UsageError) as info:
            call()
        assert info.value.one_line() == expected
        assert info.value.__suppress_context__
    assert env_instead(target) == variable


def test_runtime_errors_are_wrapped_without_their_text(use_backend: UseBackend) -> None:
    use_backend(DBusBrokenKeyring())
    with pytest.raises(UsageError) as info:
        set_secret("github", SECRET, {})
    assert SECRET not in info.value.one_line() and "dbus" not in info.value.one_line()
    with pytest.raises(UsageError, match=r"^no OS keyring available here"):
        get_secret("github", {})


def test_locked_keyring(use_backend: UseBackend) -> None:
    use_backend(LockedKeyring())
    with pytest.raises(UsageError) as info:
        get_secret("bitbucket", {})
    assert info.value.one_line() == (
        "the OS keyring is locked: unlock it, or set PRBOT_BITBUCKET_TOKEN instead"
    )


@pytest.mark.parametrize(
    "ci_env", [{"CI": "true"}, {"GITHUB_ACTIONS": "true"}, {"BITBUCKET_BUILD_NUMBER": "4"}]
)
def test_never_touches_the_keyring_in_ci(use_backend: UseBackend, ci_env: dict[str, str]) -> None:
    backend = use_backend(MemoryKeyring())
    backend.store[(SERVICE, "github")] = SECRET
    assert get_secret("github", ci_env) is None
    with pytest.raises(UsageError) as info:
        set_secret("github", SECRET, ci_env)
    assert info.value.one_line() == (
        "prbot does not use the OS keyring in CI: set GITHUB_TOKEN as a CI secret instead"
    )
    with pytest.raises(UsageError):
        delete_secret("github", ci_env)
    assert backend.calls == []


def test_empty_secret_is_refused(use_backend: UseBackend) -> None:
    backend = use_backend(MemoryKeyring())
    with pytest.raises(UsageError, match=r"^empty token"):
        set_secret("github", "  \n", {})
    assert backend.calls == []


def test_target_names_are_normalised() -> None:
    assert keyring_username(" GitHub\n") == "github"
    assert keyring_username("MODEL:OpenAI") == "model:openai"


@pytest.mark.parametrize(
    "target", ["", "gitea", "model:", "model:Open AI", "model:../x", "git\nhub"]
)
def test_unknown_targets(target: str) -> None:
    with pytest.raises(UsageError) as info:
        keyring_username(target)
    assert info.value.one_line().startswith("unknown credential ")
    assert "\n" not in info.value.one_line()
