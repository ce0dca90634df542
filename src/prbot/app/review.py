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
from prbot.app.model_choice import ModelChoice, choose_model
from prbot.app.review_diff import review_diff
from prbot.config.loader import LoadedConfig, default_config, load_config
from prbot.errors import DiffError, ExitCode, PrbotError
from prbot.models import ChangeInfo, ReviewResult, Severity

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
            "findings": findings_document(res),
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


def findings_document(result: ReviewResult) -> list[dict[str, object]]:
    """Findings as printed by ``--json``: inline ones first, then summary-only ones."""
    return [{**f.to_dict(), "inline": True} for f in result.findings] + [
        {**f.to_dict(), "inline": False} for f in result.summary_findings
    ]


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
        run = review_diff(
            raw, change, cfg, choice, exclude=opts.exclude, recorder=recorder, say=say
        )
        return _finish(
            opts,
            recorder,
            run.result,
            change,
            choice.name,
            source,
            started,
            empty=run.empty,
            error=run.model_error,
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
        data = _read_bounded(stream)
        _check_size(data)
        return data, ChangeInfo(title="diff from stdin"), "stdin"
    if opts.diff_file:
        path = Path(opts.diff_file)
        try:
            with path.open("rb") as fh:
                data = _read_bounded(fh)
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


def _read_bounded(stream: BinaryIO) -> bytes:
    """Read at most MAX_DIFF_BYTES + 1 bytes in pieces (a single huge read reserves the whole buffer)."""
    parts: list[bytes] = []
    total = 0
    while total <= MAX_DIFF_BYTES:
        piece = stream.read(min(1 << 20, MAX_DIFF_BYTES + 1 - total))
        if not piece:
            break
        parts.append(piece)
        total += len(piece)
    return b"".join(parts)


def _check_size(data: bytes) -> None:
    if len(data) > MAX_DIFF_BYTES:
        raise DiffError(
            f"the diff is larger than {MAX_DIFF_BYTES // (1024 * 1024)} MiB",
            hint="review a smaller range, or --exclude generated files",
        )


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
    recorder.events("finding", [f.to_dict() for f in result.all_findings])
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
