"""Evaluate a parsed condition against a :class:`PRContext`, keeping the whole trace.

The result is an :class:`Explanation` tree rather than a bare bool because ``prbot explain``, the
step summary and the audit record all need to show *why* a rule matched or not: each condition's
text, its result and the actual value it looked at (the count, the list, the duration).

Evaluation is total: it never raises on any context. Every group is evaluated in full (no short
circuit) so the trace is complete. A negated leaf is exactly the opposite of the plain leaf, also
when the value is unknown: an unknown ``mergeable``/``codeowners-approved``/``age`` makes every
plain comparison false (``mergeable``, ``mergeable=false``, ``age>7d`` are all false) and so
its negation true. If a leaf cannot be evaluated at all (a context built with wrong types), it
fails closed: the leaf and its negation are both false and the note says why.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import timedelta

from prbot.rules.attributes import ATTRIBUTES, AttrType
from prbot.rules.conditions import AllOf, AnyOf, Condition, Glob, Leaf, Not, TeamRef
from prbot.rules.context import PRContext
from prbot.rules.durations import elapsed, format_duration

_COMPARE: dict[str, Callable[[object, object], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_SHOWN_MATCHES = 5
_PYTHON_TYPE = {AttrType.INT: int, AttrType.DURATION: timedelta, AttrType.BOOL: bool}


@dataclass(frozen=True)
class Explanation:
    """One evaluated condition: its text, result, the actual value, and its sub-conditions."""

    source: str
    result: bool
    actual: object = None
    children: tuple[Explanation, ...] = ()
    #: Extra words for humans: which elements matched, or why a value is unknown.
    note: str = ""
    where: str = ""

    def leaves(self) -> Iterator[Explanation]:
        """The evaluated leaf conditions, in order (e.g. to list the ones that failed)."""
        if not self.children:
            yield self
        for child in self.children:
            yield from child.leaves()

    def to_dict(self) -> dict[str, object]:
        """A JSON-safe form for the audit record and ``--json`` output."""
        out: dict[str, object] = {"source": self.source, "result": self.result}
        if self.actual is not None:
            out["actual"] = _jsonable(self.actual)
        if self.note:
            out["note"] = self.note
        if self.where:
            out["where"] = self.where
        if self.children:
            out["children"] = [c.to_dict() for c in self.children]
        return out


def evaluate(cond: Condition, ctx: PRContext) -> Explanation:
    """Evaluate ``cond`` on ``ctx``; never raises."""
    if isinstance(cond, Leaf):
        return _leaf(cond, ctx)
    if isinstance(cond, Not):
        inner = evaluate(cond.child, ctx)
        return Explanation(cond.source, not inner.result, None, (inner,), "", cond.where)
    if isinstance(cond, (AllOf, AnyOf)):
        children = tuple(evaluate(c, ctx) for c in cond.children)
        hits = sum(c.result for c in children)
        result = hits == len(children) if isinstance(cond, AllOf) else hits > 0
        note = f"{hits} of {len(children)} true"
        return Explanation(cond.source, result, None, children, note, cond.where)
    return Explanation(repr(cond)[:80], False, None, (), "not a parsed condition")


_GETTERS: dict[str, Callable[[PRContext], object]] = {
    "author": lambda c: c.author,
    "author-association": lambda c: c.author_association,
    "draft": lambda c: c.draft,
    "fork": lambda c: c.fork,
    "base": lambda c: c.base,
    "head": lambda c: c.head,
    "title": lambda c: c.title,
    "body": lambda c: c.body,
    "label": lambda c: c.labels,
    "files": lambda c: c.files,
    "additions": lambda c: c.additions,
    "deletions": lambda c: c.deletions,
    "approved-reviews-by": lambda c: c.approved_reviews_by,
    "changes-requested-reviews-by": lambda c: c.changes_requested_reviews_by,
    "check-success": lambda c: c.check_success,
    "check-failure": lambda c: c.check_failure,
    "check-pending": lambda c: c.check_pending,
    "mergeable": lambda c: c.mergeable,
    "age": lambda c: elapsed(c.now, c.created_at),
    "updated-age": lambda c: elapsed(c.now, c.updated_at),
    "codeowners-approved": lambda c: c.codeowners_approved,
    "findings": lambda c: sum(c.findings_by_severity.values()),
    "findings-error": lambda c: c.findings_by_severity.get("error", 0),
    "findings-warning": lambda c: c.findings_by_severity.get("warning", 0),
    "findings-info": lambda c: c.findings_by_severity.get("info", 0),
    "finding-rules": lambda c: c.finding_rules,
    "review-verdict": lambda c: c.review_verdict,
    "model-verdict": lambda c: c.model_verdict,
}


def _leaf(leaf: Leaf, ctx: PRContext) -> Explanation:
    try:
        raw = _GETTERS[leaf.attr](ctx)
        matched, shown, note = _test(leaf, raw, ctx)
    except Exception as exc:  # a malformed context must not crash a run: fail closed
        note = f"could not evaluate: {type(exc).__name__}"
        return Explanation(leaf.source, False, None, (), note, leaf.where)
    return Explanation(leaf.source, matched != leaf.negate, shown, (), note, leaf.where)


def _test(leaf: Leaf, raw: object, ctx: PRContext) -> tuple[bool, object, str]:
    """Whether the un-negated leaf holds, the value to show, and a note."""
    spec = ATTRIBUTES[leaf.attr]
    if leaf.count and spec.is_list:
        if not isinstance(raw, Collection):
            raise TypeError("a collection was expected")
        n = len(raw)
        return _COMPARE[leaf.op](n, leaf.value), n, ""
    if spec.type in (AttrType.INT, AttrType.DURATION, AttrType.BOOL):
        if raw is None:
            return False, None, _unknown(leaf.attr)
        if not isinstance(raw, _PYTHON_TYPE[spec.type]) or (
            spec.type is AttrType.INT and isinstance(raw, bool)  # bool is an int: refuse it
        ):
            raise TypeError(f"{spec.type.value} expected, got {type(raw).__name__}")
        return _COMPARE[leaf.op](raw, leaf.value), raw, ""
    if isinstance(raw, str):
        elements: tuple[str, ...] = (raw,)
        shown: object = raw
    else:
        if not isinstance(raw, Collection):
            raise TypeError("a collection was expected")
        elements = tuple(raw) if isinstance(raw, tuple) else tuple(sorted(raw))
        shown = elements
    hit, note = _element_test(leaf, ctx)
    matching = [e for e in elements if hit(e)]
    if spec.is_list and matching:
        more = len(matching) - _SHOWN_MATCHES
        note = (
            ("present: " if leaf.op == "!=" else "matched: ")
            + ", ".join(matching[:_SHOWN_MATCHES])
            + (f" (+{more})" if more > 0 else "")
        )
    # "!=" is true when no element equals the value (Mergify semantics), on lists and scalars alike.
    matched = not matching if leaf.op == "!=" else bool(matching)
    return matched, shown, note


def _element_test(leaf: Leaf, ctx: PRContext) -> tuple[Callable[[str], bool], str]:
    value = leaf.value
    if isinstance(value, Glob):
        return value.matches, ""
    if isinstance(value, re.Pattern):
        return (lambda e: value.search(e) is not None), ""
    if isinstance(value, TeamRef):
        members = ctx.teams.get(value.name)
        note = "" if members is not None else f"team {value} is not in the context (no members)"
        found = members or frozenset()
        return (lambda e: e.lower() in found), note
    if ATTRIBUTES[leaf.attr].logins:
        wanted = str(value).lower()
        return (lambda e: e.lower() == wanted), ""
    return (lambda e: e == value), ""


def _unknown(attr: str) -> str:
    if attr == "age":
        return "unknown: the PR's creation time is not known"
    if attr == "updated-age":
        return "unknown: the PR's last update time is not known"
    return f"unknown: the forge has not reported {attr}"


def _jsonable(value: object) -> object:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, (tuple, list, set, frozenset)):
        return [_jsonable(v) for v in value]
    return str(value)
