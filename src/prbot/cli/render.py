"""Terminal rendering of a review with rich: findings grouped by file, severity colours, summary.

Only this package draws; the app layer returns data. ``NO_COLOR``/``--no-color`` and non-terminals
get plain text, so CI logs stay readable.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from prbot.app.review import ReviewOutcome
from prbot.models import Finding, Severity

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def make_console(*, stderr: bool = False, no_color: bool = False) -> Console:
    console = Console(stderr=stderr, no_color=no_color or None, highlight=False)
    if not console.is_terminal:
        # CI logs and pipes: never hard-wrap a finding across lines.
        console.soft_wrap = True
    return console


def _finding_lines(console: Console, f: Finding) -> None:
    where = f"{f.line:>5}" if f.line is not None else "    -"
    head = Text(f"  {where}  ")
    head.append(f"{f.severity.value:<7}", style=_STYLE[f.severity])
    head.append(f" {f.message}")
    head.append(f"  [{f.rule}]", style="dim")
    if f.source != "builtin":
        head.append(f" ({f.source})", style="dim")
    console.print(head)
    if f.anchor:
        console.print(Text(f"         │ {f.anchor[:160]}", style="dim"))
    if f.suggestion:
        console.print(Text(f"         ↳ {f.suggestion}", style="green"))


def render_review(console: Console, outcome: ReviewOutcome, *, verbose: bool = False) -> None:
    res = outcome.result
    if outcome.empty:
        console.print("Nothing to review: the diff is empty.")
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for f in res.findings:
        by_file[f.path].append(f)
    for path in sorted(by_file):
        console.print(Text(path, style="bold underline"))
        for f in by_file[path]:
            _finding_lines(console, f)
        console.print()
    if res.summary_findings:
        console.print(Text("Not on a diff line (summary only)", style="bold underline"))
        for f in res.summary_findings:
            label = f"{f.path}: " if f.path else ""
            head = Text("  ")
            head.append(f"{f.severity.value:<7}", style=_STYLE[f.severity])
            head.append(f" {label}{f.message}")
            head.append(f"  [{f.rule}]", style="dim")
            console.print(head)
            if f.suggestion:
                console.print(Text(f"          ↳ {f.suggestion}", style="green"))
        console.print()
    if res.skipped:
        console.print(Text(f"Skipped {len(res.skipped)} file(s)", style="bold"))
        for s in res.skipped:
            console.print(f"  {escape(s.path)} — {escape(s.reason)}", style="dim")
        console.print()
    for w in res.warnings:
        console.print(Text(f"warning: {w}", style="yellow"))
    colour = "red" if res.count(Severity.ERROR) else ("yellow" if res.all_findings else "green")
    console.print(Text(res.summary or "No findings.", style=f"bold {colour}"))
    usage = res.usage
    details = [f"model {outcome.model}", f"verdict {outcome.verdict}", f"run {outcome.run_id}"]
    if res.calls:
        cost = "unknown cost" if usage.cost_usd is None else f"${usage.cost_usd:.4f}"
        details.append(
            f"{len(res.calls)} model call(s), {usage.prompt_tokens}+{usage.completion_tokens} tokens, {cost}"
        )
    if outcome.audit_json:
        details.append(f"audit {_short(outcome.audit_json)}")
    console.print(Text(" · ".join(details), style="dim"))


def _short(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
