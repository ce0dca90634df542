"""Globs (``*=``) and regexes (``~=``): semantics, refusals, and bounded matching time."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prbot.rules.patterns import PatternError, compile_glob, compile_regex


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("docs/**", "docs/a.md", True),
        ("docs/**", "docs/a/b/c.md", True),
        ("docs/**", "docs", False),
        ("docs/**", "docsx/a.md", False),
        ("docs/*", "docs/a.md", True),
        ("docs/*", "docs/a/b.md", False),
        ("**/*.md", "README.md", True),
        ("**/*.md", "a/b/c.md", True),
        ("**/*.md", "a/b/c.mdx", False),
        ("src/**/test_*.py", "src/test_a.py", True),
        ("src/**/test_*.py", "src/x/y/test_a.py", True),
        ("src/**/test_*.py", "src/x/y/a_test.py", False),
        ("**", "anything/at/all", True),
        ("*", "top", True),
        ("*", "a/b", False),
        ("*.md", ".hidden.md", True),
        ("?.txt", "a.txt", True),
        ("?.txt", "ab.txt", False),
        ("a?b", "a/b", False),
        ("[abc].py", "b.py", True),
        ("[abc].py", "d.py", False),
        ("[!abc].py", "d.py", True),
        ("[^abc].py", "a.py", False),
        ("[a-c]x", "bx", True),
        ("[a-c]x", "dx", False),
        ("[]]x", "]x", True),
        ("[a-]x", "-x", True),
        ("*.{md,rst}", "a.rst", True),
        ("*.{md,rst}", "a.txt", False),
        ("{docs,site}/**", "site/x/y", True),
        ("{docs,site}/**", "src/x", False),
        ("a{,b}c", "ac", True),
        ("a{,b}c", "abc", True),
        ("a{b,{c,d}e}", "ade", True),
        ("a{b,{c,d}e}", "ae", False),
        ("{**,x}", "p/q", True),
        (r"\*.md", "*.md", True),
        (r"\*.md", "a.md", False),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a/**/b", "ab", False),
        ("Docs/*", "docs/a", False),
    ],
)
def test_glob(pattern: str, path: str, expected: bool) -> None:
    assert compile_glob(pattern).matches(path) is expected


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "empty glob"),
        ("a" * 501, "longer than 500"),
        ("docs/[ab", "unclosed ["),
        ("[z-a]", "bad range z-a"),
        ("[a/b]", "never matches /"),
        ("{a,b", "unclosed {"),
        ("a}", "unmatched }"),
        ("a\\", "lone \\"),
        ("a**", "whole path segment"),
        ("**b", "whole path segment"),
        ("a/***/b", "whole path segment"),
        ("{" * 40 + "a" + "}" * 40, "nested too deeply"),
    ],
)
def test_glob_errors(pattern: str, message: str) -> None:
    with pytest.raises(PatternError) as info:
        compile_glob(pattern)
    assert message in info.value.message
    assert info.value.hint


def test_glob_time_is_linear_on_hostile_paths() -> None:
    glob = compile_glob("*a*a*a*a*a*a*a*a*a*a*b")
    path = "a" * 5000
    start = time.perf_counter()
    assert glob.matches(path) is False
    deep = compile_glob("**/a/**/a/**/a/**/b")
    assert deep.matches("a/" * 1500 + "c") is False
    assert time.perf_counter() - start < 2.0


def _reference(pattern: str) -> re.Pattern[str]:
    """A backtracking translation of the same glob semantics, fine for tiny inputs."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern.startswith("{a,b}", i):
            out.append("(?:a|b)")
            i += 5
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)


_SEGMENT = (
    st.lists(st.sampled_from(["a", "b", "*", "?", "{a,b}", "."]), min_size=1, max_size=4)
    .map("".join)
    .filter(lambda s: "**" not in s)
)
_GLOBS = st.lists(st.one_of(_SEGMENT, st.just("**")), min_size=1, max_size=4).map("/".join)
_PATHS = st.text(alphabet="ab./", max_size=12)


@settings(max_examples=100, deadline=None)
@given(_GLOBS, _PATHS)
def test_glob_agrees_with_a_reference_matcher(pattern: str, path: str) -> None:
    assert compile_glob(pattern).matches(path) == bool(_reference(pattern).fullmatch(path))


@pytest.mark.parametrize(
    "pattern",
    [
        r"^release/v\d+(\.\d+)*$",
        r"^(feat|fix|docs)(\(.+\))?: ",
        r"([a-z]+-)*[a-z]+",
        r"(\w+/)+",
        r"(?i)\bwip\b",
        r"(?P<kind>feat)+",
        r"a{2,5}",
        r"[(]a+[)]+",
    ],
)
def test_ordinary_regexes_are_accepted(pattern: str) -> None:
    assert compile_regex(pattern).pattern == pattern


@pytest.mark.parametrize(
    "pattern",
    [
        r"(a+)+$",
        r"^(\w+\s?)*$",
        r"(a|b+)+c",
        r"(.*x)+y",
        r"((a*b*))+",
        r"(?:x*)*",
        r"(a{1,})+",
        r"(?:a+){2,}",
    ],
)
def test_nested_repeats_are_refused(pattern: str) -> None:
    with pytest.raises(PatternError) as info:
        compile_regex(pattern)
    assert "exponential" in info.value.message


@pytest.mark.parametrize("pattern", ["(", "[a", "a{2,1}", "*a", r"\q", "(?P<1>x)", "[[a]"])
def test_invalid_regexes(pattern: str) -> None:
    with pytest.raises(PatternError) as info:
        compile_regex(pattern)
    assert info.value.message.startswith("invalid regex")


def test_deeply_nested_regexes() -> None:
    assert compile_regex("(" * 249 + "a" + ")" * 249).groups == 249
    with pytest.raises(PatternError, match="missing"):
        compile_regex("(" * 250 + ")" * 249)
