"""Terminal rendering of ``prbot run`` / ``prbot explain``: rules, conditions, actions, writes."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from prbot.app.run import RunOutcome


def _explanation_tree(node, tree: Tree) -> None:
    mark = "[green]✓[/green]" if node.result else "[red]✗[/red]"
    actual = (
        "" if node.actual is None or node.children else f"  [dim](actual: {node.actual!r})[/dim]"
    )
    branch = tree.add(f"{mark} {node.source}{actual}")
    for child in node.children:
        _explanation_tree(child, branch)


def render_run(console: Console, outcome: RunOutcome, *, explain: bool = False) -> None:
    if outcome.nothing_to_do:
        console.print(f"Nothing to do: {outcome.nothing_to_do}.")
        return
    pr = outcome.pr
    if pr is not None:
        console.print(Text(f"{pr.repo}#{pr.number}: {pr.title}", style="bold"))
    plan = outcome.plan
    if plan is not None:
        for rule in plan.rules:
            mark = "[green]matched[/green]" if rule.matched else "[dim]not matched[/dim]"
            tree = Tree(f"[bold]{rule.name}[/bold] — {mark}; do: {', '.join(rule.configured)}")
            ex = rule.explanation
            if not ex.children and ex.source in ("", "and"):
                tree.add("[dim](no conditions: always)[/dim]")
            for child in ex.children or (() if ex.source in ("", "and") else (ex,)):
                _explanation_tree(child, tree)
            for action in rule.actions:
                tree.add(f"[cyan]→ {action.kind}[/cyan]")
            for refusal in rule.refusals:
                tree.add(f"[yellow]refused {refusal.kind}: {refusal.reason}[/yellow]")
            console.print(tree)
    if outcome.writes:
        table = Table(
            title="dry run: would write" if outcome.dry_run else "writes",
            show_edge=False,
            header_style="bold",
        )
        for col in ("action", "result", "status", "detail"):
            table.add_column(col)
        for w in outcome.writes:
            state = "skipped" if w.skipped else ("ok" if w.ok else "failed")
            table.add_row(
                w.action, state, "" if w.status is None else str(w.status), w.detail[:100]
            )
        console.print(table)
    for note in outcome.notes:
        console.print(Text(f"note: {note}", style="yellow"))
    if outcome.read_only:
        console.print(Text(f"warning: {outcome.read_only}", style="yellow"))
    res = outcome.result
    if res is not None:
        console.print(Text(res.summary, style="bold"))
    console.print(
        Text(
            f"verdict {outcome.verdict} · {outcome.api_calls} API calls · run {outcome.run_id}"
            + (" · dry run" if outcome.dry_run else ""),
            style="dim",
        )
    )
