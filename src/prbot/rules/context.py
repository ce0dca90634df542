"""The pull-request state that rule conditions are evaluated against.

One typed, immutable snapshot per evaluation. Each attribute of the condition language reads
exactly one field here, so what can satisfy a condition is decided by the type, not by
string handling: identity and check attributes (``author``, ``approved-reviews-by``,
``check-success``, ``mergeable``, ``codeowners-approved`` …) read fields the app layer fills
from the forge API, and the PR's own text (``title``, ``body``) lives in separate fields that no
identity/check attribute ever looks at. Writing "approved by @admin" in a PR body therefore
cannot make ``approved-reviews-by=admin`` true.

``now`` is required (there is no clock read in the rules core): evaluation is a pure function of
the context, so ``prbot explain`` and rule tests are reproducible.

The constructor normalises what callers commonly pass in looser shapes (lists for sets, ``None``
for empty text, ``Severity`` enum keys, ``@org/team`` keys) so the evaluator never has to guess.
Logins and team names are compared case-insensitively, as the forges treat them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from types import MappingProxyType

_EMPTY: Mapping[str, frozenset[str]] = MappingProxyType({})
_NO_COUNTS: Mapping[str, int] = MappingProxyType({})

_TEXT_FIELDS = (
    "author",
    "base",
    "head",
    "title",
    "body",
    "review_verdict",
    "model_verdict",
    "url",
    "head_sha",
)
_SET_FIELDS = (
    "labels",
    "approved_reviews_by",
    "changes_requested_reviews_by",
    "check_success",
    "check_failure",
    "check_pending",
    "finding_rules",
)


def team_key(name: str) -> str:
    """The lookup key for a team: ``@Org/Team`` and ``org/team`` are the same team."""
    return name.strip().lstrip("@").lower()


def _strings(name: str, value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        # A bare string would silently become a set of characters.
        raise TypeError(
            f"PRContext.{name} must be a collection of strings, not {type(value).__name__}"
        )
    return [str(v) for v in value]


def _enum_text(value: object) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)


@dataclass(frozen=True, kw_only=True)
class PRContext:
    """Everything a condition can look at. Build it in the app layer, evaluate it in rules/."""

    now: datetime
    author: str = ""
    author_association: str = "NONE"
    draft: bool = False
    fork: bool = False
    base: str = ""
    head: str = ""
    title: str = ""
    body: str = ""
    labels: frozenset[str] = frozenset()
    files: tuple[str, ...] = ()
    additions: int = 0
    deletions: int = 0
    approved_reviews_by: frozenset[str] = frozenset()
    changes_requested_reviews_by: frozenset[str] = frozenset()
    check_success: frozenset[str] = frozenset()
    check_failure: frozenset[str] = frozenset()
    check_pending: frozenset[str] = frozenset()
    mergeable: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    #: ``org/team`` (lower case, no ``@``) → member logins (lower case).
    teams: Mapping[str, frozenset[str]] = field(default_factory=lambda: _EMPTY, hash=False)
    codeowners_approved: bool | None = None
    #: ``"info" | "warning" | "error"`` → number of findings of that severity.
    findings_by_severity: Mapping[str, int] = field(default_factory=lambda: _NO_COUNTS, hash=False)
    finding_rules: frozenset[str] = frozenset()
    review_verdict: str = ""
    model_verdict: str = ""
    #: Not condition attributes: what the plan and comment templates need to name the PR, and
    #: the commit that was reviewed (a merge is only ever done with exactly this SHA).
    number: int | None = None
    url: str = ""
    head_sha: str = ""

    def __post_init__(self) -> None:
        put = object.__setattr__
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            put(self, name, "" if value is None else _enum_text(value))
        put(self, "author_association", (_enum_text(self.author_association or "NONE")).upper())
        put(self, "review_verdict", self.review_verdict.lower())
        put(self, "model_verdict", self.model_verdict.lower())
        for name in _SET_FIELDS:
            put(self, name, frozenset(_strings(name, getattr(self, name))))
        put(self, "files", tuple(_strings("files", self.files)))
        teams = {
            team_key(str(k)): frozenset(m.lower() for m in _strings(f"teams[{k!r}]", v))
            for k, v in (self.teams or {}).items()
        }
        put(self, "teams", MappingProxyType(teams))
        counts: dict[str, int] = {}
        for k, v in (self.findings_by_severity or {}).items():
            key = _enum_text(k).lower()
            counts[key] = counts.get(key, 0) + int(v)
        put(self, "findings_by_severity", MappingProxyType(counts))
