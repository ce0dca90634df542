"""The ``prbot review`` use case: read a change, review it, record everything, decide an exit code.

The CLI calls :func:`run_review` with typed options and renders the :class:`ReviewOutcome`; nothing
here prints. Progress is reported through a callback so the CLI can draw a status line and ``--json``
can stay silent. Every step lands in the audit trail as it happens, so a run that fails half-way
still leaves a record of what it did.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Literal

from prbot import __version__
from prbot.app.model_choice import ModelChoice, choose_model, in_ci
from prbot.config.loader import LoadedConfig, default_config, load_config
from prbot.diff.model import Diff
from prbot.errors import DiffError, ExitCode, ModelError, PrbotError
from prbot.models import ChangeInfo, Finding, ReviewResult, Severity, SkippedFile

FailOn = Literal["error", "warning", "never"]
Progress = Callable[[str], None]

MAX_DIFF_BYTES = 200 * 1024 * 1024


@dataclass
class ReviewOptions:
    diff_file: str | None = None  # a path, or "-" for stdin
    base: str | None = None
    staged: bool = False
    working_tree: bool = False
    model: str | None = None
    api_base: str | None = None
    exclude: list[str] = field(default_factory=list)
    config_path: Path | None = None
    fail_on: FailOn = "never"
    cwd: Path = field(default_factory=Path.cwd)
    command: str = "review"


@dataclass
class ReviewOutcome:
    result: ReviewResult
    change: ChangeInfo
    model: str
    verdict: str
    exit_code: int
    run_id: str = ""
    audit_json: Path | None = None
    audit_db: Path | None = None
    empty: bool = False
    source: str = ""
    duration_ms: float = 0.0
    error: PrbotError | None = None

    def to_document(self) -> dict[str, object]:
        """The ``--json`` document (a stable, documented shape)."""
        res = self.result
        return {
            "run_id": self.run_id,
            "model": self.model,
            "verdict": self.verdict,
            "summary": res.summary,
            "findings": [{**f.to_dict(), "inline": True} for f in res.findings]
            + [{**f.to_dict(), "inline": False} for f in res.summary_findings],
            "counts": {s.value: res.count(s) for s in Severity},
            "skipped": [s.to_dict() for s in res.skipped],
            "warnings": list(res.warnings),
            "usage": res.usage.to_dict(),
            "model_calls": len(res.calls),
            "source": self.source,
            "base_sha": self.change.base_sha,
            "head_sha": self.change.head_sha,
            "exit_code": self.exit_code,
            "error": self.error.one_line() if self.error else None,
            "audit": {
                "json": str(self.audit_json) if self.audit_json else None,
                "db": str(self.audit_db) if self.audit_db else None,
            },
        }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _actor() -> str:
    for var in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BITBUCKET_STEP_TRIGGERER_UUID"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except Exception:
        return ""


def verdict_for(result: ReviewResult) -> str:
    if result.count(Severity.ERROR):
        return "request-changes"
    if result.all_findings:
        return "comment"
    return "approve"


def exit_code_for(result: ReviewResult, fail_on: FailOn) -> int:
    if fail_on == "never":
        return ExitCode.OK
    threshold = Severity.ERROR if fail_on == "error" else Severity.WARNING
    failing = any(f.severity.at_least(threshold) for f in result.all_findings)
    return ExitCode.GATE_FAILED if failing else ExitCode.OK


def _repo_root(start: Path) -> Path:
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / ".git").exists():
            return folder
    return start.resolve()


def run_review(
    opts: ReviewOptions, *, progress: Progress | None = None, stdin: BinaryIO | None = None
) -> ReviewOutcome:
    """Review one change end to end. Raises :class:`PrbotError` (after recording it) on failure."""
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    root = _repo_root(opts.cwd)
    config_error: PrbotError | None = None
    try:
        loaded = load_config(opts.config_path, start=opts.cwd)
    except PrbotError as exc:
        config_error, loaded = exc, default_config()
    cfg = loaded.config
    choice = choose_model(opts.model, cfg.model, api_base=opts.api_base)
    early_error: PrbotError | None = config_error
    raw, change, source = b"", ChangeInfo(), opts.diff_file or "git"
    if early_error is None:
        say("Reading the change…")
        try:
            raw, change, source = _read_change(opts, stdin)
        except PrbotError as exc:
            early_error = exc
    recorder = _start_recorder(opts, loaded, choice, root, change)
    if early_error is not None:
        _fail(recorder, early_error)

    try:
        recorder.event("info", step="read", source=source, bytes=len(raw))
        from prbot.diff.filters import filter_diff
        from prbot.diff.parse import parse_diff

        diff, parse_skipped = parse_diff(raw)
        reviewed, filter_skipped = filter_diff(
            diff,
            ignore=cfg.review.ignore,
            exclude=opts.exclude,
            use_default_excludes=cfg.review.use_default_excludes,
            max_file_lines=cfg.review.max_file_lines,
        )
        skipped = [*parse_skipped, *filter_skipped]
        for s in skipped:
            recorder.event("skipped", path=s.path, reason=s.reason)

        if diff.is_empty and not parse_skipped:
            result = ReviewResult(
                model=choice.name, summary="Nothing to review: the diff is empty."
            )
            return _finish(opts, recorder, result, change, choice.name, source, started, empty=True)

        say(f"Running builtin checks on {len(diff.files)} file(s)…")
        from prbot.review.builtin import builtin_review

        builtin = _keep_reviewable(builtin_review(diff, cfg.review.builtin), skipped)
        result = ReviewResult(model=choice.name, skipped=skipped)
        model_findings: list[Finding] = []
        model_error: ModelError | None = None
        if not choice.is_builtin:
            try:
                model_findings = _model_review(choice, cfg, reviewed, change, result, recorder, say)
            except ModelError as exc:
                # Keep the builtin findings: the run reports them and still fails with exit 3.
                model_error = exc
                recorder.event("error", error="ModelError", message=exc.one_line())
                result.warnings.append(
                    f"model review failed, builtin findings only: {exc.one_line()}"
                )
        _merge(
            result,
            builtin,
            model_findings,
            reviewed,
            cfg.review.min_severity,
            cfg.review.max_comments,
        )
        result.summary = _summary_line(result, len(diff.files), result.summary)
        return _finish(
            opts, recorder, result, change, choice.name, source, started, error=model_error
        )
    except PrbotError as exc:
        _fail(recorder, exc)
        raise  # pragma: no cover - _fail raises
    except KeyboardInterrupt:
        recorder.event("error", message="interrupted")
        recorder.finish(outcome="interrupted", exit_code=ExitCode.INTERRUPTED)
        raise


def _start_recorder(
    opts: ReviewOptions, loaded: LoadedConfig, choice: ModelChoice, root: Path, change: ChangeInfo
):
    from prbot.audit.recorder import AuditRecorder, new_run_id
    from prbot.audit.store import RunInfo

    audit = loaded.config.audit
    base = loaded.path.parent if loaded.path else root
    info = RunInfo(
        run_id=new_run_id(),
        started_at=_now(),
        command=opts.command,
        actor=_actor(),
        platform="local",
        target=opts.diff_file or change.head_ref or "",
        base_ref=change.base_ref,
        base_sha=change.base_sha,
        head_sha=change.head_sha,
        config_hash=loaded.sha256,
        model=choice.name,
        prbot_version=__version__,
    )
    return AuditRecorder(
        info,
        db_path=(base / audit.db),
        records_dir=(base / audit.dir),
        enabled=audit.enabled,
    )


def _fail(recorder, exc: PrbotError) -> None:
    recorder.event(
        "error", error=type(exc).__name__, message=exc.one_line(), exit_code=int(exc.exit_code)
    )
    # If the audit cannot be written either, the original error is the one the user needs to see.
    with contextlib.suppress(PrbotError):
        recorder.finish(
            outcome="error", exit_code=int(exc.exit_code), result={"error": exc.one_line()}
        )
    raise exc


def _read_change(opts: ReviewOptions, stdin: BinaryIO | None) -> tuple[bytes, ChangeInfo, str]:
    if opts.diff_file == "-":
        stream = stdin or sys.stdin.buffer
        if stream.isatty():
            raise DiffError(
                "--diff - reads a diff from stdin, but stdin is a terminal",
                hint="pipe a diff in, e.g. git diff | prbot review --diff -",
            )
        data = stream.read(MAX_DIFF_BYTES + 1)
        _check_size(data)
        return data, ChangeInfo(title="diff from stdin"), "stdin"
    if opts.diff_file:
        path = Path(opts.diff_file)
        try:
            with path.open("rb") as fh:
                data = fh.read(MAX_DIFF_BYTES + 1)
        except FileNotFoundError:
            raise DiffError(
                f"diff file not found: {path}", hint="check the path given to --diff"
            ) from None
        except IsADirectoryError:
            raise DiffError(f"--diff expects a file, got a directory: {path}") from None
        except OSError as exc:
            raise DiffError(f"cannot read diff file {path}: {exc.strerror}") from None
        _check_size(data)
        return data, ChangeInfo(title=path.name), str(path)
    from prbot.platforms.local import local_diff

    local = local_diff(opts.cwd, base=opts.base, staged=opts.staged, working_tree=opts.working_tree)
    return local.diff, local.change, f"git:{local.mode}"


def _check_size(data: bytes) -> None:
    if len(data) > MAX_DIFF_BYTES:
        raise DiffError(
            f"the diff is larger than {MAX_DIFF_BYTES // (1024 * 1024)} MiB",
            hint="review a smaller range, or --exclude generated files",
        )


def _keep_reviewable(findings: list[Finding], skipped: list[SkippedFile]) -> list[Finding]:
    """Drop line findings on files the user or the defaults excluded.

    File-level findings (lock-file drift) and secrets are kept even there: a key committed in a
    vendored or generated file is still a leaked key.
    """
    skipped_paths = {s.path for s in skipped}
    return [
        f
        for f in findings
        if f.path not in skipped_paths or f.line is None or f.rule.startswith("secret/")
    ]


def _model_review(
    choice: ModelChoice,
    cfg,
    reviewed: Diff,
    change: ChangeInfo,
    result: ReviewResult,
    recorder,
    say: Progress,
) -> list[Finding]:
    from prbot.llm.client import LLMClient, missing_key

    missing = None if choice.api_base else missing_key(choice.name)
    if missing:
        message = f"no API key for model {choice.name}: set {missing}"
        if choice.explicit or in_ci():
            raise ModelError(message, hint="or use --model builtin")
        result.warnings.append(f"{message}; using the builtin reviewer only")
        recorder.event("warning", message=result.warnings[-1])
        result.model = "builtin"
        return []
    if not any(f.hunks for f in reviewed.files):
        return []
    say(f"Reviewing with {choice.name}…")
    from prbot.review.llm_reviewer import llm_review

    client = LLMClient(cfg.model, choice.name, api_base=choice.api_base)
    try:
        model_result = llm_review(
            reviewed, change, client=client, review=cfg.review, on_call=recorder.model_call
        )
    except ModelError:
        raise
    for w in model_result.warnings:
        recorder.event("warning", message=w)
    result.warnings.extend(model_result.warnings)
    result.usage = model_result.usage
    result.calls = model_result.calls
    result.summary = model_result.summary
    return [*model_result.findings, *model_result.summary_findings]


def _merge(
    result: ReviewResult,
    builtin: list[Finding],
    model: list[Finding],
    diff: Diff,
    min_severity: str,
    max_comments: int,
) -> None:
    from prbot.review.anchor import anchor_findings

    floor = Severity(min_severity)
    seen: set[tuple[str, int | None, str]] = set()
    merged: list[Finding] = []
    for f in [*builtin, *model]:
        key = (f.path, f.line, f.fingerprint)
        if key in seen or not f.severity.at_least(floor):
            continue
        seen.add(key)
        merged.append(f)
    inline, summary = anchor_findings(merged, diff)
    inline.sort(key=lambda f: (-f.severity.rank, f.path, f.line or 0))
    overflow = inline[max_comments:]
    inline = sorted(inline[:max_comments], key=lambda f: (f.path, f.line or 0, f.rule))
    result.findings = inline
    result.summary_findings = sorted(
        [*summary, *overflow], key=lambda f: (f.path, f.line or 0, f.rule)
    )
    if overflow:
        result.warnings.append(
            f"{len(overflow)} finding(s) over review.max_comments={max_comments} moved to the summary"
        )


def _summary_line(result: ReviewResult, files: int, model_summary: str) -> str:
    n = len(result.all_findings)
    counts = ", ".join(
        f"{result.count(s)} {s.value}"
        for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)
        if result.count(s)
    )
    head = (
        f"{n} finding{'s' if n != 1 else ''}"
        + (f" ({counts})" if counts else "")
        + f" in {files} file{'s' if files != 1 else ''}"
    )
    if result.skipped:
        head += f"; {len(result.skipped)} skipped"
    return f"{head}. {model_summary.strip()}".strip() if model_summary.strip() else head + "."


def _finish(
    opts: ReviewOptions,
    recorder,
    result: ReviewResult,
    change: ChangeInfo,
    model: str,
    source: str,
    started: float,
    *,
    empty: bool = False,
    error: PrbotError | None = None,
) -> ReviewOutcome:
    verdict = verdict_for(result)
    code = int(error.exit_code) if error else exit_code_for(result, opts.fail_on)
    for f in result.all_findings:
        recorder.event("finding", **f.to_dict())
    recorder.event(
        "decision",
        verdict=verdict,
        fail_on=opts.fail_on,
        exit_code=int(code),
        reason=result.summary,
    )
    outcome = ReviewOutcome(
        result=result,
        change=change,
        model=result.model if result.model else model,
        verdict=verdict,
        exit_code=int(code),
        run_id=recorder.run_id,
        empty=empty,
        source=source,
        duration_ms=(time.perf_counter() - started) * 1000,
        error=error,
    )
    doc = outcome.to_document()
    outcome.audit_json = recorder.finish(
        outcome="error" if error else ("nothing-to-review" if empty else verdict),
        exit_code=int(code),
        result=doc,
    )
    outcome.audit_db = recorder.db_path
    # Problems with the audit itself (database locked, disk full) must be visible, not just logged.
    result.warnings.extend(f"audit: {p}" for p in recorder.problems)
    return outcome
