"""Markdown for the summary comment, the check run and the CI step summary.

One renderer for every forge, so a finding reads the same on GitHub, GitLab and Bitbucket. Bodies are
kept under the forges' comment limit (GitHub: 65,536 characters) with a note when cut.
"""

from __future__ import annotations

from collections.abc import Sequence

from prbot.models import Finding, ReviewResult, Severity
from prbot.platforms.base import SUMMARY_MARKER, finding_marker

MAX_BODY = 60_000
_ICON = {Severity.ERROR: "🔴", Severity.WARNING: "🟡", Severity.INFO: "🔵"}


def _no_mentions(text: str) -> str:
    return text.replace("@", "@\u200b")


def _escape(text: str) -> str:
    """Stop PR-controlled text from pinging people or breaking out of a table cell."""
    return text.replace("@", "@\u200b").replace("|", "\\|").replace("\n", " ")


def finding_comment(f: Finding) -> str:
    """The body of one inline comment, ending with its hidden fingerprint marker."""
    parts = [
        f"{_ICON[f.severity]} **{f.severity.value}** · `{f.rule}`",
        "",
        _no_mentions(f.message),
    ]
    if f.suggestion:
        parts += ["", f"**Suggestion:** {_no_mentions(f.suggestion)}"]
    if f.source != "builtin":
        parts += ["", f"<sub>found by {f.source}</sub>"]
    parts += ["", finding_marker(f.fingerprint)]
    return "\n".join(parts)


def summary_markdown(
    result: ReviewResult,
    *,
    verdict: str,
    run_id: str,
    decisions: Sequence[str] = (),
    notes: Sequence[str] = (),
    inline_posted: bool = True,
    audit_head: str = "",
    marker: bool = True,
) -> str:
    """The one summary comment (updated in place on every run) and the step summary."""
    counts = {s: result.count(s) for s in Severity}
    lines = [SUMMARY_MARKER] if marker else []
    title = {
        "request-changes": "Changes requested",
        "comment": "Comments",
        "approve": "Looks good",
    }.get(verdict, verdict)
    lines += [
        f"## prbot: {title}",
        "",
        _escape(result.summary) if result.summary else "No findings.",
        "",
    ]
    lines += [
        "| errors | warnings | info | model | files skipped |",
        "|---|---|---|---|---|",
        f"| {counts[Severity.ERROR]} | {counts[Severity.WARNING]} | {counts[Severity.INFO]} | `{result.model}` | {len(result.skipped)} |",
        "",
    ]
    listed = list(result.summary_findings) + ([] if inline_posted else list(result.findings))
    if listed:
        lines += ["### Findings not on a diff line" if inline_posted else "### Findings", ""]
        for f in listed:
            where = (
                f"`{f.path}:{f.line}`"
                if f.path and f.line
                else (f"`{f.path}`" if f.path else "change")
            )
            lines.append(f"- {_ICON[f.severity]} {where} — {_escape(f.message)} (`{f.rule}`)")
        lines.append("")
    if decisions:
        lines += ["### Rules", ""] + [f"- {_escape(d)}" for d in decisions] + [""]
    if result.skipped:
        lines += ["<details><summary>Skipped files</summary>", ""]
        lines += [f"- `{s.path}` — {_escape(s.reason)}" for s in result.skipped]
        lines += ["", "</details>", ""]
    for note in [*notes, *result.warnings]:
        lines.append(f"> {_escape(note)}")
    usage = result.usage
    footer = f"<sub>run `{run_id}`"
    if result.calls:
        cost = "unknown cost" if usage.cost_usd is None else f"${usage.cost_usd:.4f}"
        footer += f" · {usage.prompt_tokens}+{usage.completion_tokens} tokens · {cost}"
    footer += "</sub>"
    lines += ["", footer]
    if audit_head:
        lines.append(f"<!-- prbot:audit-head:{audit_head} -->")
    body = "\n".join(lines)
    if len(body) > MAX_BODY:
        body = (
            body[: MAX_BODY - 200]
            + "\n\n> Summary truncated: see the audit record for the full list.\n"
        )
    return body
