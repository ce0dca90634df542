"""What a model review would send for a synthetic pull request, without calling any model.

Prompt size is what a review costs, and a fixed instruction block is paid once per chunk, so
this shows how many chunks a PR becomes for a given context window and how much of each request
is instructions rather than diff. Chunks are sized the way the model reviewer sizes them (the
context window minus the prompt overhead and the answer allowance) and the messages are built
by the reviewer's own prompt builder, redaction included. Tokens are the ``approx_tokens``
estimate (about 3.5 characters per token), not a provider tokenizer: real counts for code are
usually a little lower.

Run from the repository root: ``python benchmarks/prompt_tokens.py [--context-tokens 16000]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _gen import generate_diff

from prbot.config.schema import ModelSettings, ReviewSettings
from prbot.diff.chunk import approx_tokens, chunk_diff
from prbot.diff.filters import filter_diff
from prbot.diff.parse import parse_diff
from prbot.models import ChangeInfo

# The reviewer's own sizing constants, imported rather than copied so the figures follow them.
from prbot.review.llm_reviewer import _PROMPT_MARGIN, MIN_CHUNK_TOKENS
from prbot.review.prompt import build_review_messages

DEFAULT_SIZES = (200, 2000)
CHANGE = ChangeInfo(
    title="Export orders and invoices to the billing service",
    body=(
        "This adds an export job for orders and invoices, a retry queue for failed batches and "
        "the web screens to follow an export.\n\n- new `exports` package\n- retry with backoff\n"
        "- metrics per bucket and region\n\nCloses #412."
    ),
    author="dev",
    base_ref="main",
    head_ref="feature/exports",
)


@dataclass
class PromptFigures:
    lines: int
    files: int
    chunks: int
    chunk_budget: int
    per_chunk: list[int]
    total_prompt: int
    diff_tokens: int
    redacted: int

    @property
    def overhead(self) -> int:
        return self.total_prompt - self.diff_tokens


def _prompt_tokens(messages: list[dict[str, object]]) -> int:
    # Counted the way the reviewer counts its own overhead: message contents joined by newlines.
    return approx_tokens("\n".join(str(m["content"]) for m in messages))


def _messages(text: str, review: ReviewSettings, label: str) -> list[dict[str, object]]:
    return build_review_messages(
        text, CHANGE, instructions=review.instructions, path_instructions=[], chunk_label=label
    )


def chunk_budget(context_tokens: int, review: ReviewSettings, model: ModelSettings) -> int:
    """Tokens of diff per chunk: what the window leaves after the prompt and the answer."""
    overhead = _prompt_tokens(_messages("", review, "part 99 of 99")) + _PROMPT_MARGIN
    return max(MIN_CHUNK_TOKENS, context_tokens - overhead - model.max_output_tokens)


def measure(lines: int, context_tokens: int, seed: int = 1) -> PromptFigures:
    review, model = ReviewSettings(), ModelSettings(context_tokens=context_tokens)
    diff, _ = parse_diff(generate_diff(lines, seed=seed).text)
    reviewed, _ = filter_diff(diff, use_default_excludes=review.use_default_excludes)
    budget = chunk_budget(context_tokens, review, model)
    chunks = chunk_diff(reviewed, max_tokens=budget, count_tokens=approx_tokens)
    per_chunk: list[int] = []
    redacted = 0
    for chunk in chunks:
        label = f"part {chunk.index + 1} of {len(chunks)}" if len(chunks) > 1 else ""
        messages = _messages(chunk.text, review, label)
        per_chunk.append(_prompt_tokens(messages))
        # The system message mentions the placeholder itself; only the user message holds data.
        redacted += sum(
            str(m["content"]).count("[REDACTED:") for m in messages if m["role"] == "user"
        )
    return PromptFigures(
        lines=diff.additions + diff.deletions,
        files=len(reviewed.files),
        chunks=len(chunks),
        chunk_budget=budget,
        per_chunk=per_chunk,
        total_prompt=sum(per_chunk),
        diff_tokens=sum(c.tokens for c in chunks),
        redacted=redacted,
    )


def format_row(f: PromptFigures) -> str:
    spread = (
        f"{min(f.per_chunk)}/{int(statistics.median(f.per_chunk))}/{max(f.per_chunk)}"
        if f.per_chunk
        else "-"
    )
    share = f"{100 * f.overhead / f.total_prompt:.1f}%" if f.total_prompt else "-"
    return (
        f"{f.lines:>6} {f.files:>5} {f.chunks:>6} {f.chunk_budget:>7} {spread:>17} "
        f"{f.total_prompt:>12} {f.diff_tokens:>10} {f.overhead:>10} {share:>9} {f.redacted:>8}"
    )


_HEADER = (
    f"{'lines':>6} {'files':>5} {'chunks':>6} {'budget':>7} {'prompt/chunk min/med/max':>17} "
    f"{'total prompt':>12} {'diff tok':>10} {'instr tok':>10} {'overhead':>9} {'redacted':>8}"
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=list(DEFAULT_SIZES))
    parser.add_argument("--context-tokens", type=int, default=16000, help="model context window")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    review = ReviewSettings()
    fixed = _prompt_tokens(_messages("", review, ""))
    print(
        f"prompt tokens (approx_tokens, ~3.5 chars/token), context window {args.context_tokens}, "
        f"answer allowance {ModelSettings().max_output_tokens}"
    )
    print(f"instructions + PR metadata per request, without diff: {fixed} tokens")
    print(_HEADER)
    for n in args.sizes:
        print(format_row(measure(max(1, n), args.context_tokens, seed=args.seed)), flush=True)
    print("budget = diff tokens allowed per chunk; instr tok = prompt tokens that are not diff")
    return 0


if __name__ == "__main__":
    sys.exit(main())
