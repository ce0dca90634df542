"""Turn a pull/merge request URL into the forge, repository, number and API base it names.

Outside CI the URL is the only thing that says which forge to talk to, so the forge is inferred from
the *shape of the path* rather than the host: Enterprise and self-managed installs live on any host.
The API base follows the same overrides as in CI, so every adapter can be pointed at a loopback
server in tests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from prbot.errors import UsageError

Forge = Literal["github", "gitlab", "bitbucket"]

GITHUB_DEFAULT_API = "https://api.github.com"
BITBUCKET_DEFAULT_API = "https://api.bitbucket.org/2.0"

_EXPECTED = "expected …/pull/N, …/-/merge_requests/N or …/pull-requests/N"
# One path segment of an owner, group, repository or slug. Anything else (``..``, encoded
# slashes, spaces) would end up in an API path, so it is refused rather than passed on.
_SEGMENT = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
_NUMBER = re.compile(r"^[0-9]{1,10}$")
_MAX_URL = 2048


@dataclass(frozen=True)
class PRRef:
    """Where a pull/merge request lives: enough for an adapter to fetch it.

    ``repo`` is ``owner/name`` (GitHub), the full project path ``group/sub/project`` (GitLab) or
    ``workspace/slug`` (Bitbucket). ``web_url`` is the canonical page, without trailing segments.
    """

    forge: Forge
    repo: str
    number: int
    api_url: str
    web_url: str


def parse_pr_url(url: str, env: Mapping[str, str]) -> PRRef:
    """Parse ``url``; raise :class:`UsageError` with one line when it names no pull request."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text) if len(text) <= _MAX_URL else None
        host = (parts.hostname or "") if parts else ""
        port = parts.port if parts else None
    except ValueError:  # e.g. a non-numeric port
        parts, host, port = None, "", None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
        raise _not_a_pr(text)
    scheme = parts.scheme.lower()
    # Credentials in the URL are dropped: they must never reach a log, the audit or an error.
    netloc = host.lower() if port is None else f"{host.lower()}:{port}"
    base = f"{scheme}://{netloc}"
    segments = [s for s in parts.path.split("/") if s]

    ref = (
        _gitlab(segments, base, env)
        or _github(segments, base, netloc, env)
        or _bitbucket(segments, base, env)
    )
    if ref is None:
        raise _not_a_pr(text)
    return ref


def _gitlab(segments: list[str], base: str, env: Mapping[str, str]) -> PRRef | None:
    if "-" not in segments:
        return None
    dash = segments.index("-")
    project, rest = segments[:dash], segments[dash + 1 :]
    if len(project) < 2 or len(rest) < 2 or rest[0] != "merge_requests":
        return None
    number = _number(rest[1])
    if number is None or not _valid_path(project):
        return None
    repo = "/".join(project)
    api = _override(env, "PRBOT_GITLAB_API_URL") or f"{base}/api/v4"
    return PRRef("gitlab", repo, number, api, f"{base}/{repo}/-/merge_requests/{number}")


def _github(segments: list[str], base: str, netloc: str, env: Mapping[str, str]) -> PRRef | None:
    if len(segments) < 4 or segments[2] != "pull":
        return None
    number = _number(segments[3])
    if number is None or not _valid_path(segments[:2]):
        return None
    host = netloc.split(":")[0]
    if host in ("github.com", "www.github.com"):
        base = "https://github.com"
        default_api = GITHUB_DEFAULT_API
    else:  # GitHub Enterprise Server serves its REST API under /api/v3 on the same host.
        default_api = f"{base}/api/v3"
    api = _github_api_override(env, netloc) or default_api
    repo = "/".join(segments[:2])
    return PRRef("github", repo, number, api, f"{base}/{repo}/pull/{number}")


def _bitbucket(segments: list[str], base: str, env: Mapping[str, str]) -> PRRef | None:
    if len(segments) < 4 or segments[2] != "pull-requests":
        return None
    number = _number(segments[3])
    if number is None or not _valid_path(segments[:2]):
        return None
    repo = "/".join(segments[:2])
    api = _override(env, "PRBOT_BITBUCKET_API_URL") or BITBUCKET_DEFAULT_API
    return PRRef("bitbucket", repo, number, api, f"{base}/{repo}/pull-requests/{number}")


def _github_api_override(env: Mapping[str, str], netloc: str) -> str:
    """``GITHUB_API_URL``, unless the runner says it belongs to another GitHub instance.

    Inside Actions on an Enterprise server, ``GITHUB_API_URL`` points at that server; a ``--pr``
    URL on github.com must not be sent there (and vice versa).
    """
    api = _override(env, "GITHUB_API_URL")
    server = _override(env, "GITHUB_SERVER_URL")
    if api and server:
        try:
            server_host = (urlsplit(server).netloc or "").lower()
        except ValueError:
            server_host = ""
        if server_host and server_host.split("@")[-1] not in (netloc, f"www.{netloc}"):
            return ""
    return api


def _override(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip().rstrip("/")


def _number(text: str) -> int | None:
    if not _NUMBER.match(text):
        return None
    value = int(text)
    return value if value > 0 else None


def _valid_path(segments: list[str]) -> bool:
    return all(_SEGMENT.match(s) and s not in (".", "..") for s in segments)


def _not_a_pr(text: str) -> UsageError:
    return UsageError(f"not a pull/merge request URL: {_shown(text)}", hint=_EXPECTED)


def _shown(text: str) -> str:
    """The URL as it may appear in an error: one line, bounded, without any user:password@."""
    shown = re.sub(r"[\x00-\x1f\x7f]", "?", text)
    shown = re.sub(r"(?<=://)[^/@?#]*@", "", shown)
    if len(shown) > 200:
        shown = shown[:200] + "…"
    return shown or "''"
