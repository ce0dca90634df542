"""``prbot run`` (and ``prbot explain``): the whole pipeline on a forge's pull request.

Detect the CI and the PR, load the rules from the PR's **base** branch (a PR cannot loosen the rules
that judge it), review the diff, evaluate the rules with prbot's own code, carry out the plan, and
record every step. Nothing here prints; the CLI renders :class:`RunOutcome`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from prbot import __version__
from prbot.app.model_choice import ModelChoice, choose_model
from prbot.app.review import FailOn, _now, exit_code_for, findings_document, verdict_for
from prbot.app.review_diff import DiffReview, review_diff
from prbot.app.summary import summary_markdown
from prbot.config.loader import (
    CONFIG_NAMES,
    LoadedConfig,
    default_config,
    load_config,
    parse_config_text,
)
from prbot.errors import ExitCode, PrbotError
from prbot.models import ChangeInfo, ReviewResult, Severity
from prbot.platforms.base import Platform, PullRequest, WriteResult

Progress = Callable[[str], None]


@dataclass
class RunOptions:
    pr_url: str | None = None
    pr_number: int | None = None
    config_path: Path | None = None
    model: str | None = None
    api_base: str | None = None
    dry_run: bool = False
    fail_on: FailOn = "never"
    cwd: Path = field(default_factory=Path.cwd)
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    command: str = "run"


@dataclass
class RunOutcome:
    exit_code: int
    verdict: str = ""
    pr: PullRequest | None = None
    result: ReviewResult | None = None
    plan: Any = None
    writes: list[WriteResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    read_only: str = ""
    run_id: str = ""
    audit_json: Path | None = None
    api_calls: int = 0
    dry_run: bool = False
    nothing_to_do: str = ""
    error: PrbotError | None = None

    def to_document(self) -> dict[str, Any]:
        res = self.result
        findings = findings_document(res) if res else []
        return {
            "run_id": self.run_id,
            "pr": None
            if self.pr is None
            else {
                "repo": self.pr.repo,
                "number": self.pr.number,
                "url": self.pr.url,
                "head_sha": self.pr.head_sha,
            },
            "verdict": self.verdict,
            "dry_run": self.dry_run,
            "summary": res.summary if res else "",
            "findings": findings,
            "skipped": [s.to_dict() for s in res.skipped] if res else [],
            "warnings": list(res.warnings) if res else [],
            "model": res.model if res else "",
            "usage": res.usage.to_dict() if res else None,
            "plan": self.plan.to_dict() if self.plan is not None else None,
            "writes": [
                {
                    "action": w.action,
                    "ok": w.ok,
                    "status": w.status,
                    "ids": list(w.ids),
                    "detail": w.detail,
                    "skipped": w.skipped,
                }
                for w in self.writes
            ],
            "notes": list(self.notes),
            "read_only": self.read_only or None,
            "api_calls": self.api_calls,
            "nothing_to_do": self.nothing_to_do or None,
            "exit_code": self.exit_code,
            "error": self.error.one_line() if self.error else None,
            "audit": {"json": str(self.audit_json) if self.audit_json else None},
        }


def run_pipeline(
    opts: RunOptions,
    *,
    progress: Progress | None = None,
    open_platform: Callable[..., Platform] | None = None,
) -> RunOutcome:
    say = progress or (lambda _m: None)
    from prbot.ci.detect import CIContext, detect, running_in_ci

    platform: Platform
    if opts.pr_url is None and opts.pr_number is None and not running_in_ci(opts.env):
        # A laptop, no PR named: the local branch is the pull request; nothing is sent anywhere.
        from prbot.platforms.terminal import TerminalPlatform

        ci = CIContext("local", None, "local", "", None, "", "", "")
        say("Reading the local branch…")
        platform = TerminalPlatform(opts.cwd)
    else:
        ci = detect(opts.env, pr_url=opts.pr_url, pr_number=opts.pr_number)
        if ci.pr is None:
            return RunOutcome(ExitCode.OK, nothing_to_do=f"event '{ci.event}' needs no work")
        if ci.event == "issue_comment" and ci.command is None:
            return RunOutcome(ExitCode.OK, nothing_to_do="the comment holds no /prbot command")
        if open_platform is None:
            from prbot.platforms.registry import open_platform as default_open

            open_platform = default_open
        say(f"Reading {ci.pr.repo}#{ci.pr.number}…")
        platform = open_platform(ci.pr, opts.env, in_ci=ci.in_ci)
    pr = platform.get_pull_request()
    if pr.state != "open":
        return RunOutcome(
            ExitCode.OK,
            pr=pr,
            nothing_to_do=f"pull request is {pr.state}",
            api_calls=platform.api_calls,
        )

    loaded, notes = _load_config(platform, pr, opts, in_ci=ci.in_ci)
    cfg = loaded.config
    from prbot.rules.pipeline import compile_config

    pipeline = compile_config(cfg)
    dry_run = opts.dry_run or opts.command == "explain"
    if ci.command is not None:
        allowed, why = _command_allowed(ci.command, cfg, platform)
        if not allowed:
            return RunOutcome(ExitCode.OK, pr=pr, nothing_to_do=why, api_calls=platform.api_calls)
        if ci.command.name == "explain":
            dry_run = True
        elif ci.command.name not in ("review", "describe"):
            return RunOutcome(
                ExitCode.OK, pr=pr, nothing_to_do=f"/prbot {ci.command.name}: nothing to run"
            )

    choice = choose_model(
        opts.model or opts.env.get("PRBOT_MODEL") or None, cfg.model, api_base=opts.api_base
    )
    recorder = _start_recorder(opts, loaded, choice, pr, ci.provider, dry_run)
    outcome = RunOutcome(ExitCode.OK, pr=pr, run_id=recorder.run_id, dry_run=dry_run, notes=notes)
    try:
        for n in notes:
            recorder.event("info", message=n)
        recorder.event(
            "decision",
            step="config",
            source=str(loaded.path or "default"),
            sha256=loaded.sha256,
            default_rules=pipeline.default,
        )
        say("Reading the diff…")
        raw = platform.get_diff(pr)
        change = ChangeInfo(
            title=pr.title,
            body=pr.body,
            author=pr.author,
            base_ref=pr.base_ref,
            head_ref=pr.head_ref,
            base_sha=pr.base_sha,
            head_sha=pr.head_sha,
            url=pr.url,
        )
        facts = _forge_facts(pr, platform, pipeline)
        ctx0 = _context(pr, facts, None, files=())
        from prbot.rules.plan import plan as make_plan
        from prbot.rules.plan import review_phase

        phase = review_phase(pipeline, ctx0)
        review_cfg = _with_review_settings(cfg, phase.review)
        if phase.review is not None and phase.review.get("model"):
            choice = ModelChoice(str(phase.review["model"]), "config", choice.api_base)
        run: DiffReview = review_diff(raw, change, review_cfg, choice, recorder=recorder, say=say)
        result = run.result
        files = tuple(f.path for f in run.diff.files)
        if any(
            f in (CONFIG_NAMES + ((str(opts.config_path),) if opts.config_path else ()))
            for f in files
        ):
            note = "this pull request changes the prbot config; the base branch's version was used to judge it"
            outcome.notes.append(note)
            recorder.event("info", message=note)

        codeowners = None
        if _uses(pipeline, ("codeowners-approved",)):
            codeowners = _codeowners_approved(platform, pr, files, set(facts.approved))
        ctx = _context(pr, facts, result, files=files, codeowners=codeowners)
        plan = make_plan(pipeline, ctx)
        outcome.plan = plan
        recorder.event(
            "decision",
            step="plan",
            matched=list(plan.matched),
            actions=[a.to_dict() for a in plan.actions],
            refused=[r.to_dict() for r in plan.refusals],
        )
        verdict = _verdict(plan, result)
        outcome.verdict = verdict
        outcome.result = result
        decisions = [f"{r.name}: {'matched' if r.matched else 'not matched'}" for r in plan.rules]
        decisions += [f"refused {x.kind} ({x.rule}): {x.reason}" for x in plan.refusals]
        body = summary_markdown(
            result,
            verdict=verdict,
            run_id=recorder.run_id,
            decisions=decisions,
            notes=list(outcome.notes),
        )

        from prbot.app.execute import execute

        def record(w: WriteResult) -> None:
            recorder.event(
                "action",
                action=w.action,
                ok=w.ok,
                status=w.status,
                ids=list(w.ids),
                detail=w.detail,
                skipped=w.skipped,
                dry_run=dry_run,
            )

        say("Writing results…" if not dry_run else "Dry run: nothing is written…")
        extra_labels = _classify(
            plan, pipeline, choice, cfg, change, files, recorder, outcome.notes
        )
        describe_client = None
        if plan.review.describe is not None and not choice.is_builtin and result.model != "builtin":
            from prbot.llm.client import LLMClient

            describe_client = LLMClient(cfg.model, choice.name, api_base=choice.api_base)
        ex = execute(
            plan,
            platform,
            pr,
            result,
            summary_body=body,
            record=record,
            dry_run=dry_run,
            env=opts.env,
            channels=cfg.notify,
            diff=run.diff,
            describe_client=describe_client,
            on_model_call=recorder.model_call,
            extra_labels=extra_labels,
        )
        outcome.writes, outcome.read_only = ex.writes, ex.read_only
        outcome.notes.extend(ex.notes)
        if ex.read_only:
            recorder.event("warning", message=ex.read_only)
        code = exit_code_for(result, opts.fail_on)
        if run.model_error is not None:
            outcome.error, code = run.model_error, int(run.model_error.exit_code)
        outcome.exit_code = int(code)
        outcome.api_calls = platform.api_calls
        recorder.event(
            "decision",
            step="verdict",
            verdict=verdict,
            exit_code=outcome.exit_code,
            api_calls=outcome.api_calls,
        )
        recorder.events("finding", [f.to_dict() for f in result.all_findings])
        outcome.audit_json = recorder.finish(
            outcome="error" if outcome.error else verdict,
            exit_code=outcome.exit_code,
            result=outcome.to_document(),
        )
        return outcome
    except PrbotError as exc:
        recorder.event("error", error=type(exc).__name__, message=exc.one_line())
        outcome.api_calls = platform.api_calls
        outcome.exit_code, outcome.error = int(exc.exit_code), exc
        with contextlib.suppress(PrbotError):
            outcome.audit_json = recorder.finish(
                outcome="error", exit_code=outcome.exit_code, result=outcome.to_document()
            )
        raise


def _classify(
    plan, pipeline, choice, cfg, change: ChangeInfo, files, recorder, notes: list[str]
) -> list[str]:
    """Labels the model picks for ``label: {classify: true}``, only among the defined labels."""
    allowed = sorted(
        {
            str(n)
            for a in plan.actions
            if a.kind == "label"
            for n in a.params.get("classify_among", ())
        }
    )
    if not allowed:
        return []
    if choice.is_builtin:
        notes.append(
            "label classify needs a model (model.name / PRBOT_MODEL); skipped with the builtin reviewer"
        )
        return []
    from prbot.errors import ModelError
    from prbot.llm.client import LLMClient
    from prbot.review.classify import CLASSIFY_SCHEMA, build_classify_messages, parse_labels

    described = {
        n: (pipeline.labels[n].description if n in pipeline.labels else None) for n in allowed
    }
    client = LLMClient(cfg.model, choice.name, api_base=choice.api_base)
    try:
        answer = client.complete(
            build_classify_messages(change, list(files), described),
            json_schema=CLASSIFY_SCHEMA,
            purpose="classify",
        )
    except ModelError as exc:
        notes.append(f"label classify failed: {exc.one_line()}")
        return []
    recorder.model_call(answer.call)
    picked = parse_labels(answer.text, allowed)
    recorder.event("decision", step="classify", labels=picked, allowed=allowed)
    return picked


def _load_config(
    platform: Platform, pr: PullRequest, opts: RunOptions, *, in_ci: bool
) -> tuple[LoadedConfig, list[str]]:
    """In CI: the config at the PR's base SHA, through the API. Locally: the working tree's file."""
    if not in_ci:
        return load_config(opts.config_path, start=opts.cwd), []
    names = (str(opts.config_path),) if opts.config_path else CONFIG_NAMES
    for name in names:
        data = platform.read_file(name, pr.base_sha or pr.base_ref)
        if data is not None:
            loaded = parse_config_text(data, source=f"{name}@{(pr.base_sha or pr.base_ref)[:12]}")
            return loaded, []
    return default_config(), [
        f"no {names[0]} on the base branch: the default pipeline ran (review, summary, check)"
    ]


def _command_allowed(cmd, cfg, platform: Platform) -> tuple[bool, str]:
    """Slash commands only from the associations, users or teams ``permissions.commands`` allows."""
    from prbot.ci.commands import is_allowed

    perms = cfg.permissions.commands
    if is_allowed(cmd, tuple(perms.associations), tuple(perms.users)):
        return True, ""
    if cmd.author and any(platform.is_team_member(t.lstrip("@"), cmd.author) for t in perms.teams):
        return True, ""
    return (
        False,
        f"/prbot {cmd.name} from {cmd.author} ({cmd.association}) is not allowed by permissions.commands",
    )


def _with_review_settings(cfg, review: Mapping[str, Any] | None):
    if not review:
        return cfg
    updates = {
        k: review[k]
        for k in ("min_severity", "max_comments", "instructions")
        if review.get(k) is not None
    }
    return cfg.model_copy(update={"review": cfg.review.model_copy(update=updates)})


def _verdict(plan, result: ReviewResult) -> str:
    kinds = plan.kinds()
    if "request-changes" in kinds:
        return "request-changes"
    if "approve" in kinds:
        return "approve"
    return verdict_for(result)


@dataclass(frozen=True)
class ForgeFacts:
    """What the rules ask the forge about a PR, fetched once per run (not once per evaluation)."""

    approved: frozenset[str] = frozenset()
    changes_requested: frozenset[str] = frozenset()
    checks: Any = None
    teams: Mapping[str, frozenset[str]] = field(default_factory=dict)


def _forge_facts(pr: PullRequest, platform: Platform, pipeline) -> ForgeFacts:
    """Only the calls some rule needs: fewer API calls per run."""
    approved: set[str] = set()
    changes: set[str] = set()
    if _uses(
        pipeline, ("approved-reviews-by", "changes-requested-reviews-by", "codeowners-approved")
    ):
        latest: dict[str, str] = {}
        for r in platform.list_reviews(pr):
            if r.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                latest[r.author.lower()] = r.state
        approved = {a for a, s in latest.items() if s == "APPROVED"}
        changes = {a for a, s in latest.items() if s == "CHANGES_REQUESTED"}
    checks = None
    if _uses(pipeline, ("check-success", "check-failure", "check-pending")):
        checks = platform.checks_state(pr)
    teams = {
        team: frozenset({pr.author.lower()})
        if pr.author and platform.is_team_member(team, pr.author)
        else frozenset()
        for team in _team_refs(pipeline)
    }
    return ForgeFacts(frozenset(approved), frozenset(changes), checks, teams)


def _context(
    pr: PullRequest,
    facts: ForgeFacts,
    result: ReviewResult | None,
    *,
    files: tuple[str, ...],
    codeowners: bool | None = None,
):
    from prbot.rules.context import PRContext

    checks = facts.checks
    counts = {s.value: (result.count(s) if result else 0) for s in Severity}
    return PRContext(
        now=datetime.now(timezone.utc),
        author=pr.author,
        author_association=pr.author_association,
        draft=pr.draft,
        fork=pr.fork,
        base=pr.base_ref,
        head=pr.head_ref,
        title=pr.title,
        body=pr.body,
        labels=frozenset(pr.labels),
        files=files,
        additions=pr.additions,
        deletions=pr.deletions,
        approved_reviews_by=facts.approved,
        changes_requested_reviews_by=facts.changes_requested,
        check_success=checks.success if checks else frozenset(),
        check_failure=checks.failure if checks else frozenset(),
        check_pending=checks.pending if checks else frozenset(),
        mergeable=pr.mergeable,
        created_at=pr.created_at,
        updated_at=pr.updated_at,
        teams=facts.teams,
        codeowners_approved=codeowners,
        findings_by_severity=counts,
        finding_rules=frozenset(f.rule for f in result.all_findings) if result else frozenset(),
        review_verdict=verdict_for(result) if result else "",
        number=pr.number,
        url=pr.url,
        head_sha=pr.head_sha,
    )


def _codeowners_approved(platform, pr, files: tuple[str, ...], approved: set[str]) -> bool | None:
    """Read CODEOWNERS at the base commit, never the PR head: a PR must not name its own owners.

    Unknown (``None``, so ``codeowners-approved`` is false) when there is no file, no base, or the
    forge cannot answer: an approval rule must not pass on a question nobody could answer.
    """
    from prbot.errors import PlatformError
    from prbot.rules.codeowners import (
        CODEOWNERS_PATHS,
        GITLAB_CODEOWNERS_PATHS,
        MAX_CODEOWNERS_CHARS,
        codeowners_approved,
        parse_codeowners,
    )

    ref = pr.base_sha or pr.base_ref
    if not ref or not files:
        return None
    paths = GITLAB_CODEOWNERS_PATHS if pr.forge == "gitlab" else CODEOWNERS_PATHS
    try:
        raw = next((b for p in paths if (b := platform.read_file(p, ref)) is not None), None)
        if raw is None:
            return None
        text = raw[:MAX_CODEOWNERS_CHARS].decode("utf-8", errors="replace")
        return codeowners_approved(
            parse_codeowners(text), files, approved, is_member=platform.is_team_member
        )
    except PlatformError:
        return None


def _leaves(pipeline):
    from prbot.rules.conditions import leaves

    for rule in pipeline.rules:
        yield from leaves(rule.condition)


def _uses(pipeline, attrs: tuple[str, ...]) -> bool:
    """Fetch reviews/checks only when a rule asks about them: fewer API calls per run."""
    return any(leaf.attr in attrs for leaf in _leaves(pipeline))


def _team_refs(pipeline) -> set[str]:
    from prbot.rules.conditions import TeamRef

    return {
        leaf.value.name
        for leaf in _leaves(pipeline)
        if leaf.attr == "author" and isinstance(leaf.value, TeamRef)
    }


def _start_recorder(
    opts: RunOptions,
    loaded: LoadedConfig,
    choice: ModelChoice,
    pr: PullRequest,
    provider: str,
    dry_run: bool,
):
    from prbot.app.review import _actor
    from prbot.audit.recorder import AuditRecorder, new_run_id
    from prbot.audit.store import RunInfo

    audit = loaded.config.audit
    base = opts.cwd
    info = RunInfo(
        run_id=new_run_id(),
        started_at=_now(),
        command=opts.command,
        actor=_actor(),
        platform=pr.forge,
        target=pr.url or f"{pr.repo}#{pr.number}",
        base_ref=pr.base_ref,
        base_sha=pr.base_sha,
        head_sha=pr.head_sha,
        config_hash=loaded.sha256,
        model=choice.name,
        dry_run=dry_run,
        prbot_version=__version__,
    )
    return AuditRecorder(
        info, db_path=base / audit.db, records_dir=base / audit.dir, enabled=audit.enabled
    )


def report_to_ci(outcome: RunOutcome, env: Mapping[str, str]) -> list[str]:
    """GitHub Actions side channels: step summary, outputs, and annotations when writes failed.

    Returns workflow-command lines for the caller to print (annotations work even on fork PRs,
    where the token cannot write).
    """
    if env.get("GITHUB_ACTIONS", "").lower() != "true":
        return []
    from prbot.ci.actions_output import workflow_annotation, write_outputs, write_step_summary

    res = outcome.result
    lines: list[str] = []
    if res is not None:
        md = summary_markdown(
            res,
            verdict=outcome.verdict,
            run_id=outcome.run_id,
            notes=outcome.notes,
            marker=False,
            inline_posted=not outcome.read_only,
        )
        if outcome.read_only:
            md += f"\n\n> prbot could not write to the pull request: {outcome.read_only}. Findings are shown here and as annotations.\n"
        write_step_summary(md, env)
        if outcome.read_only or outcome.dry_run:
            level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
            for f in res.findings:
                lines.append(
                    workflow_annotation(
                        level[f.severity],
                        f.message,
                        file=f.path,
                        line=f.line,
                        end_line=f.end_line,
                        title=f.rule,
                    )
                )
    write_outputs(
        {
            "verdict": outcome.verdict,
            "findings": str(len(res.all_findings) if res else 0),
            "audit-path": str(outcome.audit_json or ""),
        },
        env,
    )
    return lines
