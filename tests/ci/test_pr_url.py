"""PR/MR URL parsing: every forge, Enterprise and self-managed hosts, overrides and garbage."""

from __future__ import annotations

import pytest

from prbot.ci.pr_url import PRRef, parse_pr_url
from prbot.errors import ExitCode, UsageError

EXPECTED_HINT = "(expected …/pull/N, …/-/merge_requests/N or …/pull-requests/N)"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://github.com/o/r/pull/42",
            PRRef("github", "o/r", 42, "https://api.github.com", "https://github.com/o/r/pull/42"),
        ),
        (
            "https://github.com/octo-org/.github/pull/7/files",
            PRRef(
                "github",
                "octo-org/.github",
                7,
                "https://api.github.com",
                "https://github.com/octo-org/.github/pull/7",
            ),
        ),
        (
            "https://www.github.com/o/r/pull/3?tab=commits#discussion_r1",
            PRRef("github", "o/r", 3, "https://api.github.com", "https://github.com/o/r/pull/3"),
        ),
        (
            "https://ghe.example.com/o/r/pull/7",
            PRRef(
                "github",
                "o/r",
                7,
                "https://ghe.example.com/api/v3",
                "https://ghe.example.com/o/r/pull/7",
            ),
        ),
        (
            "http://127.0.0.1:8123/o/r/pull/9/commits/abc",
            PRRef(
                "github",
                "o/r",
                9,
                "http://127.0.0.1:8123/api/v3",
                "http://127.0.0.1:8123/o/r/pull/9",
            ),
        ),
        (
            "https://gitlab.com/group/sub/project/-/merge_requests/5",
            PRRef(
                "gitlab",
                "group/sub/project",
                5,
                "https://gitlab.com/api/v4",
                "https://gitlab.com/group/sub/project/-/merge_requests/5",
            ),
        ),
        (
            "https://git.corp.example/team/app/-/merge_requests/12/diffs#note_3",
            PRRef(
                "gitlab",
                "team/app",
                12,
                "https://git.corp.example/api/v4",
                "https://git.corp.example/team/app/-/merge_requests/12",
            ),
        ),
        (
            "https://bitbucket.org/ws/slug/pull-requests/3",
            PRRef(
                "bitbucket",
                "ws/slug",
                3,
                "https://api.bitbucket.org/2.0",
                "https://bitbucket.org/ws/slug/pull-requests/3",
            ),
        ),
        (
            "  https://bitbucket.org/ws/slug/pull-requests/3/overview  ",
            PRRef(
                "bitbucket",
                "ws/slug",
                3,
                "https://api.bitbucket.org/2.0",
                "https://bitbucket.org/ws/slug/pull-requests/3",
            ),
        ),
    ],
)
def test_parses_every_forge(url: str, expected: PRRef) -> None:
    assert parse_pr_url(url, {}) == expected


def test_gitlab_api_override_wins_for_any_host() -> None:
    env = {"PRBOT_GITLAB_API_URL": "http://127.0.0.1:9000/api/v4/"}
    ref = parse_pr_url("https://gitlab.com/g/p/-/merge_requests/1", env)
    assert ref.api_url == "http://127.0.0.1:9000/api/v4"
    assert ref.web_url == "https://gitlab.com/g/p/-/merge_requests/1"


def test_bitbucket_api_override() -> None:
    env = {"PRBOT_BITBUCKET_API_URL": "http://127.0.0.1:9001/2.0"}
    assert parse_pr_url("https://bitbucket.org/w/s/pull-requests/2", env).api_url == (
        "http://127.0.0.1:9001/2.0"
    )


def test_github_api_url_overrides_but_not_prbot_github_api_url() -> None:
    env = {"GITHUB_API_URL": "http://127.0.0.1:9002", "PRBOT_GITHUB_API_URL": "http://wrong"}
    assert parse_pr_url("https://github.com/o/r/pull/1", env).api_url == "http://127.0.0.1:9002"


def test_github_api_url_of_another_instance_is_not_used() -> None:
    # Inside Actions on an Enterprise server, a github.com PR must not go to the GHES API.
    env = {
        "GITHUB_API_URL": "https://ghe.example.com/api/v3",
        "GITHUB_SERVER_URL": "https://ghe.example.com",
    }
    assert parse_pr_url("https://github.com/o/r/pull/1", env).api_url == "https://api.github.com"
    ghe = parse_pr_url("https://ghe.example.com/o/r/pull/1", env)
    assert ghe.api_url == "https://ghe.example.com/api/v3"


def test_credentials_in_the_url_are_dropped() -> None:
    ref = parse_pr_url("https://user:s3cr3t-token@github.com/o/r/pull/1", {})
    assert "s3cr3t" not in repr(ref)
    assert ref.web_url == "https://github.com/o/r/pull/1"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "not a url",
        "github.com/o/r/pull/1",
        "ftp://github.com/o/r/pull/1",
        "https:///o/r/pull/1",
        "https://github.com/o/r",
        "https://github.com/o/r/issues/4",
        "https://github.com/o/r/pull/",
        "https://github.com/o/r/pull/abc",
        "https://github.com/o/r/pull/0",
        "https://github.com/o/r/pull/-1",
        "https://github.com/o/r/pull/١٢",
        "https://github.com/o/r/pull/99999999999",
        "https://github.com/o/../pull/1",
        "https://github.com/o/r%2Fx/pull/1",
        "https://github.com/o/pull/1",
        "https://gitlab.com/project/-/merge_requests/5",
        "https://gitlab.com/g/p/merge_requests/5",
        "https://gitlab.com/g/p/-/issues/5",
        "https://gitlab.com/g/p/-/merge_requests/x",
        "https://bitbucket.org/ws/pull-requests/3",
        "https://bitbucket.org/ws/slug/pullrequests/3",
        "https://example.com:notaport/o/r/pull/1",
        "https://github.com/" + "a/" * 2000 + "pull/1",
    ],
)
def test_garbage_is_one_usage_error_line(url: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_pr_url(url, {})
    line = info.value.one_line()
    assert line.startswith("not a pull/merge request URL: ")
    assert line.endswith(EXPECTED_HINT)
    assert "\n" not in line and len(line) < 400
    assert info.value.exit_code is ExitCode.USAGE


def test_error_message_is_exact_and_hides_credentials() -> None:
    with pytest.raises(UsageError) as info:
        parse_pr_url("https://bob:hunter2@github.com/o/r/issues/4", {})
    assert info.value.one_line() == (
        "not a pull/merge request URL: https://github.com/o/r/issues/4 " + EXPECTED_HINT
    )


def test_control_characters_do_not_reach_the_error() -> None:
    with pytest.raises(UsageError) as info:
        parse_pr_url("https://github.com/o/r/pull/x\n::error::injected", {})
    assert "\n" not in info.value.one_line()
