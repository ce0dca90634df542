"""Comment and notification templates: ``{{ pr.title }}`` substitution and nothing else.

Rule authors want a little dynamic text ("thanks {{ author }}, {{ findings.error }} errors"), but
the values come from the PR, which anyone who can open one controls. So this is deliberately not
a template *language*: a placeholder is a name from a fixed whitelist (:data:`TEMPLATE_FIELDS`),
with no expressions, filters, attribute access, loops or statements, and every inserted value is
escaped so PR text cannot ping people (``@`` → ``@`` + zero-width space), forge hidden markers
or Slack control sequences (``<`` ``>`` ``&``), or break out of its line (newlines → spaces).
Substitution is a single pass, so a PR title that itself contains ``{{ … }}`` stays literal text.

Every problem (an unknown name, ``{{ pr.title.__init__ }}``, ``{% for %}``, an unclosed
``{{``) is a :class:`TemplateError` at load time, never a surprise at comment time.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from prbot.rules.context import PRContext

#: Every name a template may use, with what it is (the docs list them from here).
TEMPLATE_FIELDS: dict[str, str] = {
    "author": "Login of the PR author (same as pr.author).",
    "pr.number": "PR / MR number.",
    "pr.title": "PR title (escaped, one line).",
    "pr.author": "Login of the PR author.",
    "pr.url": "Web address of the PR.",
    "pr.base": "Target branch.",
    "pr.head": "Source branch.",
    "pr.head_sha": "The reviewed head commit (12 characters).",
    "pr.additions": "Lines added.",
    "pr.deletions": "Lines deleted.",
    "pr.files": "Number of changed files.",
    "pr.labels": "Labels, comma-separated.",
    "findings.total": "Number of review findings.",
    "findings.error": "Number of error findings.",
    "findings.warning": "Number of warning findings.",
    "findings.info": "Number of info findings.",
    "review.verdict": "prbot's review verdict (approve, comment, request-changes).",
    "rule.name": "Name of the rule the action belongs to.",
}

MAX_VALUE_CHARS = 300
_OPEN, _CLOSE = "{{", "}}"
_NAME = re.compile(r"[a-z]+(?:\.[a-z_]+)?")
_ESCAPES = {"@": "@\u200b", "<": "&lt;", ">": "&gt;", "&": "&amp;"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


class TemplateError(ValueError):
    """A template that is refused; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, *, hint: str = "", position: int | None = None) -> None:
        super().__init__(f"{message} (hint: {hint})" if hint else message)
        self.message = message
        self.hint = hint
        self.position = position


@dataclass(frozen=True)
class Template:
    """A checked template: literal text and whitelisted names, alternating."""

    source: str
    parts: tuple[str, ...]  # even indexes: literal text; odd indexes: field names

    @property
    def names(self) -> tuple[str, ...]:
        return self.parts[1::2]

    def render(self, values: Mapping[str, str]) -> str:
        """Fill in escaped values; a name missing from ``values`` renders as nothing."""
        out = []
        for i, part in enumerate(self.parts):
            out.append(escape(values.get(part, "")) if i % 2 else part)
        return "".join(out)


def compile_template(text: str) -> Template:
    """Check ``text`` and split it into literal text and placeholders."""
    for bad in ("{%", "%}"):
        at = text.find(bad)
        if at >= 0:
            raise TemplateError(
                "templates have no statements or loops ({% … %})",
                hint="use only {{ name }} placeholders; see the list in docs/rules.md",
                position=at,
            )
    parts: list[str] = []
    pos = 0
    while True:
        start = text.find(_OPEN, pos)
        if start < 0:
            parts.append(text[pos:])
            break
        end = text.find(_CLOSE, start + 2)
        if end < 0:
            raise TemplateError(
                "unclosed {{",
                hint="end the placeholder with }}, e.g. {{ pr.title }}",
                position=start,
            )
        parts.append(text[pos:start])
        parts.append(_check_name(text[start + 2 : end], start))
        pos = end + 2
    return Template(text, tuple(parts))


def _check_name(inner: str, position: int) -> str:
    name = inner.strip()
    if name in TEMPLATE_FIELDS:
        return name
    shown = name if len(name) <= 40 else name[:37] + "..."
    if not _NAME.fullmatch(name):
        raise TemplateError(
            f"{{{{ {shown} }}}} is not a plain name: templates have no expressions, filters, "
            "calls, indexing or attribute access",
            hint="write one name from the list, e.g. {{ pr.title }}",
            position=position,
        )
    close = difflib.get_close_matches(name, list(TEMPLATE_FIELDS), n=1, cutoff=0.6)
    hint = f"did you mean {{{{ {close[0]} }}}}?" if close else ""
    hint = hint or "names: " + ", ".join(TEMPLATE_FIELDS)
    raise TemplateError(f"unknown template name {shown!r}", hint=hint, position=position)


def escape(value: str) -> str:
    """Make untrusted text inert in Markdown and Slack: no mentions, markers or line breaks."""
    value = _CONTROL.sub(" ", value)
    if len(value) > MAX_VALUE_CHARS:
        value = value[: MAX_VALUE_CHARS - 1] + "…"
    return "".join(_ESCAPES.get(ch, ch) for ch in value)


def template_values(ctx: PRContext, rule: str = "") -> dict[str, str]:
    """The whitelisted values for one PR, unescaped (``Template.render`` escapes them)."""
    counts = ctx.findings_by_severity
    return {
        "author": ctx.author,
        "pr.number": "" if ctx.number is None else str(ctx.number),
        "pr.title": ctx.title,
        "pr.author": ctx.author,
        "pr.url": ctx.url,
        "pr.base": ctx.base,
        "pr.head": ctx.head,
        "pr.head_sha": ctx.head_sha[:12],
        "pr.additions": str(ctx.additions),
        "pr.deletions": str(ctx.deletions),
        "pr.files": str(len(ctx.files)),
        "pr.labels": ", ".join(sorted(ctx.labels)),
        "findings.total": str(sum(counts.values())),
        "findings.error": str(counts.get("error", 0)),
        "findings.warning": str(counts.get("warning", 0)),
        "findings.info": str(counts.get("info", 0)),
        "review.verdict": ctx.review_verdict,
        "rule.name": rule,
    }
