"""Carry out a plan on a Platform: the only place the pipeline writes to a forge.

Each action becomes at most one adapter call, and each call's :class:`WriteResult` (status, forge ids,
reason) is an audit event. A token that cannot write (a fork PR's read-only ``GITHUB_TOKEN``) stops
the writes, not the run: the caller reports through the CI's own channels instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prbot.app.summary import finding_comment
from prbot.errors import PlatformError
from prbot.models import Finding, ReviewResult, Severity
from prbot.platforms.base import (
    Annotation,
    CheckConclusion,
    CheckReport,
    InlineComment,
    Platform,
    PullRequest,
    ReviewEvent,
    WriteResult,
)

_LEVEL = {Severity.ERROR: "failure", Severity.WARNING: "warning", Severity.INFO: "notice"}


@dataclass
class Execution:
    writes: list[WriteResult] = field(default_factory=list)
    read_only: str = ""  # why writes stopped, when the token could not write
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[WriteResult]:
        return [w for w in self.writes if not w.ok and not w.skipped]


def review_event(kinds: tuple[str, ...]) -> ReviewEvent:
    if "request-changes" in kinds:
        return ReviewEvent.REQUEST_CHANGES
    if "approve" in kinds:
        return ReviewEvent.APPROVE
    return ReviewEvent.COMMENT


def inline_comments(findings: list[Finding]) -> list[InlineComment]:
    out = []
    for f in findings:
        if f.line is None or not f.path:
            continue
        start = f.line if f.end_line and f.end_line > f.line else None
        line = f.end_line if start is not None else f.line
        out.append(
            InlineComment(f.path, int(line), finding_comment(f), f.fingerprint, start_line=start)
        )
    return out


def annotations(findings: list[Finding]) -> list[Annotation]:
    return [
        Annotation(
            f.path, f.line, f.end_line or f.line, _LEVEL[f.severity], f.message[:4000], title=f.rule
        )
        for f in findings
        if f.line is not None and f.path
    ]


def execute(
    plan,
    platform: Platform,
    pr: PullRequest,
    result: ReviewResult,
    *,
    summary_body: str,
    record: Callable[[WriteResult], None],
    dry_run: bool = False,
) -> Execution:
    """Run the plan's actions in order: review, summary, labels, statuses, reviewers, merge."""
    ex = Execution()
    kinds = plan.kinds()

    def do(action: str, call: Callable[[], WriteResult]) -> WriteResult | None:
        if ex.read_only:
            res = WriteResult(action, ok=False, skipped=True, detail=f"not written: {ex.read_only}")
        elif dry_run:
            res = WriteResult(action, ok=True, skipped=True, detail="dry run: nothing written")
        else:
            try:
                res = call()
            except PlatformError as exc:
                if getattr(exc, "status", None) == 403:
                    ex.read_only = (
                        "the token cannot write to this pull request (403; a fork PR's "
                        "GITHUB_TOKEN is read-only)"
                    )
                    res = WriteResult(action, ok=False, status=403, detail=exc.one_line())
                else:
                    raise
        ex.writes.append(res)
        record(res)
        return res

    reviewing = plan.review.review is not None
    event = review_event(kinds)
    if reviewing or event is not ReviewEvent.COMMENT:
        comments = inline_comments(result.findings) if reviewing else []
        body = _review_body(result, event)
        do("review", lambda: platform.post_review(pr, body=body, comments=comments, event=event))
    if reviewing:
        do("summary", lambda: platform.upsert_summary(pr, summary_body))

    add, remove = plan.label_changes()
    if add or remove:
        if platform.capabilities.labels:
            do("labels", lambda: platform.set_labels(pr, add=add, remove=remove))
        else:
            ex.notes.append(
                f"labels are not supported on {platform.name}: {', '.join(add)} not applied"
            )

    for action in plan.actions:
        params = action.params
        if action.kind == "set-status":
            report = CheckReport(
                head_sha=pr.head_sha,
                conclusion=CheckConclusion(str(params.get("conclusion", "neutral"))),
                title=str(params.get("description") or params.get("name") or "prbot")[:255],
                summary=summary_body,
                name=str(params.get("name", "prbot")),
                annotations=annotations(result.findings),
            )
            do("check", lambda r=report: platform.set_check(pr, r))
        elif action.kind == "request-reviewers":
            users = list(params.get("users", ()))  # type: ignore[arg-type]
            teams = list(params.get("teams", ()))  # type: ignore[arg-type]
            do(
                "request-reviewers",
                lambda u=users, t=teams: platform.request_reviewers(pr, users=u, teams=t),
            )
        elif action.kind == "merge":
            sha = plan.head_sha or pr.head_sha
            if sha != pr.head_sha:
                res = WriteResult("merge", ok=False, detail="head moved since review; not merged")
                ex.writes.append(res)
                record(res)
                continue
            method = str(params.get("method", "merge"))
            delete = bool(params.get("delete_branch", False))
            do(
                "merge",
                lambda m=method, d=delete, h=sha: platform.merge(
                    pr, method=m, sha=h, delete_branch=d
                ),
            )
        elif action.kind in ("notify", "describe"):
            ex.notes.append(
                f"{action.kind} (rule {action.rule!r}) is not available in this version; skipped"
            )
            res = WriteResult(
                action.kind, ok=True, skipped=True, detail="not available in this version"
            )
            ex.writes.append(res)
            record(res)
    return ex


def _review_body(result: ReviewResult, event: ReviewEvent) -> str:
    if event is ReviewEvent.APPROVE:
        return "prbot: the rules for approval hold."
    if event is ReviewEvent.REQUEST_CHANGES:
        return f"prbot: changes requested. {result.summary}"
    return f"prbot review: {result.summary}"
