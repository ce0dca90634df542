"""CODEOWNERS files, and whether a PR's changed files have the approvals their owners give.

Matching follows what GitHub actually does, which is gitignore-like but not gitignore: a pattern
with a ``/`` at the start or in the middle is anchored at the repository root, one without matches
at any depth; a trailing ``/`` means "everything below this directory"; any other pattern also
covers everything below the path it names, *except* one ending in a lone ``*`` segment
(``docs/*`` owns the files directly in ``docs`` only). ``[`` ``]`` are literal characters (GitHub
has no character classes, and ``app/[id]/page.tsx`` is a common real path). The last matching
line wins, and a matching line without owners means the file has none.

GitLab's ``[Section]`` / ``^[Optional section]`` headers are understood so they are not read as
patterns, and their default owners fill in the lines below them that name none.

A line GitHub would reject (a ``!`` negation, a malformed owner, a pattern that cannot be
compiled) is skipped, as GitHub skips it, so one bad line never disables the whole file and never
raises. Patterns are compiled to :func:`prbot.rules.patterns.compile_glob`, whose matching time is
linear in the path whatever the pattern: the file comes from the repository, i.e. from whoever can
push to its base branch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from prbot.rules.patterns import Glob, PatternError, compile_glob

__all__ = [
    "CODEOWNERS_PATHS",
    "GITLAB_CODEOWNERS_PATHS",
    "MATCH_BUDGET",
    "MAX_CODEOWNERS_CHARS",
    "MAX_CODEOWNERS_LINES",
    "OwnerRule",
    "codeowners_approved",
    "owners_for",
    "parse_codeowners",
]

#: Where the forges look, in GitHub's search order (the first one found is the only one used).
CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
#: GitLab's own order: it never reads ``.github/``, and has ``.gitlab/`` instead.
GITLAB_CODEOWNERS_PATHS = ("CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")

#: GitHub ignores a CODEOWNERS file over 3 MB; past that we read no further either.
MAX_CODEOWNERS_CHARS = 3 * 1024 * 1024
MAX_CODEOWNERS_LINES = 10_000
#: A pattern this long is not a path anyone wrote by hand; refusing it early keeps parsing cheap.
_MAX_PATTERN_CHARS = 400

#: Work units one call of :func:`codeowners_approved` may spend: a few per wildcard rule tried,
#: plus path length x glob size per glob run (a bound on its NFA steps). A few seconds at
#: worst, and far above what real repositories need.
MATCH_BUDGET = 20_000_000
_CHECK_COST = 10  # the prefilter of one wildcard rule, against a glob step


_USER_OR_TEAM = re.compile(r"@[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_.-]+)*")
_ROLE = re.compile(r"@@[A-Za-z_]+")  # GitLab roles (@@maintainer): kept, never matched to a login
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SECTION = re.compile(r"\^?\[([^\]]+)\](?:\[\d*\])?(?=\s|$)")


@dataclass(frozen=True)
class OwnerRule:
    """One CODEOWNERS line: ``pattern`` as written (escapes kept), owners as written."""

    pattern: str
    owners: tuple[str, ...]
    line: int


def parse_codeowners(text: str) -> list[OwnerRule]:
    """The usable rules of a CODEOWNERS file, in file order; lines GitHub would skip are dropped."""
    truncated = len(text) > MAX_CODEOWNERS_CHARS
    lines = text[:MAX_CODEOWNERS_CHARS].removeprefix("\ufeff").split("\n")
    if truncated:
        lines.pop()  # possibly cut mid-line: a half pattern must not own anything
    rules: list[OwnerRule] = []
    defaults: tuple[str, ...] = ()
    for number, raw in enumerate(lines[:MAX_CODEOWNERS_LINES], start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = _SECTION.match(line)
        if header:
            # Invalid tokens on a header are dropped rather than voiding the whole section.
            defaults = tuple(t for t in _tokens(line[header.end() :]) if _is_owner(t))
            continue
        tokens = _tokens(line)
        if not tokens:
            continue
        pattern, owners = tokens[0], tuple(tokens[1:])
        if not all(_is_owner(o) for o in owners) or _matcher(pattern) is None:
            continue
        rules.append(OwnerRule(pattern, owners or defaults, number))
    return rules


def _tokens(line: str) -> list[str]:
    """Split on unescaped whitespace, stopping at a token that starts with an unescaped ``#``."""
    out: list[str] = []
    cur: list[str] = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == "\\":
            cur.append(line[i : i + 2])  # the escape stays: the glob compiler reads it
            i += 2
            continue
        if c.isspace():
            if cur:
                out.append("".join(cur))
                cur = []
        elif c == "#" and not cur:
            break
        else:
            cur.append(c)
        i += 1
    if cur:
        out.append("".join(cur))
    return out


def _is_owner(token: str) -> bool:
    return any(rx.fullmatch(token) for rx in (_USER_OR_TEAM, _ROLE, _EMAIL))


def owners_for(rules: Sequence[OwnerRule], path: str) -> tuple[str, ...]:
    """The owners of ``path`` (repository-relative): those of the last rule that matches it."""
    return _Index(rules, budget=None).owners(path)


def codeowners_approved(
    rules: Sequence[OwnerRule],
    files: Iterable[str],
    approvers: Iterable[str],
    *,
    is_member: Callable[[str, str], bool],
) -> bool | None:
    """Whether every owned file in ``files`` has an approval from one of its owners.

    ``None`` when unknown: no rules (no CODEOWNERS, or nothing usable in it), so a rule cannot
    merge on the strength of a file that does not exist, or a file whose wildcards would take
    too long to match against this PR (a hostile CODEOWNERS must not stall the run). Files
    nobody owns need no one. ``is_member(team, login)`` gets ``org/team`` in lower case without
    ``@``; it is asked at most once per (team, approver), and only when no user owner approved.
    """
    if not rules:
        return None
    logins = {a.lstrip("@").lower() for a in approvers if a and a.lstrip("@")}
    memo: dict[str, bool] = {}

    def satisfied(owner: str) -> bool:
        key = owner.lower()
        if key not in memo:
            name = key[1:] if key.startswith("@") and not key.startswith("@@") else ""
            if not name:  # e-mail address or GitLab role: no login to compare with
                memo[key] = False
            elif "/" not in name:
                memo[key] = name in logins
            else:
                memo[key] = any(is_member(name, login) for login in sorted(logins))
        return memo[key]

    index = _Index(rules, budget=MATCH_BUDGET)
    try:
        for f in files:
            owners = index.owners(f)
            ordered = sorted(owners, key=lambda o: "/" in o)  # users first: teams cost API calls
            if owners and not any(satisfied(o) for o in ordered):
                return False
    except _OverBudget:
        return None
    return True


class _OverBudget(Exception):
    pass


class _Index:
    """Rules arranged for last-match-wins lookups without trying every rule on every path.

    Plain paths (most lines of a real CODEOWNERS) become dictionary lookups on the path's own
    prefixes and components; only wildcard rules *after* the best plain match are then tried.
    """

    def __init__(self, rules: Sequence[OwnerRule], *, budget: int | None) -> None:
        self.owners_at: list[tuple[str, ...]] = [r.owners for r in rules]
        self.anchored: dict[tuple[str, bool], int] = {}  # (path, dir_only) -> last line index
        self.names: dict[tuple[str, bool], int] = {}
        self.wild: dict[str, list[tuple[int, _Matcher]]] = {}  # by literal directory prefix
        self.budget = budget
        for k, rule in enumerate(rules):
            m = _matcher(rule.pattern)
            if m is None:
                continue
            if m.literal is None:
                bucket = m.prefix[: m.prefix.rfind("/") + 1]
                self.wild.setdefault(bucket, []).append((k, m))
            else:
                (self.anchored if m.anchored else self.names)[(m.literal, m.dir_only)] = k

    def owners(self, path: str) -> tuple[str, ...]:
        path = _normalise(path)
        if not path:
            return ()
        parts = path.split("/")
        best = -1
        for n in range(1, len(parts) + 1):
            is_dir = n < len(parts)  # parts[:n] names a directory above the file
            prefix = "/".join(parts[:n])
            best = max(best, self.anchored.get((prefix, False), -1))
            if is_dir:
                best = max(best, self.anchored.get((prefix, True), -1))
                best = max(best, self.names.get((parts[n - 1], True), -1))
            best = max(best, self.names.get((parts[n - 1], False), -1))
        tried = list(self.wild.get("", ()))
        for n in range(1, len(parts)):
            tried += self.wild.get("/".join(parts[:n]) + "/", ())
        tried.sort(key=lambda km: -km[0])
        for k, m in tried:
            if k < best:
                break
            self._spend(_CHECK_COST)
            if not m.may_match(path) or m.glob is None:
                continue
            self._spend(len(path) * len(m.glob.program))
            if m.glob.matches(path):
                return self.owners_at[k]
        return self.owners_at[best] if best >= 0 else ()

    def _spend(self, units: int) -> None:
        if self.budget is not None:
            self.budget -= units
            if self.budget < 0:
                raise _OverBudget


def _normalise(path: str) -> str:
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


@dataclass(frozen=True)
class _Matcher:
    """A compiled pattern; plain paths (most CODEOWNERS lines) skip the glob entirely."""

    anchored: bool
    dir_only: bool
    literal: str | None  # the whole pattern when it has no wildcard
    prefix: str  # literal text every match starts with (anchored patterns)
    needles: tuple[str, ...]  # literal runs every match contains
    glob: Glob | None

    def matches(self, path: str) -> bool:
        lit = self.literal
        if lit is not None:
            if not self.anchored:
                parts = path.split("/")
                return lit in (parts[:-1] if self.dir_only else parts)
            under = path.startswith(lit + "/")
            return under if self.dir_only else under or path == lit
        return self.may_match(path) and self.glob is not None and self.glob.matches(path)

    def may_match(self, path: str) -> bool:
        """The cheap literal checks a wildcard pattern's match must pass before the glob runs."""
        return path.startswith(self.prefix) and all(s in path for s in self.needles)


# An atom is a literal character, or "*" / "?" / "/" when unescaped.
_STAR, _ONE, _SEP = object(), object(), object()


@lru_cache(maxsize=2 * MAX_CODEOWNERS_LINES)
def _matcher(pattern: str) -> _Matcher | None:
    """Compile a CODEOWNERS pattern, or ``None`` if GitHub would reject the line."""
    if not pattern or len(pattern) > _MAX_PATTERN_CHARS or pattern.startswith("!"):
        return None
    atoms: list[object] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            atoms.append(pattern[i + 1])
            i += 2
            continue
        atoms.append({"*": _STAR, "?": _ONE, "/": _SEP}.get(c, c))
        i += 1
    leading = atoms[0] is _SEP
    dir_only = atoms[-1] is _SEP
    segments: list[list[object]] = [[]]
    for a in atoms:
        if a is not _SEP:
            segments[-1].append(a)
        elif segments[-1]:
            segments.append([])
    if not segments[-1]:
        segments.pop()
    if not segments:
        return None  # "/" alone names nothing
    anchored = leading or len(segments) > 1
    globs = [_segment_glob(s) for s in segments]
    if any(g is None for g in globs):
        return None
    body = "/".join(g for g in globs if g is not None)
    if all(isinstance(a, str) for s in segments for a in s):
        plain = "/".join("".join(str(a) for a in s) for s in segments)
        return _Matcher(anchored, dir_only, plain, "", (), None)
    last = globs[-1]
    if not anchored:
        body = "**/" + body
    if dir_only:
        body += "/**"
    elif last not in ("*", "**"):
        body += "{,/**}"  # the path itself, or anything below it
    try:
        glob = compile_glob(body)
    except PatternError:
        return None
    prefix, needles = _literals(segments, anchored)
    return _Matcher(anchored, dir_only, None, prefix, needles, glob)


def _segment_glob(segment: list[object]) -> str | None:
    stars = sum(a is _STAR for a in segment)
    if stars == len(segment) and stars > 1:
        return "**" if stars == 2 else None  # "***" is rejected by GitHub too
    out: list[str] = []
    prev = None
    for a in segment:
        if a is _STAR:
            if prev is not _STAR:  # "a**b" is just "a*b", as in gitignore
                out.append("*")
        elif a is _ONE:
            out.append("?")
        else:
            ch = str(a)
            out.append("\\" + ch if ch in "\\*?[]{}," else ch)
        prev = a
    return "".join(out)


def _literals(segments: list[list[object]], anchored: bool) -> tuple[str, tuple[str, ...]]:
    """The literal prefix (anchored only) and the literal runs that any matching path contains."""
    runs: list[str] = []
    cur: list[str] = []
    prefix: str | None = None
    for k, seg in enumerate(segments):
        if k:
            cur.append("/")
        for a in seg:
            if isinstance(a, str):
                cur.append(a)
            else:
                if prefix is None:
                    prefix = "".join(cur) if anchored else ""
                if cur:
                    runs.append("".join(cur))
                cur = []
    if cur:
        runs.append("".join(cur))
    # "**" may match no directory at all, so a "/" beside it is not guaranteed: strip it.
    needles = tuple(r.strip("/") for r in runs if r.strip("/"))
    return prefix or "", needles
