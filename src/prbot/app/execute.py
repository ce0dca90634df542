"""Carry out a plan on a Platform: the only place the pipeline writes to a forge.

Each action becomes at most one adapter call, and each call's :class:`WriteResult` (status, forge ids,
reason) is an audit event. A token that cannot write (a fork PR's read-only ``GITHUB_TOKEN``) stops
the writes, not the run: the caller reports through the CI's own channels instead.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from prbot.app.summary import finding_comment
from prbot.diff.model import Diff
from prbot.errors import ModelError, PlatformError
from prbot.models import ChangeInfo, Finding, ModelCall, ReviewResult, Severity
from prbot.platforms.base import (
    Annotation,
    CheckConclusion,
    CheckReport,
    InlineComment,
    Platform,
    PullRequest,
    ReviewEvent,
    WriteResult,
    comment_marker,
)

_LEVEL = {Severity.ERROR: "failure", Severity.WARNING: "warning", Severity.INFO: "notice"}
_SLUG = re.compile(r"[^a-z0-9]+")


def rule_slug(rule: str) -> str:
    """The key of a rule's own comment: readable, plus a hash so "A b" and "a-b" never share one."""
    readable = _SLUG.sub("-", rule.lower()).strip("-")[:40] or "rule"
    return f"{readable}-{hashlib.sha256(rule.encode('utf-8', 'replace')).hexdigest()[:6]}"


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
    env: Mapping[str, str] | None = None,
    channels: Mapping[str, Any] | None = None,
    diff: Diff | None = None,
    describe_client: Any = None,
    on_model_call: Callable[[ModelCall], None] | None = None,
    notify_options: Any = None,
    extra_labels: Sequence[str] = (),
) -> Execution:
    """Run the plan's actions in order: review, summary, describe, labels, then rule order.

    ``env`` holds the notification secrets (read only when a notification is sent); ``channels``
    is the config's ``notify:`` section. ``describe_client`` (an ``LLMClient``, or ``None`` for the
    builtin description) writes ``describe``; its calls go to ``on_model_call``. ``diff`` is the
    parsed diff, for the describe prompt and the builtin description.
    """
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

    if plan.review.describe is not None or "describe" in kinds:
        describe = _Describer(
            platform, pr, result, dict(plan.review.describe or {}), diff, describe_client,
            on_model_call, ex.notes,
        )  # fmt: skip
        do("describe", describe.write)

    add, remove = plan.label_changes()
    # Labels a model picked (``classify``) among the defined ones; an explicit remove still wins.
    add = tuple(sorted(set(add) | (set(extra_labels) - set(remove))))
    if add or remove:
        if platform.capabilities.labels:
            do("labels", lambda: platform.set_labels(pr, add=add, remove=remove))
        else:
            ex.notes.append(
                f"labels are not supported on {platform.name}: {', '.join(add)} not applied"
            )

    notifier = _Notifier(platform, pr, env, channels, notify_options, dry_run)
    for action in plan.actions:
        params = action.params
        if action.kind == "comment":
            marker = comment_marker(rule_slug(action.rule))
            body = _comment_body(str(params.get("body", "")))
            do("comment", lambda m=marker, b=body: platform.upsert_comment(pr, m, b))
        elif action.kind == "notify":
            res = notifier.send(action.rule, params)
            ex.writes.append(res)
            record(res)
        elif action.kind == "set-status":
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
            extra: dict[str, bool] = {}
            if params.get("when_pipeline_succeeds"):
                if platform.name == "gitlab":
                    extra["when_pipeline_succeeds"] = True
                else:
                    ex.notes.append(
                        f"merge when_pipeline_succeeds is GitLab-only; on {platform.name} the rule's "
                        "conditions (e.g. check-success) gate the merge instead"
                    )
            do(
                "merge",
                lambda m=method, d=delete, h=sha, x=extra: platform.merge(
                    pr, method=m, sha=h, delete_branch=d, **x
                ),
            )
    if notifier.sent:
        log = notifier.log_comment()
        do("notify-log", lambda: replace(platform.upsert_comment(pr, *log), action="notify-log"))
    return ex


def _comment_body(text: str) -> str:
    """A rule's comment, with no secret-looking text (defence in depth; values are whitelisted)."""
    from prbot.review.secrets import redact

    return redact(text)[0] or "(empty)"


@dataclass
class _Describer:
    """Generates the description once and writes it only when prbot's section changed."""

    platform: Platform
    pr: PullRequest
    result: ReviewResult
    settings: dict[str, object]
    diff: Diff | None
    client: Any
    on_call: Callable[[ModelCall], None] | None
    notes: list[str]

    def text(self) -> str:
        from prbot.review.describe import builtin_description

        builtin = builtin_description(
            self.diff, self.result, additions=self.pr.additions, deletions=self.pr.deletions,
            changed_files=self.pr.changed_files,
        )  # fmt: skip
        if self.client is None:
            return builtin
        from prbot.review.describe import (
            DESCRIBE_SCHEMA,
            build_describe_messages,
            parse_description,
            render_diff,
        )

        pr = self.pr
        change = ChangeInfo(title=pr.title, body=pr.body, author=pr.author, base_ref=pr.base_ref,
                            head_ref=pr.head_ref, base_sha=pr.base_sha, head_sha=pr.head_sha,
                            url=pr.url)  # fmt: skip
        instructions = self.settings.get("instructions")
        messages = build_describe_messages(
            render_diff(self.diff) if self.diff is not None else "",
            change,
            str(instructions) if instructions else None,
        )
        try:
            answer = self.client.complete(messages, json_schema=DESCRIBE_SCHEMA, purpose="describe")
        except ModelError as exc:
            call = getattr(exc, "call", None)
            if call is not None:
                self._count(call)
            self.notes.append(f"describe: the model failed, builtin summary used: {exc.one_line()}")
            return builtin
        self._count(answer.call)
        text = parse_description(answer.text)
        if not text:
            self.notes.append("describe: the model's answer was empty, builtin summary used")
            return builtin
        return text

    def _count(self, call: ModelCall) -> None:
        self.result.calls.append(call)
        self.result.usage.add(call.prompt_tokens, call.completion_tokens, call.cost_usd)
        if self.on_call is not None:
            self.on_call(call)

    def write(self) -> WriteResult:
        from prbot.review.describe import same_body, splice

        new = splice(self.pr.body, self.text())
        if same_body(new, self.pr.body):
            return WriteResult("describe", ok=True, skipped=True, detail="description up to date")
        return self.platform.update_description(self.pr, new)


class _Notifier:
    """Sends notify actions, skipping those already listed in the PR's notification log."""

    def __init__(
        self,
        platform: Platform,
        pr: PullRequest,
        env: Mapping[str, str] | None,
        channels: Mapping[str, Any] | None,
        options: Any,
        dry_run: bool,
    ) -> None:
        self.platform, self.pr, self.env = platform, pr, env
        self.channels, self.options, self.dry_run = channels, options, dry_run
        self.sent: dict[str, str] = {}
        self._previous: dict[str, str] | None = None

    def _logged(self) -> dict[str, str]:
        if self._previous is None:
            from prbot.notify.send import LOG_KEY, log_entries

            marker = comment_marker(LOG_KEY)
            self._previous = {}
            try:
                comments = self.platform.list_comments(self.pr)
            except PlatformError:
                comments = []
            for c in comments:
                if c.body.startswith(marker):
                    self._previous = log_entries(c.body)
        return self._previous

    def send(self, rule: str, params: Mapping[str, object]) -> WriteResult:
        from prbot.notify.send import log_entry, notification_key, send

        name, message = str(params.get("channel", "")), str(params.get("message", ""))
        where = f"notify channel {name!r}"
        if self.platform.name == "local":
            return WriteResult(
                "notify", ok=True, skipped=True, detail=f"local run: {where} not sent"
            )
        if self.dry_run:
            return WriteResult("notify", ok=True, skipped=True, detail="dry run: nothing sent")
        cfg = (self.channels or {}).get(name)
        if cfg is None:
            return WriteResult(
                "notify", ok=False, detail=f"{where} is not configured under notify:"
            )
        key = notification_key(rule, name, message)
        if key in self._logged() or key in self.sent:
            return WriteResult("notify", ok=True, skipped=True, ids=(key,),
                               detail=f"{where}: already sent for this pull request")  # fmt: skip
        env = self.env if self.env is not None else os.environ
        res = send(name, cfg, message, env=env, pr=self.pr, rule=rule, options=self.options)
        if res.ok:
            self.sent[key] = log_entry(key, rule, name)
        return res

    def log_comment(self) -> tuple[str, str]:
        from prbot.notify.send import LOG_KEY, log_body

        return comment_marker(LOG_KEY), log_body({**self._logged(), **self.sent})


def _review_body(result: ReviewResult, event: ReviewEvent) -> str:
    if event is ReviewEvent.APPROVE:
        return "prbot: the rules for approval hold."
    if event is ReviewEvent.REQUEST_CHANGES:
        return f"prbot: changes requested. {result.summary}"
    return f"prbot review: {result.summary}"
