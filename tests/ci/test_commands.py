"""Slash-command parsing from untrusted comment text, and who may run a command."""

from __future__ import annotations

import pytest

from prbot.ci.commands import (
    DEFAULT_ALLOWED_ASSOCIATIONS,
    MAX_ARGS,
    SlashCommand,
    is_allowed,
    parse_command,
)


def parse(text: str) -> SlashCommand | None:
    return parse_command(text, author="alice", association="member")


@pytest.mark.parametrize("name", ["review", "describe", "explain", "label", "help"])
def test_known_commands(name: str) -> None:
    cmd = parse(f"/prbot {name}")
    assert cmd == SlashCommand(name, (), "alice", "MEMBER")


def test_arguments_and_quotes() -> None:
    cmd = parse('/prbot label "needs review" bug')
    assert cmd is not None
    assert cmd.name == "label"
    assert cmd.args == ("needs review", "bug")


def test_unbalanced_quotes_fall_back_to_whitespace_words() -> None:
    cmd = parse('/prbot label "oops bug')
    assert cmd is not None and cmd.args == ('"oops', "bug")


def test_first_command_line_wins_and_leading_whitespace_is_ok() -> None:
    text = "Thanks!\n\n   /prbot describe\n/prbot review\n"
    cmd = parse(text)
    assert cmd is not None and cmd.name == "describe"


def test_crlf_and_case() -> None:
    cmd = parse("hi\r\n/PRBOT Review now\r\n")
    assert cmd is not None and cmd.name == "review" and cmd.args == ("now",)


def test_unknown_subcommand_and_bare_prefix() -> None:
    unknown = parse("/prbot merge --force")
    assert unknown is not None and unknown.name == "unknown" and unknown.args == ("--force",)
    bare = parse("/prbot")
    assert bare is not None and bare.name == "help"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "please /prbot review",
        "/prbotreview",
        "/prbot-review",
        "`/prbot review`",
        "> /prbot review",
        "  >/prbot review",
        "```\n/prbot review\n```",
        "~~~~\n/prbot review\n~~~\n/prbot review\n~~~~",
        "````md\n```\n/prbot review\n```\n````",
        "<!-- /prbot review -->",
        "<!--\n/prbot review\n-->",
        "/bot review",
    ],
)
def test_text_that_only_shows_a_command_is_ignored(text: str) -> None:
    assert parse(text) is None


def test_command_after_a_closed_fence_counts() -> None:
    text = "```\n/prbot label\n```\n> /prbot describe\n/prbot review"
    cmd = parse(text)
    assert cmd is not None and cmd.name == "review"


def test_unclosed_fence_hides_the_rest() -> None:
    assert parse("```python\nx = 1\n/prbot review") is None


def test_input_is_bounded_by_lines_and_bytes() -> None:
    assert parse("x\n" * 199 + "/prbot review") is not None
    assert parse("x\n" * 200 + "/prbot review") is None
    assert parse("x" * (64 * 1024) + "\n/prbot review") is None


def test_arguments_are_bounded() -> None:
    cmd = parse("/prbot label " + " ".join(f"a{i}" for i in range(100)) + " " + "z" * 5000)
    assert cmd is not None
    assert len(cmd.args) == MAX_ARGS
    assert all(len(a) <= 200 for a in cmd.args)


def test_huge_single_line_does_not_hang() -> None:
    cmd = parse("/prbot review " + '"' * 60000)
    assert cmd is not None and cmd.name == "review"


def _cmd(author: str, association: str) -> SlashCommand:
    return SlashCommand("review", (), author, association)


@pytest.mark.parametrize("association", ["OWNER", "MEMBER", "COLLABORATOR"])
def test_default_associations_are_allowed(association: str) -> None:
    assert is_allowed(_cmd("alice", association), DEFAULT_ALLOWED_ASSOCIATIONS, ())


@pytest.mark.parametrize(
    "association", ["CONTRIBUTOR", "FIRST_TIMER", "FIRST_TIME_CONTRIBUTOR", "NONE", "MANNEQUIN", ""]
)
def test_other_associations_are_refused(association: str) -> None:
    assert not is_allowed(_cmd("mallory", association), DEFAULT_ALLOWED_ASSOCIATIONS, ())


def test_listed_users_are_allowed_case_insensitively() -> None:
    assert is_allowed(_cmd("Octocat", "NONE"), (), ["octocat"])
    assert not is_allowed(_cmd("octocat2", "NONE"), (), ["octocat"])
    assert not is_allowed(_cmd("", "NONE"), (), [""])


def test_custom_associations_replace_the_default() -> None:
    assert not is_allowed(_cmd("a", "MEMBER"), ["OWNER"], ())
    assert is_allowed(_cmd("a", "owner"), ["owner"], ())
