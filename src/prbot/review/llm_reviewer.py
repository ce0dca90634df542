"""The model reviewer: diff → chunks → concurrent model calls → findings anchored on real lines.

What a model says is checked before anyone sees it. A finding is only inline when its path is in
the chunk the model was shown and its line is one the forge accepts a comment on; otherwise it goes
to the summary, and a path that is not in the diff at all is a hallucination and is dropped with a
warning. Model trouble degrades instead of failing: invalid JSON gets one repair prompt, then that
chunk is left to the builtin checks with a visible warning. Only when the model could not be used
for any chunk (endpoint down, key refused) is the :class:`ModelError` raised, for the app to decide.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from prbot.diff.model import Diff
from prbot.errors import ModelError
from prbot.models import ChangeInfo, Finding, ModelCall, ReviewResult, Severity, Usage
from prbot.review.anchor import anchor_findings, resolve_path, shown_lines
from prbot.review.model_output import (
    REVIEW_JSON_SCHEMA,
    ModelFinding,
    ModelOutputError,
    parse_model_review,
    rule_slug,
)
from prbot.review.prompt import build_repair_messages, build_review_messages
from prbot.review.secrets import redacted

if TYPE_CHECKING:
    from prbot.config.schema import ReviewSettings
    from prbot.llm.client import LLMClient

#: Chunks never get smaller than this, whatever the context window arithmetic says.
MIN_CHUNK_TOKENS = 512
#: Chat formatting and the instructions added per chunk, on top of the measured prompt.
_PROMPT_MARGIN = 128
_MAX_PATHS_LISTED = 8
_MAX_CHUNK_SUMMARY = 400
_MAX_SUMMARY = 1500


@dataclass
class _ChunkOutcome:
    index: int
    calls: list[ModelCall] = field(default_factory=list)
    findings: list[ModelFinding] = field(default_factory=list)
    summary: str = ""
    warning: str | None = None
    error: ModelError | None = None


def _paths_text(paths: Sequence[str]) -> str:
    shown = list(paths[:_MAX_PATHS_LISTED])
    more = len(paths) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _glob_match(path: str, pattern: str) -> bool:
    base = path.rsplit("/", 1)[-1]
    return (
        fnmatch.fnmatchcase(path, pattern)
        or (pattern.startswith("**/") and fnmatch.fnmatchcase(path, pattern[3:]))
        or ("/" not in pattern and fnmatch.fnmatchcase(base, pattern))
    )


def _path_instructions(review: ReviewSettings, paths: Sequence[str]) -> list[tuple[str, str]]:
    return [
        (", ".join(pi.paths), pi.instructions)
        for pi in review.path_instructions
        if any(_glob_match(p, g) for p in paths for g in pi.paths)
    ]


def _repeats(error: ModelError) -> bool:
    """Whether every other chunk would fail the same way (so there is no point sending them)."""
    return getattr(error, "kind", "other") in ("auth", "not_found", "connection", "other")


def _call_failed(call: ModelCall | None) -> list[ModelCall]:
    return [call] if call is not None else []


# --- one chunk (runs in a worker thread) ---------------------------------------------------------


def _review_chunk(
    client: LLMClient, chunk: Any, messages: list[dict[str, Any]], number: int
) -> _ChunkOutcome:
    outcome = _ChunkOutcome(index=chunk.index)
    paths = _paths_text(list(chunk.paths))
    try:
        first = client.complete(messages, json_schema=REVIEW_JSON_SCHEMA, purpose="review")
    except ModelError as exc:
        outcome.calls += _call_failed(getattr(exc, "call", None))
        outcome.error = exc
        return outcome
    outcome.calls.append(first.call)
    try:
        parsed = parse_model_review(first.text)
    except ModelOutputError as exc:
        problem = str(exc)
    else:
        outcome.findings, outcome.summary = parsed.findings, parsed.summary
        return outcome
    if first.finish_reason == "length":
        outcome.warning = (
            f"model output for chunk {number} was cut off at model.max_output_tokens and is not valid "
            f"JSON; builtin checks only for: {paths}"
        )
        return outcome
    repair = build_repair_messages(messages, first.text, problem)
    try:
        second = client.complete(repair, json_schema=REVIEW_JSON_SCHEMA, purpose="repair")
    except ModelError as exc:
        outcome.calls += _call_failed(getattr(exc, "call", None))
        outcome.warning = f"model repair call for chunk {number} failed ({exc.one_line()}); builtin checks only for: {paths}"
        return outcome
    outcome.calls.append(second.call)
    try:
        parsed = parse_model_review(second.text)
    except ModelOutputError:
        outcome.warning = f"model output for chunk {number} was not valid JSON after one repair; builtin checks only for: {paths}"
        return outcome
    outcome.findings, outcome.summary = parsed.findings, parsed.summary
    return outcome


# --- model findings to review findings -----------------------------------------------------------


def _to_findings(
    outcome: _ChunkOutcome, chunk: Any, diff: Diff, source: str, warn: Callable[[str], None]
) -> tuple[list[Finding], list[Finding]]:
    """(candidates for inline, forced summary) for one chunk's model findings."""
    candidates: list[Finding] = []
    forced: list[Finding] = []
    shown = shown_lines(chunk, diff)
    for mf in outcome.findings:
        path = resolve_path(mf.path, diff)
        if path is None:
            shown = redacted(mf.path)[:120]
            warn(f"model reported a finding for {shown}, which is not in the diff; dropped")
            continue
        finding = Finding(
            path=path,
            line=mf.line,
            end_line=mf.end_line,
            severity=Severity.parse(mf.severity),
            rule=rule_slug(mf.rule),
            message=redacted(mf.message),
            suggestion=redacted(mf.suggestion) if mf.suggestion else None,
            source=source,
        )
        span = shown.get(path)
        seen_by_model = span is not None and (mf.line is None or span[0] <= mf.line <= span[1])
        if seen_by_model:
            candidates.append(finding)
        else:
            # The model cited a file or line it was not shown: keep the point, not the position.
            forced.append(replace(finding, line=None, end_line=None))
    return candidates, forced


def _cap(inline: list[Finding], max_comments: int) -> tuple[list[Finding], list[Finding]]:
    """Keep the ``max_comments`` most severe inline findings (stable order); the rest overflow."""
    if len(inline) <= max_comments:
        return inline, []
    ranked = sorted(range(len(inline)), key=lambda i: (-inline[i].severity.rank, i))
    keep = set(ranked[:max_comments])
    return [f for i, f in enumerate(inline) if i in keep], [
        f for i, f in enumerate(inline) if i not in keep
    ]


# --- the whole change ----------------------------------------------------------------------------


class _Budget:
    """Per-run token and cost limits, checked before each chunk is submitted."""

    def __init__(self, client: LLMClient, overhead: int) -> None:
        self.client = client
        self.overhead = overhead
        self.max_tokens = client.settings.max_tokens_per_run
        self.max_usd = client.settings.budget_usd
        self.spent_tokens = 0
        self.spent_usd: float | None = 0.0
        self.completions: list[int] = []
        self.in_flight: dict[int, tuple[int, float | None]] = {}
        self.reason = ""
        self.unpriced = False

    def _estimate(self, chunk: Any) -> tuple[int, float | None]:
        completion = sum(self.completions) // len(self.completions) if self.completions else 0
        prompt = self.overhead + int(chunk.tokens)
        cost = self.client.estimate_cost(prompt, completion) if self.max_usd is not None else 0.0
        return prompt + completion, cost

    def admit(self, chunk: Any) -> bool:
        tokens, cost = self._estimate(chunk)
        if self.max_tokens is not None:
            projected = self.spent_tokens + sum(t for t, _ in self.in_flight.values()) + tokens
            if projected > self.max_tokens:
                self.reason = f"model.max_tokens_per_run={self.max_tokens}"
                return False
        if self.max_usd is not None:
            if cost is None or self.spent_usd is None:
                self.unpriced = True
            else:
                projected_usd = (
                    self.spent_usd + sum(c or 0.0 for _, c in self.in_flight.values()) + cost
                )
                if projected_usd > self.max_usd:
                    self.reason = f"model.budget_usd={self.max_usd:g}"
                    return False
        self.in_flight[chunk.index] = (tokens, cost)
        return True

    def settle(self, outcome: _ChunkOutcome) -> None:
        self.in_flight.pop(outcome.index, None)
        for call in outcome.calls:
            self.spent_tokens += call.prompt_tokens + call.completion_tokens
            if call.error is None:
                self.completions.append(call.completion_tokens)
                if call.cost_usd is None:
                    self.spent_usd = None
                elif self.spent_usd is not None:
                    self.spent_usd += call.cost_usd


def _prompt_overhead(client: LLMClient, change: ChangeInfo, review: ReviewSettings) -> int:
    every = [(", ".join(pi.paths), pi.instructions) for pi in review.path_instructions]
    messages = build_review_messages(
        "",
        change,
        instructions=review.instructions,
        path_instructions=every,
        chunk_label="part 99 of 99",
    )
    return client.count_tokens("\n".join(str(m["content"]) for m in messages)) + _PROMPT_MARGIN


def llm_review(
    diff: Diff,
    change: ChangeInfo,
    *,
    client: LLMClient,
    review: ReviewSettings,
    on_call: Callable[[ModelCall], None] | None = None,
) -> ReviewResult:
    """Review ``diff`` with the model. Raises ModelError only if no chunk could be reviewed."""
    from prbot.diff.chunk import chunk_diff

    result = ReviewResult(model=client.model)
    if not any(f.hunks for f in diff.files):
        return result
    settings = client.settings
    overhead = _prompt_overhead(client, change, review)
    per_chunk = max(
        MIN_CHUNK_TOKENS, client.context_window() - overhead - settings.max_output_tokens
    )
    chunks = chunk_diff(diff, max_tokens=per_chunk, count_tokens=client.count_tokens)
    if not chunks:
        return result
    total = len(chunks)
    budget = _Budget(client, overhead)
    outcomes: dict[int, _ChunkOutcome] = {}
    not_submitted: list[Any] = []
    stop_error: ModelError | None = None

    def messages_for(chunk: Any) -> list[dict[str, Any]]:
        return build_review_messages(
            chunk.text,
            change,
            instructions=review.instructions,
            path_instructions=_path_instructions(review, list(chunk.paths)),
            chunk_label=f"part {chunk.index + 1} of {total}" if total > 1 else "",
        )

    queue = list(chunks)
    with ThreadPoolExecutor(
        max_workers=settings.concurrency, thread_name_prefix="prbot-review"
    ) as pool:
        pending: dict[Future[_ChunkOutcome], Any] = {}
        while True:
            while queue and len(pending) < settings.concurrency and stop_error is None:
                chunk = queue[0]
                if not budget.admit(chunk):
                    break
                queue.pop(0)
                future = pool.submit(
                    _review_chunk, client, chunk, messages_for(chunk), chunk.index + 1
                )
                pending[future] = chunk
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda fut: pending[fut].index):
                pending.pop(future)
                outcome = future.result()
                outcomes[outcome.index] = outcome
                budget.settle(outcome)
                for call in outcome.calls:
                    if on_call is not None:
                        on_call(call)
                succeeded = any(o.error is None for o in outcomes.values())
                if (
                    outcome.error is not None
                    and not succeeded
                    and stop_error is None
                    and _repeats(outcome.error)
                ):
                    # The model never answered in this run and this failure is not transient
                    # (refused key, unknown model, unreachable endpoint): the rest would fail alike.
                    stop_error = outcome.error
        if stop_error is not None:
            for chunk in queue:
                outcomes[chunk.index] = _ChunkOutcome(index=chunk.index, error=stop_error)
            queue = []
        not_submitted = queue

    return _merge(result, diff, chunks, outcomes, not_submitted, budget, review, client.model)


def _merge(
    result: ReviewResult,
    diff: Diff,
    chunks: list[Any],
    outcomes: dict[int, _ChunkOutcome],
    not_submitted: list[Any],
    budget: _Budget,
    review: ReviewSettings,
    source: str,
) -> ReviewResult:
    ordered = [outcomes[i] for i in sorted(outcomes)]
    failed = [o for o in ordered if o.error is not None]
    if ordered and len(failed) == len(ordered):
        raise failed[0].error  # type: ignore[misc]
    warnings: list[str] = []

    def warn(message: str) -> None:
        if message not in warnings:
            warnings.append(message)

    by_index = {c.index: c for c in chunks}
    candidates: list[Finding] = []
    forced: list[Finding] = []
    summaries: list[str] = []
    usage = Usage()
    for outcome in ordered:
        for call in outcome.calls:
            result.calls.append(call)
            usage.add(
                call.prompt_tokens, call.completion_tokens, 0.0 if call.error else call.cost_usd
            )
        chunk = by_index[outcome.index]
        if outcome.error is not None:
            warn(
                f"model call for chunk {outcome.index + 1} failed ({outcome.error.one_line()}); "
                f"builtin checks only for: {_paths_text(list(chunk.paths))}"
            )
            continue
        if outcome.warning:
            warn(outcome.warning)
        inline_c, forced_c = _to_findings(outcome, chunk, diff, source, warn)
        candidates += inline_c
        forced += forced_c
        if outcome.summary.strip():
            text = redacted(" ".join(outcome.summary.split()))
            summaries.append(
                text if len(text) <= _MAX_CHUNK_SUMMARY else text[: _MAX_CHUNK_SUMMARY - 1] + "…"
            )
    if not_submitted:
        paths = [p for c in not_submitted for p in c.paths]
        warn(
            f"model budget ({budget.reason}) reached; not reviewed by the model: {_paths_text(paths)}"
        )
    if budget.unpriced:
        warn(f"model.budget_usd cannot be enforced: no price known for model {source}")

    floor = Severity(review.min_severity)
    kept: list[Finding] = []
    seen: set[str] = set()
    for f in [*candidates, *forced]:
        if not f.severity.at_least(floor) or f.fingerprint in seen:
            continue
        seen.add(f.fingerprint)
        kept.append(f)
    forced_ids = {id(f) for f in forced}
    inline, summary = anchor_findings([f for f in kept if id(f) not in forced_ids], diff)
    inline, overflow = _cap(inline, review.max_comments)
    if overflow:
        warn(
            f"{len(overflow)} model finding(s) over review.max_comments={review.max_comments} moved to the summary"
        )
    result.findings = inline
    result.summary_findings = [*summary, *overflow, *(f for f in kept if id(f) in forced_ids)]
    result.usage = usage
    result.warnings = warnings
    joined = " ".join(summaries)
    result.summary = joined if len(joined) <= _MAX_SUMMARY else joined[: _MAX_SUMMARY - 1] + "…"
    return result
