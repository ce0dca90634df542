"""GitHub App authentication: app JWT → installation access token.

An App token can approve PRs opened by people (``GITHUB_TOKEN`` often may not) and write check runs
from any CI, so prbot can run as an App. The JWT follows GitHub's rules: RS256, ``iat`` 60 s in the
past against clock drift, ``exp`` within 10 minutes. The private key and the JWT are secrets: they
never appear in an error message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from prbot import __version__
from prbot.errors import PlatformError, UsageError
from prbot.http import ApiClient, HttpError, HttpStatusError, make_client


def app_jwt(app_id: str | int, private_key_pem: str | bytes, *, now: float | None = None) -> str:
    """The short-lived RS256 JWT an App signs to talk to GitHub as itself."""
    try:
        import jwt
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise PlatformError("PyJWT is not installed", hint="pip install 'pyjwt[crypto]'") from exc
    issued = int(time.time() if now is None else now) - 60
    claims = {"iat": issued, "exp": issued + 600, "iss": str(app_id)}
    try:
        return jwt.encode(claims, private_key_pem, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        raise UsageError(
            "the GitHub App private key is not a valid RSA PEM key",
            hint="check PRBOT_GITHUB_APP_PRIVATE_KEY",
        ) from exc


def github_app_token(
    api_url: str,
    app_id: str | int,
    private_key_pem: str | bytes,
    *,
    repo: str,
    installation_id: int | str | None = None,
    client_factory: Callable[..., ApiClient] = make_client,
) -> str:
    """An installation access token (valid 1 h) for ``repo``; finds the installation if not given."""
    token = app_jwt(app_id, private_key_pem)
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": f"prbot/{__version__}",
    }
    client = client_factory(api_url, token=token, headers=headers)
    try:
        if installation_id is None:
            owner, _, name = repo.partition("/")
            path = f"repos/{quote(owner, safe='')}/{quote(name, safe='')}/installation"
            installation_id = _field(client, "GET", path, "id", app_id, repo)
        path = f"app/installations/{quote(str(installation_id), safe='')}/access_tokens"
        return str(_field(client, "POST", path, "token", app_id, repo))
    finally:
        client.close()


def _field(client: ApiClient, method: str, path: str, key: str, app_id: Any, repo: str) -> Any:
    try:
        resp = client.request(method, path, ok={200, 201}, idempotent=True)
    except HttpStatusError as exc:
        if exc.status == 401:
            msg = f"GitHub refused the App JWT (401) for app {app_id}: check the app id and key"
        elif exc.status == 404:
            msg = (
                f"GitHub App {app_id} is not installed on {repo} (or the installation id is wrong)"
            )
        else:
            msg = f"GitHub App token exchange failed: {exc.message}"
        raise PlatformError(msg) from None
    data = client.json_of(resp)
    value = data.get(key) if isinstance(data, dict) else None
    if not value:
        raise HttpError(f"GitHub App token exchange: the answer has no {key!r}")
    return value
