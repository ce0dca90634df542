"""Detection in GitLab CI, Bitbucket Pipelines and outside CI (the ``--pr`` URL)."""

from __future__ import annotations

import pytest

from prbot.ci.detect import (
    GITLAB_FORK_HINT,
    detect,
    detect_provider,
    running_in_ci,
)
from prbot.errors import ExitCode, UsageError

SHA_A = "a" * 40
SHA_B = "b" * 40
SHA_C = "c" * 40


def gitlab_env(**extra: str) -> dict[str, str]:
    env = {
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": "5",
        "CI_MERGE_REQUEST_PROJECT_ID": "100",
        "CI_MERGE_REQUEST_PROJECT_PATH": "group/sub/project",
        "CI_MERGE_REQUEST_PROJECT_URL": "https://gitlab.example.com/group/sub/project",
        "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "100",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": SHA_B,
        "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": "",
        "CI_MERGE_REQUEST_EVENT_TYPE": "detached",
        "CI_PROJECT_ID": "100",
        "CI_PROJECT_PATH": "group/sub/project",
        "CI_PROJECT_URL": "https://gitlab.example.com/group/sub/project",
        "CI_API_V4_URL": "https://gitlab.example.com/api/v4",
        "CI_SERVER_URL": "https://gitlab.example.com",
        "CI_COMMIT_SHA": SHA_A,
        "CI_PIPELINE_URL": "https://gitlab.example.com/group/sub/project/-/pipelines/9",
        "GITLAB_USER_LOGIN": "dev",
    }
    env.update(extra)
    return env


def bitbucket_env(**extra: str) -> dict[str, str]:
    env = {
        "CI": "true",
        "BITBUCKET_BUILD_NUMBER": "77",
        "BITBUCKET_PR_ID": "3",
        "BITBUCKET_PR_DESTINATION_BRANCH": "main",
        "BITBUCKET_BRANCH": "feature",
        "BITBUCKET_COMMIT": "d" * 40,
        "BITBUCKET_REPO_FULL_NAME": "ws/slug",
        "BITBUCKET_WORKSPACE": "ws",
        "BITBUCKET_REPO_SLUG": "slug",
    }
    env.update(extra)
    return env


def test_gitlab_merge_request_pipeline() -> None:
    ctx = detect(gitlab_env())
    assert ctx.provider == "gitlab-ci"
    assert ctx.pr is not None
    assert (ctx.pr.forge, ctx.pr.repo, ctx.pr.number) == ("gitlab", "group/sub/project", 5)
    assert ctx.pr.api_url == "https://gitlab.example.com/api/v4"
    assert ctx.pr.web_url == "https://gitlab.example.com/group/sub/project/-/merge_requests/5"
    assert (ctx.head_sha, ctx.base_sha) == (SHA_A, SHA_B)
    assert (ctx.event, ctx.actor, ctx.command) == ("merge_request_event", "dev", None)
    assert ctx.run_url.endswith("/-/pipelines/9") and ctx.read_only_hint == ""


def test_gitlab_api_override_wins() -> None:
    ctx = detect(gitlab_env(PRBOT_GITLAB_API_URL="http://127.0.0.1:8080/api/v4/"))
    assert ctx.pr is not None and ctx.pr.api_url == "http://127.0.0.1:8080/api/v4"


def test_gitlab_merged_results_pipeline_uses_the_source_head() -> None:
    ctx = detect(
        gitlab_env(
            CI_MERGE_REQUEST_EVENT_TYPE="merged_result", CI_MERGE_REQUEST_SOURCE_BRANCH_SHA=SHA_C
        )
    )
    assert ctx.head_sha == SHA_C


def test_gitlab_falls_back_to_project_path_then_id() -> None:
    env = gitlab_env()
    del env["CI_MERGE_REQUEST_PROJECT_PATH"]
    ctx = detect(env)
    assert ctx.pr is not None and ctx.pr.repo == "group/sub/project"
    for name in ("CI_PROJECT_PATH", "CI_MERGE_REQUEST_PROJECT_ID"):
        del env[name]
    ctx = detect(env)
    assert ctx.pr is not None and ctx.pr.repo == "100"


def test_gitlab_fork_mr_targets_the_parent_and_warns() -> None:
    env = gitlab_env(
        CI_MERGE_REQUEST_SOURCE_PROJECT_ID="200",
        CI_PROJECT_ID="200",
        CI_PROJECT_PATH="forker/project",
    )
    ctx = detect(env)
    assert ctx.pr is not None and ctx.pr.repo == "group/sub/project"
    assert ctx.read_only_hint == GITLAB_FORK_HINT


def test_gitlab_without_mr_iid() -> None:
    env = gitlab_env(CI_PIPELINE_SOURCE="push")
    del env["CI_MERGE_REQUEST_IID"]
    with pytest.raises(UsageError) as info:
        detect(env)
    assert info.value.one_line() == (
        "not a merge request pipeline (CI_MERGE_REQUEST_IID is unset): add "
        '`rules: - if: $CI_PIPELINE_SOURCE == "merge_request_event"`'
    )
    assert info.value.exit_code is ExitCode.USAGE


def test_gitlab_explicit_number_in_a_branch_pipeline() -> None:
    env = gitlab_env(CI_PIPELINE_SOURCE="schedule")
    del env["CI_MERGE_REQUEST_IID"]
    ctx = detect(env, pr_number=12)
    assert ctx.pr is not None and ctx.pr.number == 12
    assert (ctx.head_sha, ctx.base_sha) == ("", "")


@pytest.mark.parametrize("iid", ["abc", "0", "-1", "١"])
def test_gitlab_bad_iid(iid: str) -> None:
    with pytest.raises(UsageError, match=r"^CI_MERGE_REQUEST_IID is not a pull request number"):
        detect(gitlab_env(CI_MERGE_REQUEST_IID=iid))


def test_gitlab_without_project() -> None:
    env = gitlab_env()
    for name in list(env):
        if "PROJECT_PATH" in name or "PROJECT_ID" in name:
            del env[name]
    with pytest.raises(UsageError, match=r"^CI_PROJECT_PATH is not set"):
        detect(env)


def test_bitbucket_pull_request_pipeline() -> None:
    ctx = detect(bitbucket_env())
    assert ctx.provider == "bitbucket-pipelines"
    assert ctx.pr is not None
    assert (ctx.pr.forge, ctx.pr.repo, ctx.pr.number) == ("bitbucket", "ws/slug", 3)
    assert ctx.pr.api_url == "https://api.bitbucket.org/2.0"
    assert ctx.pr.web_url == "https://bitbucket.org/ws/slug/pull-requests/3"
    assert ctx.head_sha == "d" * 40 and ctx.base_sha == ""
    assert ctx.run_url == "https://bitbucket.org/ws/slug/pipelines/results/77"


def test_bitbucket_api_override_and_repo_parts() -> None:
    env = bitbucket_env(PRBOT_BITBUCKET_API_URL="http://127.0.0.1:7000/2.0")
    del env["BITBUCKET_REPO_FULL_NAME"]
    ctx = detect(env)
    assert ctx.pr is not None
    assert (ctx.pr.repo, ctx.pr.api_url) == ("ws/slug", "http://127.0.0.1:7000/2.0")


def test_bitbucket_without_pr_id() -> None:
    env = bitbucket_env()
    del env["BITBUCKET_PR_ID"]
    with pytest.raises(UsageError) as info:
        detect(env)
    assert info.value.one_line().startswith(
        "not a pull-request pipeline (BITBUCKET_PR_ID is unset)"
    )


def test_bitbucket_without_repo() -> None:
    env = bitbucket_env()
    for name in ("BITBUCKET_REPO_FULL_NAME", "BITBUCKET_WORKSPACE"):
        del env[name]
    with pytest.raises(UsageError, match=r"^BITBUCKET_REPO_FULL_NAME is not set"):
        detect(env)


def test_nothing_detected() -> None:
    with pytest.raises(UsageError) as info:
        detect({"HOME": "/home/x", "PATH": "/usr/bin"})
    assert info.value.one_line() == "not in a supported CI and no --pr URL given"


def test_pr_url_locally() -> None:
    ctx = detect({}, pr_url="https://gitlab.com/g/p/-/merge_requests/8")
    assert ctx.provider == "local" and not ctx.in_ci
    assert ctx.pr is not None and (ctx.pr.forge, ctx.pr.number) == ("gitlab", 8)
    assert (ctx.event, ctx.actor, ctx.head_sha, ctx.run_url) == ("local", "", "", "")


def test_pr_url_wins_over_gitlab_ci() -> None:
    ctx = detect(gitlab_env(), pr_url="https://github.com/o/r/pull/1")
    assert ctx.provider == "gitlab-ci"
    assert ctx.pr is not None and ctx.pr.forge == "github"
    assert ctx.head_sha == "" and ctx.run_url.endswith("/-/pipelines/9")


def test_pr_url_wins_even_without_an_mr_iid() -> None:
    env = gitlab_env()
    del env["CI_MERGE_REQUEST_IID"]
    ctx = detect(env, pr_url="https://bitbucket.org/w/s/pull-requests/4")
    assert ctx.pr is not None and ctx.pr.number == 4


def test_bad_pr_url_is_the_url_error() -> None:
    with pytest.raises(UsageError, match=r"^not a pull/merge request URL"):
        detect({}, pr_url="https://example.com/nothing")


@pytest.mark.parametrize("number", [0, -4, True])
def test_bad_explicit_number(number: int) -> None:
    with pytest.raises(UsageError, match=r"^not a pull request number"):
        detect(gitlab_env(), pr_number=number)


@pytest.mark.parametrize(
    ("env", "provider"),
    [
        ({"GITHUB_ACTIONS": "true"}, "github-actions"),
        ({"GITHUB_ACTIONS": "false", "GITLAB_CI": "true"}, "gitlab-ci"),
        ({"BITBUCKET_BUILD_NUMBER": "1"}, "bitbucket-pipelines"),
        ({"BITBUCKET_BUILD_NUMBER": " "}, "local"),
        ({"CI": "true"}, "local"),
        ({}, "local"),
    ],
)
def test_detect_provider(env: dict[str, str], provider: str) -> None:
    assert detect_provider(env) == provider


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"CI": "true"}, True),
        ({"CI": "1"}, True),
        ({"GITLAB_CI": "true"}, True),
        ({"BITBUCKET_BUILD_NUMBER": "3"}, True),
        ({"CI": "false"}, False),
        ({"CI": ""}, False),
        ({}, False),
    ],
)
def test_running_in_ci(env: dict[str, str], expected: bool) -> None:
    assert running_in_ci(env) is expected
