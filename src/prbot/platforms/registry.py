"""Open the Platform for a PR reference: the one place that maps a forge name to its adapter."""

from __future__ import annotations

from collections.abc import Mapping

from prbot.errors import UsageError
from prbot.platforms.base import Platform

SUPPORTED = ("github", "gitlab", "bitbucket")

_TOKEN_HINT = {
    "github": "set GITHUB_TOKEN or PRBOT_GITHUB_TOKEN (in a workflow: env: GITHUB_TOKEN: ${{ github.token }})",
    "gitlab": "set PRBOT_GITLAB_TOKEN to a token with the api scope",
    "bitbucket": "set PRBOT_BITBUCKET_TOKEN, or BITBUCKET_USERNAME and BITBUCKET_APP_PASSWORD",
}


def open_platform(ref, env: Mapping[str, str], *, in_ci: bool) -> Platform:
    """Resolve credentials and build the adapter for ``ref`` (a :class:`prbot.ci.pr_url.PRRef`)."""
    from prbot.auth.tokens import resolve_token

    if ref.forge not in SUPPORTED:
        raise UsageError(f"{ref.forge} pull requests are not supported by this version of prbot")
    cred = resolve_token(ref.forge, env, allow_keyring=not in_ci)
    if cred is None:
        raise UsageError(f"no {ref.forge} token found", hint=_TOKEN_HINT[ref.forge])
    return _OPENERS[ref.forge](ref, cred)


def _github(ref, cred) -> Platform:
    from prbot.platforms.github import GitHubPlatform

    token = cred.value
    if cred.kind == "github-app":
        from prbot.platforms.github_app import github_app_token

        token = github_app_token(
            ref.api_url,
            cred.app_id,
            cred.value,
            repo=ref.repo,
            installation_id=cred.installation_id or None,
        )
    return GitHubPlatform(ref.repo, ref.number, token=token, api_url=ref.api_url)


def _gitlab(ref, cred) -> Platform:
    from prbot.platforms.gitlab import GitLabPlatform

    kind = {"job-token": "job", "bearer": "oauth"}.get(cred.kind, "private")
    return GitLabPlatform(
        ref.repo, ref.number, token=cred.value, api_url=ref.api_url, token_kind=kind
    )


def _bitbucket(ref, cred) -> Platform:
    from prbot.platforms.bitbucket import BitbucketPlatform

    if cred.kind == "basic":
        return BitbucketPlatform(
            ref.repo,
            ref.number,
            username=cred.username,
            app_password=cred.value,
            api_url=ref.api_url,
        )
    return BitbucketPlatform(ref.repo, ref.number, token=cred.value, api_url=ref.api_url)


_OPENERS = {"github": _github, "gitlab": _gitlab, "bitbucket": _bitbucket}
