"""The rule-condition language: parse ``.prbot.yml`` conditions into a typed tree.

Syntax (Mergify-compatible, so conditions users already know keep working)::

    condition := "[-][#]attribute [operator value]"      a string, one line
               | {and: [condition, ...]} | {or: [condition, ...]} | {not: condition}

* ``-`` negates the whole condition. ``#`` compares the *number* of elements of a list attribute
  (``#files<=5``); count-only attributes are always written with it (``#findings-error=0``).
* A bare true/false attribute means ``=true``: ``draft``, ``-draft``, ``fork``, ``mergeable``,
  ``codeowners-approved``.
* Operators: ``=`` ``!=`` (equality), ``<`` ``<=`` ``>`` ``>=`` (numbers and durations),
  ``~=`` (Python regular expression, searched anywhere in the value: anchor with ``^``/``$``),
  ``*=`` (glob, matched against the whole value). Spaces around the operator are allowed.
* Globs: ``*`` any run of characters except ``/``, ``**`` any number of directories (only as a
  whole path segment: ``docs/**``, ``**/*.md``, ``src/**/test_*.py``), ``?`` one character except
  ``/``, ``[abc]`` / ``[a-z]`` / ``[!abc]`` one character of (not of) a set, ``{md,rst}``
  alternatives (nestable), ``\\`` escapes the next character. ``files=path`` is an exact path and
  rejects wildcards so ``files=docs/*`` cannot silently never match; write ``files*=docs/*``.
* Values: bare or quoted with ``"…"`` / ``'…'`` (taken verbatim, needed only for surrounding
  spaces or an empty string), whole numbers, ``true``/``false``, durations with a unit
  (``age>7d``, ``updated-age<1w2d``), team references ``@org/team`` on login attributes.
* Login attributes (``author``, ``approved-reviews-by``, ``changes-requested-reviews-by``)
  compare case-insensitively, as the forges do; ``author=@org/team`` is true when the author is
  a member of that team, ``approved-reviews-by=@org/team`` when any approver is.

Lists (``label``, ``files``, ``approved-reviews-by``, ``check-*``, ``finding-rules``): a plain
condition is true when ANY element matches (``label=docs``: some label is ``docs``). ``-``
negates that, so ``-label=wip`` means "no label is wip", and, as in Mergify, ``label!=wip`` means
the same thing (no element equals it), not "some label differs from wip".

A list of conditions is an implicit AND. ``model-verdict`` (what a model suggested) may only be
one condition among others: a condition that a model verdict alone could satisfy is refused.

Errors are :class:`ConditionSyntaxError`, raised at parse time (so ``prbot config validate``
catches them) with the condition text, where it is, and a hint that shows the fix. The parser
raises nothing else on any input. Nothing here uses ``eval``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prbot.rules.attributes import ATTRIBUTES, OPERATORS, AttrSpec, AttrType, suggest
from prbot.rules.durations import DurationError, parse_duration
from prbot.rules.patterns import Glob as Glob  # re-exported: evaluate.py imports it from here
from prbot.rules.patterns import PatternError, compile_glob, compile_regex

MAX_CONDITION_CHARS = 2000
MAX_DEPTH = 32
MAX_NODES = 1000

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_INT = re.compile(r"[+-]?[0-9]{1,18}")
_TEAM = re.compile(r"@[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+")
_LOOKALIKES = {"==": "=", "≠": "!=", "≥": ">=", "≤": "<=", ":": "=", "=~": "~=", "<>": "!="}
_WILDCARDS = ("*", "?")


class ConditionSyntaxError(ValueError):
    """A condition that cannot be parsed or type-checked.

    ``source`` is the condition text (empty for structural errors), ``position`` the 0-based column
    of the problem in it when known, ``where`` the config location (``rules[2].if[0]``).
    """

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        source: str = "",
        position: int | None = None,
        where: str = "",
    ) -> None:
        self.message = message
        self.hint = hint
        self.source = source
        self.position = position
        self.where = where
        super().__init__(self.one_line())

    def one_line(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        suffix = f" (hint: {self.hint})" if self.hint else ""
        return f"{prefix}{self.message}{suffix}"

    def pointer(self) -> str:
        """The condition with a caret under the problem, for terminals; empty if unknown."""
        if not self.source or self.position is None:
            return ""
        return f"{self.source}\n{' ' * self.position}^"


@dataclass(frozen=True)
class TeamRef:
    """``@org/team`` in a login condition: true for any member of the team."""

    name: str  # lower case, without the ``@``

    def __str__(self) -> str:
        return f"@{self.name}"


@dataclass(frozen=True)
class Leaf:
    """One ``[-][#]attribute op value`` test. ``value`` is typed: str, int, bool, timedelta,
    TeamRef, a compiled regex (``~=``) or a Glob (``*=``)."""

    attr: str
    op: str
    value: object
    negate: bool = False
    count: bool = False
    source: str = ""
    where: str = ""

    @property
    def spec(self) -> AttrSpec:
        return ATTRIBUTES[self.attr]


@dataclass(frozen=True)
class AllOf:
    children: tuple[Condition, ...]
    source: str = "and"
    where: str = ""


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Condition, ...]
    source: str = "or"
    where: str = ""


@dataclass(frozen=True)
class Not:
    child: Condition
    source: str = "not"
    where: str = ""


Condition = Leaf | AllOf | AnyOf | Not


def leaves(cond: Condition) -> Iterator[Leaf]:
    """Every leaf of a condition tree, in order (e.g. to know which PR data a rule needs)."""
    if isinstance(cond, Leaf):
        yield cond
    elif isinstance(cond, Not):
        yield from leaves(cond.child)
    else:
        for child in cond.children:
            yield from leaves(child)


def parse_condition(obj: object, *, where: str = "") -> Condition:
    """Parse one condition (a string or an ``and``/``or``/``not`` mapping)."""
    cond = _Parser().parse(obj, where, 0)
    _check_model_gate(cond, where)
    return cond


def parse_conditions(items: object, *, where: str = "") -> Condition:
    """Parse a list of conditions, combined with AND. An empty list is always true."""
    cond = _Parser().parse_list(items, where, 0, "and")
    _check_model_gate(cond, where)
    return cond


# --- structure -------------------------------------------------------------------------------


class _Parser:
    """Walks YAML-shaped data with a depth and size budget (YAML aliases can build huge or
    cyclic structures, which must end in a ConditionSyntaxError, not a RecursionError)."""

    def __init__(self) -> None:
        self.nodes = 0

    def parse(self, obj: object, where: str, depth: int) -> Condition:
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            raise ConditionSyntaxError(
                f"condition nested too deeply or too large (over {MAX_DEPTH} levels or "
                f"{MAX_NODES} conditions)",
                hint="split it into several rules, or check for a YAML alias that refers to itself",
                where=where,
            )
        if isinstance(obj, str):
            return _parse_text(obj, where)
        if isinstance(obj, Mapping):
            return self._parse_mapping(obj, where, depth)
        raise _not_a_condition(obj, where)

    def parse_list(self, items: object, where: str, depth: int, key: str) -> AllOf | AnyOf:
        if isinstance(items, (str, Mapping)) or not isinstance(items, Sequence):
            shown = _short(items)
            raise ConditionSyntaxError(
                f"expected a list of conditions, got {shown}",
                hint='write one condition per list item, e.g. ["label=docs", "-draft"]',
                where=where,
            )
        if (key != "and" or depth > 0) and not items:
            raise ConditionSyntaxError(
                "has no conditions",
                hint=f"give {key}: at least one condition, or remove it",
                where=where,
            )
        children = tuple(
            self.parse(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(items)
        )
        return AnyOf(children, where=where) if key == "or" else AllOf(children, where=where)

    def _parse_mapping(self, obj: Mapping[Any, Any], where: str, depth: int) -> Condition:
        keys = list(obj.keys())
        if len(keys) != 1:
            shown = ", ".join(repr(k) for k in keys[:5]) or "none"
            raise ConditionSyntaxError(
                f"a condition mapping needs exactly one key (and, or, not), got {shown}",
                hint='put each condition in its own list item, e.g. - and: ["label=a", "label=b"]',
                where=where,
            )
        key = keys[0]
        value = obj[key]
        name = key.strip().lower() if isinstance(key, str) else key
        inner = f"{where}.{name}" if where else str(name)
        if name in ("and", "or") and key == name:
            return self.parse_list(value, inner, depth + 1, name)
        if name == "not" and key == name:
            if isinstance(value, Sequence) and not isinstance(value, str):
                raise ConditionSyntaxError(
                    "takes one condition, got a list",
                    hint='for several write not: {and: ["draft", "fork"]} or not: {or: [...]}',
                    where=inner,
                )
            return Not(self.parse(value, inner, depth + 1), where=inner)
        if name in ("and", "or", "not"):
            raise ConditionSyntaxError(
                f"write {name}: in lower case without spaces, got {key!r}", where=where
            )
        if isinstance(key, str) and suggest(key):
            text = f"{key}={value}" if not isinstance(value, (Mapping, list)) else key
            raise ConditionSyntaxError(
                f"{key!r} is not and/or/not: YAML read '{key}: …' as a mapping",
                hint=f'write the condition as one string without ": ", e.g. - "{text}"',
                where=where,
            )
        raise ConditionSyntaxError(
            f"unknown key {key!r} in a condition mapping",
            hint="the only keys are and:, or: (each a list) and not: (one condition)",
            where=where,
        )


def _not_a_condition(obj: object, where: str) -> ConditionSyntaxError:
    if obj is None:
        return ConditionSyntaxError(
            "empty condition",
            hint='YAML reads an unquoted # as a comment: quote conditions, e.g. - "#files<=5"',
            where=where,
        )
    return ConditionSyntaxError(
        f"a condition must be a string or an and/or/not mapping, got {_short(obj)}",
        hint='quote it, e.g. - "draft" or - "#files<=5"',
        where=where,
    )


def _short(obj: object) -> str:
    try:
        text = repr(obj)
    except Exception:  # a hostile __repr__ must not escape the parser
        text = "?"
    kind = type(obj).__name__
    return f"{kind} {text[:60]}" if len(text) <= 60 else f"{kind} {text[:57]}..."


def _check_model_gate(cond: Condition, where: str) -> None:
    mentions = any(leaf.spec.model for leaf in leaves(cond))
    if mentions and not _gated(cond, negated=False):
        raise ConditionSyntaxError(
            "model-verdict cannot decide on its own: the condition can be true with only the "
            "model's suggestion",
            hint="AND it with a condition prbot checks itself, e.g. "
            '["model-verdict=approve", "check-success=ci", "#approved-reviews-by>=1"]',
            where=where,
        )


def _gated(cond: Condition, *, negated: bool) -> bool:
    """Whether the condition can only be true if some non-model leaf holds (or fails)."""
    if isinstance(cond, Leaf):
        return not cond.spec.model
    if isinstance(cond, Not):
        return _gated(cond.child, negated=not negated)
    results = [_gated(child, negated=negated) for child in cond.children]
    conjunctive = isinstance(cond, AllOf) != negated
    return any(results) if conjunctive else bool(results) and all(results)


# --- one string condition --------------------------------------------------------------------


def _parse_text(text: str, where: str) -> Leaf:
    src = text.strip()

    def fail(problem: str, hint: str = "", pos: int | None = None) -> ConditionSyntaxError:
        return ConditionSyntaxError(
            f'condition "{src}": {problem}' if src else problem,
            hint=hint,
            source=src,
            position=pos,
            where=where,
        )

    if len(src) > MAX_CONDITION_CHARS:
        src = src[:60] + "…"
        raise fail(f"longer than {MAX_CONDITION_CHARS} characters", "shorten it or split the rule")
    if not src:
        raise fail(
            "empty condition", "write e.g. label=docs, or a true/false attribute such as draft"
        )
    bad = next((i for i, ch in enumerate(src) if ch in "\r\n\x00"), None)
    if bad is not None:
        raise fail("a condition is one line", "put each condition in its own list item", bad)

    pos = 0
    negate = count = False
    if src.startswith("-"):
        negate, pos = True, _skip_spaces(src, 1)
        if src.startswith("-", pos):
            raise fail("negated twice", "write one - (or none)", pos)
    hash_pos = pos
    if src.startswith("#", pos):
        count, pos = True, _skip_spaces(src, pos + 1)
    if src.startswith("-", pos):
        raise fail("the - goes before the #", "write -#files>10, not #-files>10", pos)
    m = _NAME.match(src, pos)
    if m is None:
        raise fail("expected an attribute name", "e.g. label=docs, #files<=5, -draft, age>7d", pos)
    name = m.group()
    spec = ATTRIBUTES.get(name)
    if spec is None:
        guess = suggest(name)
        hint = (
            f"did you mean {ATTRIBUTES[guess].display}?"
            if guess
            else "see the attribute table in the docs"
        )
        raise fail(f"unknown attribute {name!r}", hint, pos)
    shown = f"#{name}" if count else spec.display
    pos = _skip_spaces(src, m.end())

    if count and not spec.countable:
        raise fail(
            f"# counts the elements of a list, but {name} is {spec.kind}",
            f"remove the # (e.g. {spec.example}); # works on label, files, approved-reviews-by, …",
            hash_pos,
        )
    if spec.count_only and not count:
        raise fail(f"{name} is a count: write it with #", f"e.g. {spec.example}", m.start())

    rest = src[pos:]
    if not rest:
        if spec.type is AttrType.BOOL:
            return Leaf(name, "=", True, negate, count, src, where)
        raise fail(f"{shown} needs an operator and a value", f"e.g. {spec.example}", pos)
    for lookalike, real in _LOOKALIKES.items():
        if rest.startswith(lookalike):
            raise fail(f"unknown operator {lookalike!r}", f"write {real}, e.g. {spec.example}", pos)
    op = next((o for o in OPERATORS if rest.startswith(o)), None)
    if op is None:
        raise fail(
            f"expected an operator after {shown}",
            "operators are = != < <= > >= ~= (regex) *= (glob), e.g. " + spec.example,
            pos,
        )
    if op not in spec.operators(count=count):
        raise fail(*spec.misuse(op, count=count), pos)
    vpos = _skip_spaces(src, pos + len(op))
    value = _read_value(src[vpos:], spec, op, count, lambda p, h="": fail(p, h, vpos))
    return Leaf(name, op, value, negate, count, src, where)


#: Builds the error for the condition being parsed: ``fail(problem, hint="")``.
_Fail = Callable[..., ConditionSyntaxError]


def _skip_spaces(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos


def _read_value(raw: str, spec: AttrSpec, op: str, count: bool, fail: _Fail) -> object:
    quoted = raw[:1] in ("'", '"')
    if quoted:
        if len(raw) < 2 or raw[-1] != raw[0]:
            raise fail("unclosed quote", f"end the value with {raw[0]} (quotes are taken verbatim)")
        text = raw[1:-1]
    else:
        text = raw
        if not text:
            raise fail(f"missing value after {op}", f'e.g. {spec.example}; an empty string is ""')

    if count or spec.count_only or spec.type is AttrType.INT:
        if quoted or not _INT.fullmatch(text):
            raise fail(
                f"{text!r} is not a whole number",
                f"write a number without quotes, e.g. {spec.example}",
            )
        return int(text)
    if spec.type is AttrType.BOOL:
        low = text.lower()
        if low not in ("true", "false"):
            raise fail(
                f"{spec.name} is true or false, got {text!r}", f"write {spec.name} or -{spec.name}"
            )
        return low == "true"
    if spec.type is AttrType.DURATION:
        try:
            return parse_duration(text)
        except DurationError as exc:
            raise fail(exc.message, exc.hint) from None
    if op == "~=":
        try:
            return compile_regex(text)
        except PatternError as exc:
            raise fail(exc.message, exc.hint) from None
    if op == "*=":
        try:
            return compile_glob(text)
        except PatternError as exc:
            raise fail(exc.message, exc.hint) from None
    if spec.choices:
        return _choice(text, spec, fail)
    if spec.logins and text.startswith("@"):
        if not _TEAM.fullmatch(text):
            raise fail(
                f"{text!r} is not a team reference",
                f"teams are written @org/team; for a single user write {spec.name}={text[1:] or 'login'}",
            )
        return TeamRef(text[1:].lower())
    if spec.type is AttrType.PATHS:
        _check_path(text, spec, fail)
    return text


def _choice(text: str, spec: AttrSpec, fail: _Fail) -> str:
    by_key = {c.lower().replace("_", "-"): c for c in spec.choices}
    found = by_key.get(text.lower().replace("_", "-"))
    if found is None:
        close = difflib.get_close_matches(
            text.upper() if spec.choices[0].isupper() else text.lower(), spec.choices, n=1
        )
        near = f"did you mean {close[0]}? " if close else ""
        raise fail(
            f"{text!r} is not a valid {spec.name}", f"{near}one of: {', '.join(spec.choices)}"
        )
    return found


def _check_path(text: str, spec: AttrSpec, fail: _Fail) -> None:
    if text.startswith("glob:"):
        raise fail(
            "there is no glob: prefix", f"for a glob use the *= operator: {spec.name}*={text[5:]}"
        )
    if any(ch in text for ch in _WILDCARDS):
        raise fail(
            f"{spec.name}= compares exact paths, but {text!r} has wildcards",
            f"for a glob write {spec.name}*={text}; for a regex {spec.name}~=…",
        )
    if text.startswith(("/", "./")):
        raise fail(
            "paths are relative to the repository root", f"write {spec.name}={text.lstrip('./')}"
        )
