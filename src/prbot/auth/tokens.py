"""Which credential prbot uses for each forge (and model provider), and where it came from.

Resolution is environment-first: explicit prbot variables, then the CI's own, then the OS keyring
(only on a developer's machine). The :class:`Credential` never shows its value in ``repr``/``str``
so it can be logged, put in an error or an audit record without leaking the token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from prbot.auth import keyring_store
from prbot.ci.detect import running_in_ci
from prbot.errors import UsageError

CredentialKind = Literal["token", "bearer", "basic", "github-app", "job-token", "api-key"]

JOB_TOKEN_MESSAGE = (
    "CI_JOB_TOKEN can read but not write notes: set PRBOT_GITLAB_TOKEN to a project access token "
    "with the api scope"
)

# Tokens go into HTTP headers: whitespace or control characters would split or corrupt them.
_TOKEN_CHARS = re.compile(r"^[\x21-\x7e]+$")


def mask(value: str) -> str:
    """A recognisable but useless form of a secret: ``ghp_…abcd``.

    Short values show less, so the visible part never approaches the secret itself.
    """
    value = value or ""
    if len(value) >= 20:
        return f"{value[:4]}…{value[-4:]}"
    if len(value) >= 12:
        return f"…{value[-4:]}"
    return "…"


@dataclass(frozen=True, repr=False)
class Credential:
    """A secret plus where it came from.

    ``value`` is the token, app password or (``kind="github-app"``) the App's PEM private key;
    ``username`` is set for Basic auth; ``app_id``/``installation_id`` for a GitHub App, which the
    GitHub adapter exchanges for an installation token. ``message`` explains a ``read_only``
    credential in one line.
    """

    value: str
    source: str
    kind: CredentialKind
    read_only: bool = False
    message: str = ""
    username: str = ""
    app_id: str = ""
    installation_id: str = ""

    @property
    def masked(self) -> str:
        if self.kind == "github-app":
            inst = f", installation {self.installation_id}" if self.installation_id else ""
            return f"GitHub App {self.app_id}{inst}"
        if self.kind == "basic":
            return f"{self.username}:{mask(self.value)}"
        return mask(self.value)

    def describe(self) -> str:
        """One line for ``prbot auth status`` and logs."""
        ro = " (read-only)" if self.read_only else ""
        return f"{self.kind} from {self.source}: {self.masked}{ro}"

    def __repr__(self) -> str:
        return (
            f"Credential(kind={self.kind!r}, source={self.source!r}, value={self.masked!r}, "
            f"read_only={self.read_only!r})"
        )

    def __str__(self) -> str:
        return self.describe()


def resolve_token(forge: str, env: Mapping[str, str], *, allow_keyring: bool) -> Credential | None:
    """The credential for ``forge`` (``github``, ``gitlab``, ``bitbucket`` or ``model:<provider>``).

    ``None`` when there is none. The keyring is consulted only when ``allow_keyring`` and not in
    CI. A half-configured credential (an App id without its key, an app password without its user)
    is an error rather than a silent fall-through to a weaker one.
    """
    target = keyring_store.keyring_username(forge)
    use_keyring = allow_keyring and not running_in_ci(env)
    if target == "github":
        return _github(env, use_keyring)
    if target == "gitlab":
        return _gitlab(env, use_keyring)
    if target == "bitbucket":
        return _bitbucket(env, use_keyring)
    variable = keyring_store.env_instead(target)
    return _from_env(env, variable, "api-key") or _from_keyring(target, env, use_keyring, "api-key")


def _github(env: Mapping[str, str], use_keyring: bool) -> Credential | None:
    # An App configured for prbot wins over GITHUB_TOKEN: workflows pass the job token along
    # by default, and the App is what the user set up on purpose.
    return (
        _from_env(env, "PRBOT_GITHUB_TOKEN", "token")
        or _github_app(env)
        or _from_env(env, "GITHUB_TOKEN", "token")
        or _from_keyring("github", env, use_keyring, "token")
    )


def _github_app(env: Mapping[str, str]) -> Credential | None:
    app_id = _get(env, "PRBOT_GITHUB_APP_ID")
    key = _get(env, "PRBOT_GITHUB_APP_PRIVATE_KEY")
    if not app_id and not key:
        return None
    if not app_id:
        raise UsageError("PRBOT_GITHUB_APP_PRIVATE_KEY is set but PRBOT_GITHUB_APP_ID is not")
    if not key:
        raise UsageError("PRBOT_GITHUB_APP_ID is set but PRBOT_GITHUB_APP_PRIVATE_KEY is not")
    if not _TOKEN_CHARS.match(app_id):
        raise UsageError("PRBOT_GITHUB_APP_ID contains whitespace or control characters")
    # CI secret stores often flatten a PEM to one line with literal \n sequences.
    if "\n" not in key and "\\n" in key:
        key = key.replace("\\n", "\n")
    if "-----BEGIN" not in key or "PRIVATE KEY-----" not in key:
        raise UsageError(
            "PRBOT_GITHUB_APP_PRIVATE_KEY is not a PEM private key "
            "(expected -----BEGIN … PRIVATE KEY-----)"
        )
    installation = _get(env, "PRBOT_GITHUB_APP_INSTALLATION_ID")
    if installation and not re.fullmatch(r"[0-9]{1,20}", installation):
        raise UsageError("PRBOT_GITHUB_APP_INSTALLATION_ID is not a number")
    return Credential(
        key.strip() + "\n",
        "PRBOT_GITHUB_APP_ID",
        "github-app",
        app_id=app_id,
        installation_id=installation,
    )


def _gitlab(env: Mapping[str, str], use_keyring: bool) -> Credential | None:
    found = (
        _from_env(env, "PRBOT_GITLAB_TOKEN", "token")
        or _from_env(env, "GITLAB_TOKEN", "token")
        or _from_keyring("gitlab", env, use_keyring, "token")
    )
    if found:
        return found
    job = _from_env(env, "CI_JOB_TOKEN", "job-token")
    if job is None:
        return None
    return Credential(job.value, job.source, "job-token", read_only=True, message=JOB_TOKEN_MESSAGE)


def _bitbucket(env: Mapping[str, str], use_keyring: bool) -> Credential | None:
    bearer = _from_env(env, "PRBOT_BITBUCKET_TOKEN", "bearer")
    if bearer:
        return bearer
    password = _from_env(env, "BITBUCKET_APP_PASSWORD", "basic")
    if password:
        user = _get(env, "BITBUCKET_USERNAME")
        if not user:
            raise UsageError("BITBUCKET_APP_PASSWORD is set but BITBUCKET_USERNAME is not")
        if not _TOKEN_CHARS.match(user) or ":" in user:
            raise UsageError("BITBUCKET_USERNAME contains whitespace, ':' or control characters")
        return Credential(password.value, password.source, "basic", username=user)
    return _from_keyring("bitbucket", env, use_keyring, "bearer")


def _from_env(env: Mapping[str, str], name: str, kind: CredentialKind) -> Credential | None:
    value = _get(env, name)
    if not value:
        return None
    _check(value, name)
    return Credential(value, name, kind)


def _from_keyring(
    target: str, env: Mapping[str, str], use_keyring: bool, kind: CredentialKind
) -> Credential | None:
    if not use_keyring:
        return None
    value = keyring_store.get_secret(target, env)
    if not value:
        return None
    _check(value, f"the keyring entry {target!r}")
    return Credential(value, "keyring", kind)


def is_token_text(value: str) -> bool:
    """Whether ``value`` can go into an HTTP header as is: printable ASCII, no whitespace."""
    return bool(_TOKEN_CHARS.match(value))


def _check(value: str, where: str) -> None:
    if not is_token_text(value):
        raise UsageError(
            f"{where} contains whitespace, control or non-ASCII characters: paste the token alone"
        )


def _get(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()
