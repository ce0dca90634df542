"""Which CI prbot runs in, and which pull/merge request it is about.

Each CI describes the PR in its own variables; this module folds them into one :class:`CIContext`
so nothing above it knows which CI it runs in. The environment is an argument (a plain mapping),
so every branch is tested with dicts; only the CLI passes ``os.environ``.

Precedence, most explicit first: a ``--pr`` URL, then an explicit PR number (in the CI's own
repository), then what the CI says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from prbot.ci.commands import SlashCommand
from prbot.ci.github_event import (
    FORK_HINT,
    PR_EVENTS,
    non_pr_event,
    parse_event,
    read_payload,
)
from prbot.ci.pr_url import BITBUCKET_DEFAULT_API, GITHUB_DEFAULT_API, PRRef, parse_pr_url
from prbot.errors import UsageError

Provider = Literal["github-actions", "gitlab-ci", "bitbucket-pipelines", "local"]

GITLAB_NOT_MR = (
    "not a merge request pipeline (CI_MERGE_REQUEST_IID is unset): add "
    '`rules: - if: $CI_PIPELINE_SOURCE == "merge_request_event"`'
)
BITBUCKET_NOT_PR = (
    "not a pull-request pipeline (BITBUCKET_PR_ID is unset): run prbot from the "
    "`pull-requests:` section of bitbucket-pipelines.yml"
)
NOTHING_DETECTED = "not in a supported CI and no --pr URL given"
GITLAB_FORK_HINT = (
    "merge request from a fork runs in the fork, without the parent project's CI/CD variables: "
    "run the pipeline in the parent project to post results"
)


@dataclass(frozen=True)
class CIContext:
    """Where prbot runs and what it is asked to look at.

    ``pr`` is ``None`` only for events that need no work (a comment on a plain issue): the caller
    then exits 0. ``command`` is set for a comment holding a ``/prbot`` command; an
    ``issue_comment`` with ``command`` ``None`` also means "nothing to do". SHAs are empty when
    the CI does not know them (the adapter fetches the PR). ``read_only_hint`` is a one-line note
    when the CI's credentials cannot write (fork PRs).
    """

    provider: Provider
    pr: PRRef | None
    event: str
    actor: str
    command: SlashCommand | None
    head_sha: str
    base_sha: str
    run_url: str
    read_only_hint: str = ""

    @property
    def in_ci(self) -> bool:
        return self.provider != "local"


def running_in_ci(env: Mapping[str, str]) -> bool:
    """Whether this looks like any CI job (not only the ones prbot knows)."""
    return (
        _true(env.get("CI"))
        or _true(env.get("GITHUB_ACTIONS"))
        or _true(env.get("GITLAB_CI"))
        or bool(_get(env, "BITBUCKET_BUILD_NUMBER"))
    )


def detect_provider(env: Mapping[str, str]) -> Provider:
    if _true(env.get("GITHUB_ACTIONS")):
        return "github-actions"
    if _true(env.get("GITLAB_CI")):
        return "gitlab-ci"
    if _get(env, "BITBUCKET_BUILD_NUMBER"):
        return "bitbucket-pipelines"
    return "local"


def detect(
    env: Mapping[str, str], *, pr_url: str | None = None, pr_number: int | None = None
) -> CIContext:
    """The :class:`CIContext` of this run; :class:`UsageError` with one line when there is none."""
    if pr_number is not None and (isinstance(pr_number, bool) or pr_number <= 0):
        raise UsageError(f"not a pull request number: {pr_number}")
    provider = detect_provider(env)
    if pr_url:
        return _from_url(provider, parse_pr_url(pr_url, env), env)
    if provider == "github-actions":
        return _github(env, pr_number)
    if provider == "gitlab-ci":
        return _gitlab(env, pr_number)
    if provider == "bitbucket-pipelines":
        return _bitbucket(env, pr_number)
    raise UsageError(NOTHING_DETECTED)


def _from_url(provider: Provider, pr: PRRef, env: Mapping[str, str]) -> CIContext:
    """A ``--pr`` URL names the PR; the CI (if any) still supplies the event and run link."""
    event, actor, run_url = "local", "", ""
    if provider == "github-actions":
        event = _get(env, "GITHUB_EVENT_NAME") or "github-actions"
        actor, run_url = _get(env, "GITHUB_ACTOR"), _github_run_url(env)
    elif provider == "gitlab-ci":
        event = _get(env, "CI_PIPELINE_SOURCE") or "gitlab-ci"
        actor, run_url = _get(env, "GITLAB_USER_LOGIN"), _get(env, "CI_PIPELINE_URL")
    elif provider == "bitbucket-pipelines":
        event, run_url = "bitbucket-pipelines", _bitbucket_run_url(env)
    return CIContext(provider, pr, event, actor, None, "", "", run_url)


# --- GitHub Actions ------------------------------------------------------------------------------


def _github(env: Mapping[str, str], pr_number: int | None) -> CIContext:
    name = _get(env, "GITHUB_EVENT_NAME")
    if not name:
        raise UsageError("GITHUB_EVENT_NAME is not set: is this a GitHub Actions job?")
    # Only events that carry what prbot needs read the payload: an explicit number on a scheduled
    # or push run does not depend on the event file.
    if name in (*PR_EVENTS, "issue_comment") or (name == "workflow_dispatch" and pr_number is None):
        payload = read_payload(env)
    elif pr_number is None:
        raise non_pr_event(name)
    else:
        payload = {}
    event = parse_event(name, payload, pr_number=pr_number)
    if pr_number is not None and event.number != pr_number:
        # The user named another PR than the event's: its SHAs belong to the event's PR. The
        # token stays what the event made it, so ``fork`` (read-only) is kept.
        event = replace(event, number=pr_number, head_sha="", base_sha="", ignored="")
    run_url = _github_run_url(env)
    actor = event.actor or _get(env, "GITHUB_ACTOR")
    if event.number is None:
        return CIContext("github-actions", None, name, actor, None, "", "", run_url)
    repo = _get(env, "GITHUB_REPOSITORY") or _payload_repo(payload)
    if not repo or repo.count("/") != 1:
        raise UsageError("GITHUB_REPOSITORY is not set or not owner/repo")
    server = _url(env, "GITHUB_SERVER_URL") or "https://github.com"
    pr = PRRef(
        "github",
        repo,
        event.number,
        _url(env, "GITHUB_API_URL") or GITHUB_DEFAULT_API,
        f"{server}/{repo}/pull/{event.number}",
    )
    # Fork and Dependabot PRs get a read-only token (and no secrets) on pull_request.
    read_only = event.fork or actor.lower() == "dependabot[bot]"
    hint = FORK_HINT if read_only and name == "pull_request" else ""
    return CIContext(
        "github-actions",
        pr,
        name,
        actor,
        event.command,
        event.head_sha,
        event.base_sha,
        run_url,
        hint,
    )


def _github_run_url(env: Mapping[str, str]) -> str:
    server = _url(env, "GITHUB_SERVER_URL") or "https://github.com"
    repo, run_id = _get(env, "GITHUB_REPOSITORY"), _get(env, "GITHUB_RUN_ID")
    return f"{server}/{repo}/actions/runs/{run_id}" if repo and run_id else ""


def _payload_repo(payload: Mapping[str, object]) -> str:
    repo = payload.get("repository")
    name = repo.get("full_name") if isinstance(repo, Mapping) else None
    return name if isinstance(name, str) else ""


# --- GitLab CI -----------------------------------------------------------------------------------


def _gitlab(env: Mapping[str, str], pr_number: int | None) -> CIContext:
    raw_iid = _get(env, "CI_MERGE_REQUEST_IID")
    iid = _number(raw_iid, "CI_MERGE_REQUEST_IID") if raw_iid else None
    number = pr_number if pr_number is not None else iid
    if number is None:
        raise UsageError(GITLAB_NOT_MR)
    # The MR's *target* project: for a fork MR, CI_PROJECT_PATH is the fork.
    repo = (
        _get(env, "CI_MERGE_REQUEST_PROJECT_PATH")
        or _get(env, "CI_PROJECT_PATH")
        or _get(env, "CI_MERGE_REQUEST_PROJECT_ID")
        or _get(env, "CI_PROJECT_ID")
    )
    if not repo:
        raise UsageError("CI_PROJECT_PATH is not set: cannot tell which GitLab project this is")
    server = _url(env, "CI_SERVER_URL") or "https://gitlab.com"
    api = _url(env, "PRBOT_GITLAB_API_URL") or _url(env, "CI_API_V4_URL") or f"{server}/api/v4"
    project_url = (
        _url(env, "CI_MERGE_REQUEST_PROJECT_URL")
        or _url(env, "CI_PROJECT_URL")
        or f"{server}/{repo}"
    )
    same_mr = iid == number
    # In merged-results pipelines CI_COMMIT_SHA is a temporary merge commit; the source head is
    # CI_MERGE_REQUEST_SOURCE_BRANCH_SHA there (and empty otherwise).
    head = _get(env, "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA") or _get(env, "CI_COMMIT_SHA")
    base = _get(env, "CI_MERGE_REQUEST_DIFF_BASE_SHA")
    source, target = (
        _get(env, "CI_MERGE_REQUEST_SOURCE_PROJECT_ID"),
        _get(env, "CI_MERGE_REQUEST_PROJECT_ID"),
    )
    in_fork = bool(same_mr and source and target and source != target)
    in_fork = in_fork and _get(env, "CI_PROJECT_ID") == source
    return CIContext(
        "gitlab-ci",
        PRRef("gitlab", repo, number, api, f"{project_url}/-/merge_requests/{number}"),
        _get(env, "CI_PIPELINE_SOURCE") or "merge_request_event",
        _get(env, "GITLAB_USER_LOGIN"),
        None,
        head if same_mr else "",
        base if same_mr else "",
        _get(env, "CI_PIPELINE_URL"),
        GITLAB_FORK_HINT if in_fork else "",
    )


# --- Bitbucket Pipelines -------------------------------------------------------------------------


def _bitbucket(env: Mapping[str, str], pr_number: int | None) -> CIContext:
    raw_id = _get(env, "BITBUCKET_PR_ID")
    pr_id = _number(raw_id, "BITBUCKET_PR_ID") if raw_id else None
    number = pr_number if pr_number is not None else pr_id
    if number is None:
        raise UsageError(BITBUCKET_NOT_PR)
    repo = _get(env, "BITBUCKET_REPO_FULL_NAME")
    if not repo and _get(env, "BITBUCKET_WORKSPACE") and _get(env, "BITBUCKET_REPO_SLUG"):
        repo = f"{_get(env, 'BITBUCKET_WORKSPACE')}/{_get(env, 'BITBUCKET_REPO_SLUG')}"
    if not repo:
        raise UsageError(
            "BITBUCKET_REPO_FULL_NAME is not set: cannot tell which repository this is"
        )
    api = _url(env, "PRBOT_BITBUCKET_API_URL") or BITBUCKET_DEFAULT_API
    same_pr = pr_id == number
    return CIContext(
        "bitbucket-pipelines",
        PRRef(
            "bitbucket", repo, number, api, f"https://bitbucket.org/{repo}/pull-requests/{number}"
        ),
        "pull-request",
        "",
        None,
        _get(env, "BITBUCKET_COMMIT") if same_pr else "",
        "",
        _bitbucket_run_url(env),
    )


def _bitbucket_run_url(env: Mapping[str, str]) -> str:
    repo, build = _get(env, "BITBUCKET_REPO_FULL_NAME"), _get(env, "BITBUCKET_BUILD_NUMBER")
    return f"https://bitbucket.org/{repo}/pipelines/results/{build}" if repo and build else ""


# --- helpers -------------------------------------------------------------------------------------


def _get(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()


def _url(env: Mapping[str, str], name: str) -> str:
    return _get(env, name).rstrip("/")


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


def _number(text: str, name: str) -> int:
    if not re.fullmatch(r"[0-9]{1,10}", text) or int(text) == 0:
        raise UsageError(f"{name} is not a pull request number: '{text[:40]}'")
    return int(text)
