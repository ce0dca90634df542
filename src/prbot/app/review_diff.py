"""Review one diff: parse, filter, builtin checks, model review, merge and anchor the findings.

Shared by ``prbot review`` (local branch or diff file) and ``prbot run`` (a forge's pull request), so
both give the same findings for the same change. Every step is recorded on the run's audit recorder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prbot.app.model_choice import ModelChoice, in_ci
from prbot.config.schema import PrbotConfig
from prbot.diff.model import Diff
from prbot.errors import ModelError
from prbot.models import ChangeInfo, Finding, ReviewResult, Severity, SkippedFile

Progress = Callable[[str], None]


@dataclass
class DiffReview:
    """A review plus what the caller needs to act on it (the parsed diff for anchoring comments)."""

    result: ReviewResult
    diff: Diff = field(default_factory=Diff)
    reviewed: Diff = field(default_factory=Diff)
    empty: bool = False
    model_error: ModelError | None = None


def review_diff(
    raw: bytes,
    change: ChangeInfo,
    cfg: PrbotConfig,
    choice: ModelChoice,
    *,
    exclude: list[str] | tuple[str, ...] = (),
    recorder,
    say: Progress = lambda _msg: None,
) -> DiffReview:
    """Review ``raw`` (a unified diff). A model failure is returned, not raised: builtin findings stand."""
    from prbot.diff.filters import filter_diff
    from prbot.diff.parse import parse_diff

    diff, parse_skipped = parse_diff(raw)
    reviewed, filter_skipped = filter_diff(
        diff,
        ignore=cfg.review.ignore,
        exclude=list(exclude),
        use_default_excludes=cfg.review.use_default_excludes,
        max_file_lines=cfg.review.max_file_lines,
    )
    skipped = [*parse_skipped, *filter_skipped]
    for s in skipped:
        recorder.event("skipped", path=s.path, reason=s.reason)

    if diff.is_empty and not parse_skipped:
        result = ReviewResult(model=choice.name, summary="Nothing to review: the diff is empty.")
        return DiffReview(result, diff, reviewed, empty=True)

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
            result.warnings.append(f"model review failed, builtin findings only: {exc.one_line()}")
    _merge(
        result, builtin, model_findings, reviewed, cfg.review.min_severity, cfg.review.max_comments
    )
    result.summary = _summary_line(result, len(diff.files), result.summary)
    return DiffReview(result, diff, reviewed, model_error=model_error)


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
    from prbot.llm.client import LLMClient
    from prbot.llm.providers import missing_key

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
