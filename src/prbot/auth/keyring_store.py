"""Forge and model tokens in the OS keyring, for use on a developer's machine.

Headless machines (CI runners, containers) have no usable keyring: the ``keyring`` library then
raises on every call. Those failures become one line naming the environment variable to set
instead, and in CI the keyring is never touched at all, so a runner can neither hang on an unlock
prompt nor pick up a developer's stored token.

``keyring`` is imported inside the functions: it loads its backends on import, which costs start-up
time every command would pay.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping

from prbot.ci.detect import running_in_ci
from prbot.errors import UsageError

SERVICE = "prbot"
FORGES = ("github", "gitlab", "bitbucket")

#: The variable to set instead of the keyring, per forge (the one users most likely have).
ENV_INSTEAD = {
    "github": "GITHUB_TOKEN",
    "gitlab": "GITLAB_TOKEN",
    "bitbucket": "PRBOT_BITBUCKET_TOKEN",
}

_PROVIDER = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,39}$")


def keyring_username(target: str) -> str:
    """The keyring user name for ``target``: a forge name or ``model:<provider>``."""
    name = (target or "").strip().lower()
    if name in FORGES:
        return name
    if name.startswith("model:") and _PROVIDER.match(name[len("model:") :]):
        return name
    shown = re.sub(r"[\x00-\x1f\x7f]", "?", target or "")[:60]
    raise UsageError(
        f"unknown credential {shown!r}: use github, gitlab, bitbucket or model:<provider> "
        "(e.g. model:openai)"
    )


def env_instead(target: str) -> str:
    """The environment variable that replaces the keyring entry ``target``."""
    name = keyring_username(target)
    if name in ENV_INSTEAD:
        return ENV_INSTEAD[name]
    provider = name[len("model:") :]
    return f"{provider.upper().replace('-', '_')}_API_KEY"


def get_secret(target: str, env: Mapping[str, str]) -> str | None:
    """The stored secret, or ``None`` (also always ``None`` in CI, where the keyring is not used)."""
    user = keyring_username(target)
    if running_in_ci(env):
        return None
    with _wrapped(user):
        import keyring

        value = keyring.get_password(SERVICE, user)
    value = (value or "").strip()
    return value or None


def set_secret(target: str, value: str, env: Mapping[str, str]) -> None:
    user = keyring_username(target)
    _refuse_in_ci(user, env)
    if not value or not value.strip():
        raise UsageError("empty token: nothing stored")
    with _wrapped(user):
        import keyring

        keyring.set_password(SERVICE, user, value.strip())


def delete_secret(target: str, env: Mapping[str, str]) -> bool:
    """Remove the entry; ``False`` when there was none."""
    user = keyring_username(target)
    _refuse_in_ci(user, env)
    with _wrapped(user):
        import keyring
        import keyring.errors

        try:
            keyring.delete_password(SERVICE, user)
        except keyring.errors.PasswordDeleteError:
            return False
    return True


def _refuse_in_ci(user: str, env: Mapping[str, str]) -> None:
    if running_in_ci(env):
        raise UsageError(
            f"prbot does not use the OS keyring in CI: set {env_instead(user)} as a CI secret instead"
        )


@contextlib.contextmanager
def _wrapped(user: str) -> Iterator[None]:
    """Turn every keyring failure into one :class:`UsageError` line that names the way out.

    The backend's own message is not repeated: it is long, multi-line and sometimes names paths.
    """
    variable = env_instead(user)
    try:
        yield
    except UsageError:
        raise
    except ImportError:
        raise UsageError(f"the keyring library is not installed: set {variable} instead") from None
    except Exception as exc:
        import keyring.errors as kerr

        if isinstance(exc, kerr.KeyringLocked):
            raise UsageError(
                f"the OS keyring is locked: unlock it, or set {variable} instead"
            ) from None
        if isinstance(exc, (kerr.KeyringError, RuntimeError, OSError)):
            raise UsageError(
                f"no OS keyring available here (typical on headless CI): set {variable} instead"
            ) from None
        raise
