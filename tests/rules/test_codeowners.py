"""CODEOWNERS: GitHub's matching rules, GitLab sections, approvals, and hostile files."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prbot.rules import codeowners as co
from prbot.rules.codeowners import (
    CODEOWNERS_PATHS,
    MAX_CODEOWNERS_LINES,
    OwnerRule,
    codeowners_approved,
    owners_for,
    parse_codeowners,
)

# (pattern, path, owned) — GitHub's observed behaviour, gitignore-like but not gitignore.
PATTERN_CASES = [
    # A bare name matches at any depth, as the file or as a directory above it.
    ("foo", "foo", True),
    ("foo", "bar/foo", True),
    ("foo", "bar/foo/baz", True),
    ("foo", "foo.txt", False),
    ("foo", "bar/foo.txt", False),
    # A leading slash anchors at the root.
    ("/foo", "foo", True),
    ("/foo", "foo/bar/baz", True),
    ("/foo", "bar/foo", False),
    ("/foo", "fool.txt", False),
    # A trailing slash: everything below a directory of that name, anywhere; not a file of it.
    ("apps/", "apps/web/main.ts", True),
    ("apps/", "services/apps/x.py", True),
    ("apps/", "apps", False),
    ("apps/", "webapps/x", False),
    ("/docs/", "docs/a/b.md", True),
    ("/docs/", "x/docs/a.md", False),
    # A slash in the middle anchors too.
    ("docs/build", "docs/build/x.md", True),
    ("docs/build", "src/docs/build/x.md", False),
    ("docs/build", "docs/builder", False),
    # "*" never crosses "/"; a lone trailing "*" segment means direct children only.
    ("docs/*", "docs/a.md", True),
    ("docs/*", "docs/sub/a.md", False),
    ("docs/*", "docs", False),
    ("/*", "README.md", True),
    ("/*", "src/a.py", False),
    ("*", "any/depth/at/all.c", True),
    ("*.js", "a.js", True),
    ("*.js", "deep/er/a.js", True),
    ("*.js", "a.jsx", False),
    ("docs/*.md", "docs/a.md", True),
    ("docs/*.md", "docs/x/a.md", False),
    ("f*", "bar/foo/baz", True),
    ("f*", "xfoo", False),
    ("/f*/", "foo/bar", True),
    ("/f*/", "foo", False),
    ("foo/*/baz", "foo/bar/baz/qux", True),
    ("foo/*/baz", "foo/baz", False),
    ("f?o", "foo", True),
    ("f?o", "fo", False),
    ("f?o", "f/o", False),
    # "**" spans directories, also none.
    ("**/logs", "logs/a", True),
    ("**/logs", "build/deep/logs/a", True),
    ("**/logs", "build/logsx", False),
    ("foo/**/bar", "foo/bar", True),
    ("foo/**/bar", "foo/a/b/bar/c", True),
    ("foo/**/bar", "x/foo/bar", False),
    ("foo/bar/**", "foo/bar/baz", True),
    ("foo/bar/**", "foo/bar", False),
    ("foo/**/", "foo/bar", True),
    ("foo/**/", "foo", False),
    ("src/**/*.gen.ts", "src/a/b/x.gen.ts", True),
    ("src/**/*.gen.ts", "src/x.gen.ts", True),
    ("src/**/*.gen.ts", "lib/x.gen.ts", False),
    # Escapes, and characters that are literal in CODEOWNERS.
    (r"f\*o", "f*o", True),
    (r"f\*o", "foo", False),
    (r"f\?o", "foo", False),
    ("/app/[id]/page.tsx", "app/[id]/page.tsx", True),
    ("/app/[id]/page.tsx", "app/i/page.tsx", False),
    ("/a{b,c}", "a{b,c}", True),
    ("/a{b,c}", "ab", False),
    ("svc/foo:bar/^cpu", "svc/foo:bar/^cpu", True),
    # Case sensitive, like the file system the forge shows.
    ("/README.md", "readme.md", False),
    # Paths are normalised before matching.
    ("/src/", "./src/a.py", True),
    ("/src/", "/src/a.py", True),
]


@pytest.mark.parametrize(("pattern", "path", "owned"), PATTERN_CASES)
def test_pattern_semantics(pattern: str, path: str, owned: bool) -> None:
    rules = parse_codeowners(f"{pattern} @owner\n")
    assert len(rules) == 1, pattern
    assert owners_for(rules, path) == (("@owner",) if owned else ())


REALISTIC = r"""
# Default owners for everything
*       @acme/core   @Alice

# Any JavaScript, anywhere
*.js    @acme/frontend # inline comment is not an owner

/docs/            docs@example.com
/docs/internal/   # listed with no owner: nobody owns these
docs/*.md         @writer
apps/             @octocat
**/logs           @ops
/build/logs/      @doctocat
/scripts/         @doctocat @octocat
/src/**/*.gen.ts  @bot
/src/legacy       @old-team-lead
path\ with\ space/ @spacey
\#hashed.txt      @hasher
"""


@pytest.mark.parametrize(
    ("path", "owners"),
    [
        ("README.md", ("@acme/core", "@Alice")),
        ("web/app.js", ("@acme/frontend",)),
        ("docs/guide/setup.rst", ("docs@example.com",)),
        ("docs/intro.md", ("@writer",)),  # docs/*.md is later than /docs/
        ("docs/guide/setup.md", ("docs@example.com",)),  # docs/*.md: direct children only
        ("docs/internal/secret.txt", ()),
        ("docs/internal/x.md", ()),  # not a direct child of docs/
        ("services/apps/a.py", ("@octocat",)),
        ("apps/web/index.js", ("@octocat",)),  # apps/ comes after *.js
        ("deep/nested/logs/x.log", ("@ops",)),
        ("build/logs/x.log", ("@doctocat",)),  # the later, more specific line wins
        ("scripts/deploy.sh", ("@doctocat", "@octocat")),
        ("src/a/b/api.gen.ts", ("@bot",)),
        ("src/legacy/old.c", ("@old-team-lead",)),
        ("src/legacy.c", ("@acme/core", "@Alice")),
        ("path with space/f.txt", ("@spacey",)),
        ("#hashed.txt", ("@hasher",)),
        ("sub/#hashed.txt", ("@hasher",)),
    ],
)
def test_realistic_file(path: str, owners: tuple[str, ...]) -> None:
    assert owners_for(parse_codeowners(REALISTIC), path) == owners


def test_last_match_wins_in_both_directions() -> None:
    specific_last = parse_codeowners("*.py @general\n/src/ @src\n/src/gen/*.py @gen\n")
    assert owners_for(specific_last, "src/gen/a.py") == ("@gen",)
    assert owners_for(specific_last, "src/a.py") == ("@src",)
    assert owners_for(specific_last, "lib/a.py") == ("@general",)
    general_last = parse_codeowners("/src/gen/*.py @gen\n/src/ @src\n*.py @general\n")
    assert owners_for(general_last, "src/gen/a.py") == ("@general",)
    assert owners_for(general_last, "src/a.txt") == ("@src",)
    # The same pattern twice: the second line is the one that counts.
    twice = parse_codeowners("/src/ @first\n/src/ @second\n")
    assert owners_for(twice, "src/x") == ("@second",)


def test_a_line_without_owners_removes_ownership() -> None:
    rules = parse_codeowners("* @everyone\n/vendor/\n")
    assert rules[1] == OwnerRule("/vendor/", (), 2)
    assert owners_for(rules, "vendor/lib.c") == ()
    assert owners_for(rules, "src/lib.c") == ("@everyone",)


def test_parse_keeps_patterns_as_written_with_line_numbers() -> None:
    text = "\ufeff# header\r\n\r\n/a\\ b/ @x y@z.io   # trailing\r\n  *.md\t@Doc_Team  \r\n"
    assert parse_codeowners(text) == [
        OwnerRule("/a\\ b/", ("@x", "y@z.io"), 3),
        OwnerRule("*.md", ("@Doc_Team",), 4),
    ]


def test_gitlab_sections_and_default_owners() -> None:
    text = """
* @root-owner
[Docs] @docs-team @acme/writers
docs/
*.md @md-owner
^[Optional tests][2] @qa
tests/
[Bare section]
/lib/
[Mm]akefile @build
"""
    rules = parse_codeowners(text)
    assert [(r.pattern, r.owners) for r in rules] == [
        ("*", ("@root-owner",)),
        ("docs/", ("@docs-team", "@acme/writers")),  # section defaults fill in
        ("*.md", ("@md-owner",)),  # explicit owners win over the defaults
        ("tests/", ("@qa",)),
        ("/lib/", ()),  # a section without defaults gives none
        ("[Mm]akefile", ("@build",)),  # "]" not followed by a space: a pattern, not a header
    ]
    assert owners_for(rules, "docs/a.txt") == ("@docs-team", "@acme/writers")
    assert owners_for(rules, "lib/x.c") == ()
    assert owners_for(rules, "[Mm]akefile") == ("@build",)
    assert owners_for(rules, "Makefile") == ("@root-owner",)


@pytest.mark.parametrize(
    "line",
    [
        "!negated @x",  # GitHub does not support negation
        "/docs/ octocat",  # owner without @
        "/docs/ @",  # empty handle
        "/docs/ @a,@b",  # comma-separated
        "/apps/***/x @x",  # three stars
        "/ @x",  # names nothing
        "x" * 5000 + " @x",  # absurdly long pattern
    ],
)
def test_lines_github_would_reject_are_skipped(line: str) -> None:
    rules = parse_codeowners(f"* @fallback\n{line}\n")
    assert [r.pattern for r in rules] == ["*"]
    assert owners_for(rules, "docs/a.md") == ("@fallback",)


GARBAGE = [
    "",
    "\\",
    "\\\\\\",
    "[",
    "]]] @x",
    "^[",
    "^[] @x",
    "[[[[ @x",
    "{{{,}}} @x",
    "**** @x",
    "a/**b/c @x",
    "*/**/*/**/ @x",
    "\x00\x01 @x",
    "/\\ @x",
    "@only-an-owner",
    "#",
    "\\# @x",
    "💥/** @💥",
]


@pytest.mark.parametrize("line", GARBAGE)
def test_garbage_lines_never_raise(line: str) -> None:
    rules = parse_codeowners(f"{line}\n* @fallback\n{line}\n")
    for path in ("a", "a/b/c.d", "", "/", "./", "[", "\\", "💥/x"):
        owners_for(rules, path)
    assert codeowners_approved(rules, ["a/b"], ["fallback"], is_member=lambda t, u: False) in (
        True,
        False,
    )


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ab/*?\\[]{}! #@\n.", max_size=120), st.text(max_size=30))
def test_fuzzed_files_never_raise(text: str, path: str) -> None:
    rules = parse_codeowners(text)
    assert all(r.line >= 1 for r in rules)
    owners_for(rules, path)
    codeowners_approved(rules, [path], ["a"], is_member=lambda t, u: True)


_SEG = st.sampled_from(["a", "b", "*", "**", "a*", "?", "b.py"])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.booleans(), st.lists(_SEG, min_size=1, max_size=3), st.booleans(), st.integers(0, 3)
        ),
        min_size=1,
        max_size=8,
    ),
    st.lists(st.sampled_from(["a", "b", "b.py", "c"]), min_size=1, max_size=4),
)
def test_indexed_lookup_agrees_with_trying_every_rule(rules_spec, path_parts) -> None:
    """The lookup index (plain paths by dictionary, wildcards by directory) is an optimisation
    only: it must give what a plain last-to-first scan of every line gives."""
    lines = [
        ("/" if lead else "") + "/".join(segs) + ("/" if trail else "") + f" @o{owner}"
        for lead, segs, trail, owner in rules_spec
    ]
    rules = parse_codeowners("\n".join(lines))
    path = "/".join(path_parts)
    expected: tuple[str, ...] = ()
    for rule in reversed(rules):
        m = co._matcher(rule.pattern)
        if m is not None and m.matches(path):
            expected = rule.owners
            break
    assert owners_for(rules, path) == expected


class Membership:
    """A fake forge team directory that records every question asked of it."""

    def __init__(self, teams: dict[str, set[str]]) -> None:
        self.teams = teams
        self.calls: list[tuple[str, str]] = []

    def __call__(self, team: str, user: str) -> bool:
        self.calls.append((team, user))
        return user in self.teams.get(team, set())


TEAM_FILE = """
*            @acme/core
/web/        @acme/Frontend @Lead
/docs/       docs@example.com
/vendor/
"""


def test_none_without_rules() -> None:
    never = Membership({})
    assert codeowners_approved([], ["a.py"], ["alice"], is_member=never) is None
    assert (
        codeowners_approved(parse_codeowners("# only comments\n"), ["a"], [], is_member=never)
        is None
    )
    assert never.calls == []


def test_user_owner_matches_case_insensitively() -> None:
    rules = parse_codeowners("* @Alice\n")
    members = Membership({})
    for approver in ("alice", "ALICE", "@alice"):
        assert codeowners_approved(rules, ["x"], [approver], is_member=members) is True
    assert codeowners_approved(rules, ["x"], ["alicia", "bob"], is_member=members) is False
    assert codeowners_approved(rules, ["x"], [], is_member=members) is False
    assert members.calls == []  # no team owner: the forge is never asked


def test_team_owner_through_membership() -> None:
    rules = parse_codeowners(TEAM_FILE)
    members = Membership({"acme/core": {"carol"}, "acme/frontend": {"dave"}})
    assert codeowners_approved(rules, ["src/a.py"], ["carol"], is_member=members) is True
    assert codeowners_approved(rules, ["src/a.py"], ["dave"], is_member=members) is False
    assert codeowners_approved(rules, ["web/a.ts"], ["Dave"], is_member=members) is True
    assert ("acme/frontend", "dave") in members.calls  # team lower-cased, no "@"
    # A user owner who approved is enough; no membership lookups are spent on the team.
    members.calls.clear()
    assert codeowners_approved(rules, ["web/a.ts", "web/b.ts"], ["lead"], is_member=members) is True
    assert members.calls == []


def test_membership_is_asked_once_per_team_and_approver() -> None:
    rules = parse_codeowners(TEAM_FILE)
    members = Membership({"acme/core": {"carol"}})
    files = [f"src/f{i}.py" for i in range(50)]
    assert codeowners_approved(rules, files, ["bob", "carol"], is_member=members) is True
    assert sorted(members.calls) == [("acme/core", "bob"), ("acme/core", "carol")]


def test_every_owned_file_needs_its_own_owner() -> None:
    rules = parse_codeowners(TEAM_FILE)
    members = Membership({"acme/core": {"carol"}})
    # carol covers src/ but not web/ (owned by @acme/Frontend and @Lead only).
    assert (
        codeowners_approved(rules, ["src/a.py", "web/a.ts"], ["carol"], is_member=members) is False
    )
    assert (
        codeowners_approved(rules, ["src/a.py", "web/a.ts"], ["carol", "lead"], is_member=members)
        is True
    )


def test_files_without_owners_are_ignored() -> None:
    rules = parse_codeowners(TEAM_FILE)
    nobody = Membership({})
    assert codeowners_approved(rules, ["vendor/lib.c"], [], is_member=nobody) is True
    assert codeowners_approved(rules, [], [], is_member=nobody) is True
    partial = parse_codeowners("/web/ @lead\n")
    assert codeowners_approved(partial, ["src/a.py", "README"], [], is_member=nobody) is True
    assert codeowners_approved(partial, ["src/a.py", "web/x"], [], is_member=nobody) is False


def test_email_owners_never_match_logins() -> None:
    rules = parse_codeowners("/docs/ docs@example.com\n* @fallback\n/docs/ docs@example.com\n")
    anyone = Membership({"docs@example.com": {"docs"}})
    assert owners_for(rules, "docs/a.md") == ("docs@example.com",)
    for approver in ("docs", "docs@example.com", "fallback"):
        assert codeowners_approved(rules, ["docs/a.md"], [approver], is_member=anyone) is False
    assert anyone.calls == []


def test_gitlab_role_owners_never_match_logins() -> None:
    rules = parse_codeowners("* @@maintainer\n")
    assert owners_for(rules, "x") == ("@@maintainer",)
    assert codeowners_approved(rules, ["x"], ["maintainer"], is_member=lambda t, u: True) is False


def test_input_is_bounded() -> None:
    many = "".join(f"/d{i}/ @u{i}\n" for i in range(MAX_CODEOWNERS_LINES + 50))
    rules = parse_codeowners(many)
    assert len(rules) == MAX_CODEOWNERS_LINES
    assert rules[-1].line == MAX_CODEOWNERS_LINES
    # Past the size cap the text is cut, and the line cut in half is not read as a rule.
    head = "* @a\n"
    cut = head + "x" * (co.MAX_CODEOWNERS_CHARS - len(head) - 3) + "/ @bbbbbb\n"
    assert [r.pattern for r in parse_codeowners(cut)] == ["*"]


def test_hostile_wildcards_give_unknown_within_the_budget(monkeypatch) -> None:
    text = "".join(f"*x{'?' * (i % 7)}*.py @u{i}\n" for i in range(3000))
    rules = parse_codeowners(text)
    files = [f"src/a/b/c/file{i}x_a.pyz" for i in range(200)]
    monkeypatch.setattr(co, "MATCH_BUDGET", 200_000)
    start = time.monotonic()
    assert codeowners_approved(rules, files, ["u1"], is_member=lambda t, u: False) is None
    assert time.monotonic() - start < 5
    # The same question inside the budget gets a real answer.
    monkeypatch.setattr(co, "MATCH_BUDGET", 10**12)
    assert codeowners_approved(rules, files[:1], ["u1"], is_member=lambda t, u: False) is True


def test_large_plain_file_is_fast() -> None:
    rules = parse_codeowners("".join(f"/src/mod{i}/ @u{i}\n" for i in range(MAX_CODEOWNERS_LINES)))
    files = [f"src/mod{i}/a/b/f.py" for i in range(0, MAX_CODEOWNERS_LINES, 3)]
    approvers = [f"u{i}" for i in range(0, MAX_CODEOWNERS_LINES, 3)]
    start = time.monotonic()
    assert codeowners_approved(rules, files, approvers, is_member=lambda t, u: False) is True
    assert time.monotonic() - start < 3
    assert (
        codeowners_approved(rules, [*files, "src/mod1/x"], approvers, is_member=lambda t, u: False)
        is False
    )


def test_search_order_is_githubs() -> None:
    assert CODEOWNERS_PATHS == (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
