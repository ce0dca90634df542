"""The ``~=`` (regex) and ``*=`` (glob) patterns of rule conditions, made safe to match.

Both are matched against untrusted PR data (titles, bodies, branch and file names), so both are
made safe at parse time: regexes are capped in length and refused when they nest unbounded
repeats (the classic exponential-backtracking shape), and globs run on a small state machine
whose time is linear in the text, whatever the pattern. The glob syntax itself is documented
with the condition language in :mod:`prbot.rules.conditions`.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

MAX_PATTERN_CHARS = 500
MAX_BRACE_DEPTH = 32

_QUANT = re.compile(r"[*+?]|\{([0-9]*)(,?)([0-9]*)\}")


class PatternError(ValueError):
    """A regex or glob that is refused; ``hint`` says how to write it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile a ``~=`` pattern, or explain why it is refused."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(
            f"regex longer than {MAX_PATTERN_CHARS} characters",
            "shorten it, or split it into several conditions under or:",
        )
    nested = _nested_repeat(pattern)
    if nested is not None:
        raise PatternError(
            f"regex repeats a group that itself repeats (near {pattern[max(0, nested - 12) : nested + 1]!r}), "
            "which can take exponential time on hostile PR text",
            r"drop one of the repeats, e.g. (\w+/)+ → [\w/]+ and (a+)+ → a+",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "possible nested set" and friends: refuse, don't guess
            return re.compile(pattern)
    except Exception as exc:  # re.error, OverflowError, RecursionError, FutureWarning …
        detail = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
        raise PatternError(
            f"invalid regex: {detail}",
            r"Python regex syntax; escape special characters such as . ( [ with \ , "
            "or use *= for a glob",
        ) from None


def _nested_repeat(p: str) -> int | None:
    """Position of an unbounded repeat of a group that can split the same text many ways.

    A heuristic for the shapes behind most regex denial-of-service reports: ``(a+)+``,
    ``(\\w+\\s?)*``, ``(a|b+)+``, ``(.*x)+``. A group whose every branch has a required
    delimiter and no unbounded ``.``, like ``(\\.\\d+)*`` or ``([a-z]+-)*``, passes.
    """
    frames = [_Frame()]
    i, n = 0, len(p)
    while i < n:
        c, group = p[i], None
        if c == "(":
            frames.append(_Frame())
            i = _skip_group_prefix(p, i + 1)
            continue
        if c == "|":
            frames[-1].next_branch()
            i += 1
            continue
        kind = "char"
        if c == ")" and len(frames) > 1:
            group = frames.pop()
            group.next_branch()
            i += 1
        elif c == "\\":
            kind = "zero" if p[i + 1 : i + 2] in ("b", "B", "A", "Z") else "char"
            i += 2
        elif c == "[":
            i += 1
            i += p[i : i + 1] == "^"
            i += p[i : i + 1] == "]"
            while i < n and p[i] != "]":
                i += 2 if p[i] == "\\" else 1
            i += 1
        else:
            kind = {".": "dot", "^": "zero", "$": "zero"}.get(c, "char")
            i += 1
        at = i
        lo, hi = 1, 1
        m = _QUANT.match(p, i)
        if m and (m.group()[0] != "{" or m.group(1) or m.group(3)):
            lo, hi = _bounds(m)
            i = m.end()
            i += p[i : i + 1] in ("?", "+")
        if hi is None and group is not None and group.risky:
            return at
        frames[-1].add(kind, lo, hi, group)
    return None


def _bounds(m: re.Match[str]) -> tuple[int, int | None]:
    q = m.group()
    if q in ("*", "+", "?"):
        return {"*": (0, None), "+": (1, None), "?": (0, 1)}[q]
    lo = int(m.group(1) or 0)
    return lo, (None if m.group(2) and not m.group(3) else int(m.group(3) or lo))


@dataclass
class _Frame:
    """What one regex group holds, branch by branch, for :func:`_nested_repeat`."""

    risky: bool = False  # a finished branch can repeat without a required delimiter
    all_required: bool = True  # every finished branch must consume a character
    unbounded: bool = False
    dotty: bool = False  # an unbounded . somewhere inside
    b_unbounded: bool = False
    b_required: bool = False
    b_dotty: bool = False

    def add(self, kind: str, lo: int, hi: int | None, group: _Frame | None) -> None:
        if kind == "zero":
            return
        inner_unbounded = group.unbounded if group else False
        inner_dotty = group.dotty if group else False
        if hi is None:
            self.b_unbounded = True
            self.b_dotty = self.b_dotty or kind == "dot" or inner_dotty
            return
        self.b_unbounded = self.b_unbounded or inner_unbounded
        self.b_dotty = self.b_dotty or inner_dotty
        if lo >= 1 and (group is None or group.all_required):
            self.b_required = True

    def next_branch(self) -> None:
        risky = self.b_unbounded and (not self.b_required or self.b_dotty)
        self.risky = self.risky or risky
        self.all_required = self.all_required and self.b_required
        self.unbounded = self.unbounded or self.b_unbounded
        self.dotty = self.dotty or self.b_dotty
        self.b_unbounded = self.b_required = self.b_dotty = False


def _skip_group_prefix(p: str, i: int) -> int:
    """Skip ``?:``, ``?P<name>``, ``?i:``… after ``(`` so their ``?`` is not read as a repeat."""
    if p[i : i + 1] != "?":
        return i
    j = i + 1
    nxt = p[j : j + 1]
    if nxt in (":", "=", "!", ">"):
        return j + 1
    if nxt == "<" and p[j + 1 : j + 2] in ("=", "!"):
        return j + 2
    if nxt == "<" or p[j : j + 2] == "P<":
        end = p.find(">", j)
        return len(p) if end < 0 else end + 1
    if nxt == "#" or p[j : j + 2] == "P=":
        end = p.find(")", j)
        return len(p) if end < 0 else end
    while j < len(p) and (p[j].isalpha() or p[j] == "-"):
        j += 1
    return j + 1 if p[j : j + 1] == ":" else j


# A glob compiles to a tiny program run as a Thompson NFA (a set of positions advanced one
# character at a time), so matching never backtracks.
_LIT, _ONE, _ALL, _SET, _SPLIT, _JUMP, _MATCH = range(7)


@dataclass(frozen=True)
class Glob:
    """A compiled ``*=`` pattern. ``*`` and ``?`` never match ``/``; ``**`` spans directories."""

    pattern: str
    program: tuple[tuple[Any, ...], ...]

    def __str__(self) -> str:
        return self.pattern

    def matches(self, text: str) -> bool:
        prog = self.program
        states = self._closure({0})
        for ch in text:
            nxt = set()
            for pc in states:
                ins = prog[pc]
                op = ins[0]
                if (
                    op == _ALL
                    or (op == _LIT and ins[1] == ch)
                    or (op == _ONE and ch != "/")
                    or (op == _SET and ch != "/" and _in_set(ch, ins))
                ):
                    nxt.add(pc + 1)
            if not nxt:
                return False
            states = self._closure(nxt)
        return any(prog[pc][0] == _MATCH for pc in states)

    def _closure(self, start: set[int]) -> set[int]:
        out: set[int] = set()
        todo = list(start)
        while todo:
            pc = todo.pop()
            if pc in out:
                continue
            out.add(pc)
            ins = self.program[pc]
            if ins[0] == _SPLIT:
                todo.extend((ins[1], ins[2]))
            elif ins[0] == _JUMP:
                todo.append(ins[1])
        return out


def _in_set(ch: str, ins: tuple[Any, ...]) -> bool:
    _, negated, chars, ranges = ins
    hit = ch in chars or any(lo <= ch <= hi for lo, hi in ranges)
    return hit != negated


def compile_glob(pattern: str) -> Glob:
    """Compile a ``*=`` pattern, or explain why it is refused."""
    if not pattern:
        raise PatternError("empty glob", "e.g. docs/** or **/*.md")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"glob longer than {MAX_PATTERN_CHARS} characters", "shorten it")
    prog: list[tuple[Any, ...]] = []
    _GlobCompiler(pattern, prog).sequence(0, in_braces=False)
    prog.append((_MATCH,))
    return Glob(pattern, tuple(prog))


class _GlobCompiler:
    """Recursive descent over the glob, emitting NFA instructions into ``prog``."""

    def __init__(self, pattern: str, prog: list[tuple[Any, ...]]) -> None:
        self.p = pattern
        self.prog = prog

    def emit(self, *ins: object) -> int:
        self.prog.append(ins)
        return len(self.prog) - 1

    def loop(self, op: int) -> None:
        """``op*``: a split that either runs ``op`` and comes back, or moves on."""
        at = self.emit(_SPLIT, 0, 0)
        self.emit(op)
        self.emit(_JUMP, at)
        self.prog[at] = (_SPLIT, at + 1, len(self.prog))

    def sequence(self, i: int, *, in_braces: bool, depth: int = 0) -> int:
        p, n = self.p, len(self.p)
        while i < n:
            c = p[i]
            if in_braces and c in ",}":
                return i
            if c == "}":
                raise PatternError(
                    f"unmatched }} at position {i} in glob", r"escape it as \} or add the {"
                )
            if c == "\\":
                if i + 1 >= n:
                    raise PatternError("glob ends with a lone \\", r"escape a backslash as \\")
                self.emit(_LIT, p[i + 1])
                i += 2
            elif p.startswith("**", i):
                i = self.globstar(i)
            elif c == "*":
                self.loop(_ONE)
                i += 1
            elif c == "?":
                self.emit(_ONE)
                i += 1
            elif c == "[":
                i = self.char_set(i)
            elif c == "{":
                i = self.braces(i, depth)
            else:
                self.emit(_LIT, c)
                i += 1
        if in_braces:
            raise PatternError("unclosed { in glob", "close it with }, e.g. *.{md,rst}")
        return i

    def globstar(self, i: int) -> int:
        p = self.p
        before = p[i - 1] if i > 0 else "/"
        after = p[i + 2 : i + 3]
        if p.startswith("***", i) or before not in "/{," or after not in ("", "/", "}", ","):
            raise PatternError(
                "** must be a whole path segment",
                "write docs/** (everything below docs), **/*.md or src/**/test_*.py; * stays in one directory",
            )
        if after != "/":
            self.loop(_ALL)
            return i + 2
        at = self.emit(_SPLIT, 0, 0)  # (any/)? : zero or more whole directories
        self.loop(_ALL)
        self.emit(_LIT, "/")
        self.prog[at] = (_SPLIT, at + 1, len(self.prog))
        return i + 3

    def char_set(self, i: int) -> int:
        p, n = self.p, len(self.p)
        j = i + 1
        negated = p[j : j + 1] in ("!", "^")
        j += negated
        chars: set[str] = set()
        ranges: list[tuple[str, str]] = []
        first = True
        while j < n and (p[j] != "]" or first):
            first = False
            ch = p[j]
            if ch == "\\" and j + 1 < n:
                j += 1
                ch = p[j]
            if p[j + 1 : j + 2] == "-" and j + 2 < n and p[j + 2] != "]":
                hi = p[j + 2]
                if hi < ch:
                    raise PatternError(
                        f"bad range {ch}-{hi} in glob", f"write it low to high: [{hi}-{ch}]"
                    )
                ranges.append((ch, hi))
                j += 3
            else:
                chars.add(ch)
                j += 1
        if j >= n:
            raise PatternError(
                f"unclosed [ at position {i} in glob", r"close it with ], or escape it as \["
            )
        if "/" in chars:
            raise PatternError("a [...] set never matches /", "move the / out of the brackets")
        self.emit(_SET, negated, frozenset(chars), tuple(ranges))
        return j + 1

    def braces(self, i: int, depth: int) -> int:
        if depth >= MAX_BRACE_DEPTH:
            raise PatternError("braces nested too deeply in glob", "simplify the {…} groups")
        jumps: list[int] = []
        i += 1
        while True:
            at = self.emit(_SPLIT, 0, 0)
            i = self.sequence(i, in_braces=True, depth=depth + 1)
            if self.p[i] == "}":
                self.prog[at] = (_JUMP, at + 1)  # last alternative: no split
                break
            jumps.append(self.emit(_JUMP, 0))
            self.prog[at] = (_SPLIT, at + 1, len(self.prog))
            i += 1
        for j in jumps:
            self.prog[j] = (_JUMP, len(self.prog))
        return i + 1
