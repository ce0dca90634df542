"""The attributes a rule condition can test, with their types and allowed operators.

This registry is the single source for three things that must never disagree: what the parser
accepts (type-checking happens at parse time, so a bad condition fails ``prbot config validate``
rather than silently never matching), what the evaluator reads, and the attribute table in the docs.

``identity`` marks attributes whose value can only come from the forge API (who the author is,
who approved, which checks passed, mergeability, CODEOWNERS approval). They read dedicated
:class:`~prbot.rules.context.PRContext` fields, never the PR title or body, so PR text cannot
satisfy them. ``model`` marks signals a model suggested; the parser refuses a condition in which
such a signal could decide on its own (see :func:`prbot.rules.conditions.parse_conditions`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import Enum


class AttrType(str, Enum):
    """The value type of an attribute; decides operators and how values are read."""

    STR = "str"
    INT = "int"
    BOOL = "bool"
    DURATION = "duration"
    LIST = "list[str]"
    PATHS = "path-list"


EQUALITY = frozenset({"=", "!="})
ORDERING = frozenset({"<", "<=", ">", ">="})
MATCHING = frozenset({"~=", "*="})
#: Every operator, longest first so ``<=`` is not read as ``<``.
OPERATORS: tuple[str, ...] = ("<=", ">=", "!=", "~=", "*=", "=", "<", ">")
#: The same, in the order the docs and error hints list them.
OPERATOR_ORDER: tuple[str, ...] = ("=", "!=", "<", "<=", ">", ">=", "~=", "*=")

ASSOCIATIONS: tuple[str, ...] = (
    "OWNER",
    "MEMBER",
    "COLLABORATOR",
    "CONTRIBUTOR",
    "FIRST_TIME_CONTRIBUTOR",
    "FIRST_TIMER",
    "NONE",
)
VERDICTS: tuple[str, ...] = ("approve", "comment", "request-changes")

_BASE_OPERATORS = {
    AttrType.STR: EQUALITY | MATCHING,
    AttrType.INT: EQUALITY | ORDERING,
    AttrType.BOOL: EQUALITY,
    AttrType.DURATION: ORDERING,
    AttrType.LIST: EQUALITY | MATCHING,
    AttrType.PATHS: EQUALITY | MATCHING,
}


@dataclass(frozen=True)
class AttrSpec:
    """One attribute of the condition language."""

    name: str
    type: AttrType
    description: str
    example: str
    #: Only the forge API can set it (identity, reviews, checks); PR text never can.
    identity: bool = False
    #: A number that must be written with ``#`` (``#findings-error=0``): there is no list behind it.
    count_only: bool = False
    #: The only values allowed (checked at parse time, case-insensitively).
    choices: tuple[str, ...] = ()
    #: Accepts ``@org/team`` values and compares logins case-insensitively.
    logins: bool = False
    #: Suggested by a model: allowed only next to a condition prbot checks itself.
    model: bool = False

    @property
    def countable(self) -> bool:
        """Whether ``#name`` is meaningful (a list, or a count-only number)."""
        return self.count_only or self.type in (AttrType.LIST, AttrType.PATHS)

    @property
    def is_list(self) -> bool:
        return self.type in (AttrType.LIST, AttrType.PATHS)

    @property
    def display(self) -> str:
        """How the attribute is written in a condition (``#findings`` for count-only ones)."""
        return f"#{self.name}" if self.count_only else self.name

    @property
    def kind(self) -> str:
        """The type in words, for error messages."""
        words = {
            AttrType.INT: "a number",
            AttrType.BOOL: "true/false",
            AttrType.DURATION: "a duration",
        }
        return words.get(self.type, "a list" if self.is_list else "text")

    def misuse(self, op: str, *, count: bool) -> tuple[str, str]:
        """Why ``op`` does not fit this attribute, and how to write it instead (problem, hint)."""
        allowed = self.operators(count=count)
        shown = f"#{self.name}" if count or self.count_only else self.name
        if count or self.count_only:
            problem = f"{op} does not apply to a count"
        elif op in ORDERING:
            problem = f"{op} compares numbers or durations, but {self.name} is {self.kind}"
        elif self.choices:
            problem = f"{self.name} takes one of fixed values, so only = and != apply"
        elif op in MATCHING:
            problem = f"{op} matches text, but {self.name} is {self.kind}"
        else:
            problem = f"{op} cannot be used on {self.name}, which is {self.kind}"
        hint = f"{shown} takes {' '.join(o for o in OPERATOR_ORDER if o in allowed)}; e.g. {self.example}"
        if self.is_list and not count:
            hint += f"; to compare the number of elements write #{self.name}>=2"
        if self.type is AttrType.BOOL:
            hint += f" (or just {self.name} / -{self.name})"
        return problem, hint

    def operators(self, *, count: bool) -> frozenset[str]:
        """Operators allowed on ``name`` (``count=False``) or on ``#name`` (``count=True``)."""
        if count or self.count_only:
            return EQUALITY | ORDERING
        if self.choices:
            return EQUALITY
        return _BASE_OPERATORS[self.type]


_S, _I, _B, _D, _L, _P = (
    AttrType.STR,
    AttrType.INT,
    AttrType.BOOL,
    AttrType.DURATION,
    AttrType.LIST,
    AttrType.PATHS,
)

ATTRIBUTES: dict[str, AttrSpec] = {
    s.name: s
    for s in (
        AttrSpec(
            "author",
            _S,
            "Login of the PR author; @org/team tests team membership.",
            "author=@acme/docs",
            identity=True,
            logins=True,
        ),
        AttrSpec(
            "author-association",
            _S,
            "The author's relation to the repository, as the forge reports it: "
            + ", ".join(ASSOCIATIONS)
            + ".",
            "author-association=MEMBER",
            identity=True,
            choices=ASSOCIATIONS,
        ),
        AttrSpec("draft", _B, "The PR is a draft.", "-draft"),
        AttrSpec("fork", _B, "The head branch lives in a fork of the repository.", "-fork"),
        AttrSpec("base", _S, "Name of the branch the PR targets.", "base=main"),
        AttrSpec("head", _S, "Name of the branch the PR comes from.", "head*=release/*"),
        AttrSpec("title", _S, "PR title (untrusted text written by the author).", "title~=^docs"),
        AttrSpec(
            "body", _S, "PR description (untrusted text written by the author).", "-body~=(?i)wip"
        ),
        AttrSpec("label", _L, "Labels on the PR.", "label=docs"),
        AttrSpec("files", _P, "Repository-relative paths of the changed files.", "files*=docs/**"),
        AttrSpec("additions", _I, "Lines added by the PR.", "additions<=200"),
        AttrSpec("deletions", _I, "Lines deleted by the PR.", "deletions>0"),
        AttrSpec(
            "approved-reviews-by",
            _L,
            "Logins whose latest review approves the PR.",
            "#approved-reviews-by>=1",
            identity=True,
            logins=True,
        ),
        AttrSpec(
            "changes-requested-reviews-by",
            _L,
            "Logins whose latest review requests changes.",
            "#changes-requested-reviews-by=0",
            identity=True,
            logins=True,
        ),
        AttrSpec(
            "check-success",
            _L,
            "Checks / statuses that succeeded on the head commit.",
            "check-success=ci/test",
            identity=True,
        ),
        AttrSpec(
            "check-failure",
            _L,
            "Checks / statuses that failed on the head commit.",
            "#check-failure=0",
            identity=True,
        ),
        AttrSpec(
            "check-pending",
            _L,
            "Checks / statuses still running on the head commit.",
            "#check-pending=0",
            identity=True,
        ),
        AttrSpec(
            "mergeable",
            _B,
            "The forge reports no conflicts (false while unknown).",
            "mergeable",
            identity=True,
        ),
        AttrSpec("age", _D, "Time since the PR was opened.", "age>7d"),
        AttrSpec("updated-age", _D, "Time since the PR was last updated.", "updated-age>30d"),
        AttrSpec(
            "codeowners-approved",
            _B,
            "Every changed file has an approval from one of its CODEOWNERS (false while unknown).",
            "codeowners-approved",
            identity=True,
        ),
        AttrSpec("findings", _I, "Number of review findings.", "#findings=0", count_only=True),
        AttrSpec(
            "findings-error", _I, "Number of error findings.", "#findings-error=0", count_only=True
        ),
        AttrSpec(
            "findings-warning",
            _I,
            "Number of warning findings.",
            "#findings-warning<=3",
            count_only=True,
        ),
        AttrSpec(
            "findings-info", _I, "Number of info findings.", "#findings-info<10", count_only=True
        ),
        AttrSpec(
            "finding-rules", _L, "Rule ids of the review findings.", "-finding-rules~=^secrets/"
        ),
        AttrSpec(
            "review-verdict",
            _S,
            "prbot's review verdict: " + ", ".join(VERDICTS) + ".",
            "review-verdict=approve",
            choices=VERDICTS,
        ),
        AttrSpec(
            "model-verdict",
            _S,
            "The verdict the model suggested ("
            + ", ".join(VERDICTS)
            + "); never enough on its own.",
            "model-verdict=approve",
            choices=VERDICTS,
            model=True,
        ),
    )
}

#: Names other tools use (Mergify, policy-bot) → the prbot attribute, for did-you-mean hints.
_ALIASES = {
    "from-fork": "fork",
    "added-lines": "additions",
    "deleted-lines": "deletions",
    "modified-lines": "additions",
    "created-at": "age",
    "updated-at": "updated-age",
    "labels": "label",
    "file": "files",
    "changed-files": "files",
    "modified-files": "files",
    "added-files": "files",
    "approved-by": "approved-reviews-by",
    "approvals": "approved-reviews-by",
    "base-branch": "base",
    "head-branch": "head",
    "findings-errors": "findings-error",
    "findings-warnings": "findings-warning",
    "verdict": "review-verdict",
}


def suggest(name: str) -> str | None:
    """The attribute a mistyped or foreign name most likely means, or ``None``."""
    norm = name.strip().lstrip("#").lower().replace("_", "-").replace(" ", "-")
    if norm in ATTRIBUTES:
        return norm
    if norm in _ALIASES:
        return _ALIASES[norm]
    close = difflib.get_close_matches(norm, list(ATTRIBUTES), n=1, cutoff=0.6)
    return close[0] if close else None
