"""Core value types shared by every layer: severities, findings, usage and model-call records.

These are plain dataclasses (inside the process); pydantic models are used only at the edges
(config files, model output, JSON documents we print).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import Enum


class Severity(str, Enum):
    """How serious a finding is. Ordered: ``info < warning < error``."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank

    @classmethod
    def parse(cls, value: str) -> Severity:
        """Lenient parse used on model output: unknown words map to ``warning``."""
        v = (value or "").strip().lower()
        aliases = {
            "critical": "error",
            "high": "error",
            "major": "error",
            "blocker": "error",
            "medium": "warning",
            "minor": "info",
            "low": "info",
            "note": "info",
            "suggestion": "info",
            "nit": "info",
        }
        v = aliases.get(v, v)
        try:
            return cls(v)
        except ValueError:
            return cls.WARNING


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(frozen=True)
class Finding:
    """One review finding.

    ``line`` is a line number on the *new* side of the diff, or ``None`` for findings about a
    whole file or the whole change. ``source`` is ``"builtin"`` or the model string that found it.
    ``anchor`` is the text of the line the finding is about; the fingerprint hashes it instead of
    the line number, so a finding keeps its identity when unrelated lines above it move.
    """

    path: str
    line: int | None
    severity: Severity
    rule: str
    message: str
    source: str = "builtin"
    suggestion: str | None = None
    end_line: int | None = None
    anchor: str = ""

    @property
    def fingerprint(self) -> str:
        basis = "\x1f".join(
            [self.rule, self.path, self.anchor.strip() or str(self.line), self.message]
        )
        return hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()[:16]

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "end_line": self.end_line,
            "severity": self.severity.value,
            "rule": self.rule,
            "message": self.message,
            "source": self.source,
            "suggestion": self.suggestion,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True)
class SkippedFile:
    """A file left out of the review, with the reason (never dropped silently)."""

    path: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass
class Usage:
    """Token usage and cost summed over a run. ``cost_usd`` is ``None`` when it cannot be priced."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0

    def add(self, prompt: int, completion: int, cost: float | None) -> None:
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        if cost is None or self.cost_usd is None:
            self.cost_usd = None
        else:
            self.cost_usd += cost

    def to_dict(self) -> dict[str, object]:
        cost = None if self.cost_usd is None else round(self.cost_usd, 8)
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": cost,
        }


@dataclass(frozen=True)
class ModelCall:
    """One call to a model, as recorded in the audit trail."""

    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    latency_ms: float = 0.0
    cache_hit: bool = False
    error: str | None = None
    purpose: str = "review"

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": self.cost_usd,
            "latency_ms": round(self.latency_ms, 1),
            "cache_hit": self.cache_hit,
            "error": self.error,
            "purpose": self.purpose,
        }


@dataclass
class ReviewResult:
    """What a reviewer produced for one change.

    ``findings`` are the inline-capable findings; ``summary_findings`` are findings that could not be
    anchored to a commentable line (they go into the summary, never inline). ``warnings`` are
    user-visible notes about degraded behaviour (e.g. "model output invalid, builtin used").
    """

    findings: list[Finding] = field(default_factory=list)
    summary_findings: list[Finding] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    model: str = "builtin"
    usage: Usage = field(default_factory=Usage)
    calls: list[ModelCall] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    summary: str = ""

    @property
    def all_findings(self) -> list[Finding]:
        return [*self.findings, *self.summary_findings]

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.all_findings if f.severity is severity)


@dataclass(frozen=True)
class ChangeInfo:
    """What is being reviewed, besides the diff: PR metadata or the local branch.

    ``title`` and ``body`` are untrusted PR text: they are data for the model, never instructions.
    """

    title: str = ""
    body: str = ""
    author: str = ""
    base_ref: str = ""
    head_ref: str = ""
    base_sha: str = ""
    head_sha: str = ""
    url: str = ""
