"""The ``.prbot.yml`` schema as pydantic models.

Every model forbids unknown keys so a typo is an error (with a did-you-mean hint added by the
loader) rather than a silently ignored setting. ``prbot config schema`` prints the JSON Schema
generated from these models, so editors can validate and complete the file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from prbot.rules.schema import Channels, Labels, Permissions, RuleConfig

SeverityName = Literal["info", "warning", "error"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ModelSettings(_Strict):
    """Which model reviews, and how it is called."""

    name: str | None = Field(
        default=None,
        description="LiteLLM model string (e.g. openai/gpt-4o-mini) or 'builtin'. "
        "PRBOT_MODEL and --model override it.",
    )
    fallbacks: list[str] = Field(
        default_factory=list, description="Models tried in order if the first fails."
    )
    api_base: str | None = Field(
        default=None, description="Base URL of an OpenAI-compatible or self-hosted endpoint."
    )
    temperature: float = Field(
        default=0.0, ge=0.0, le=2.0, description="Sampling temperature; 0 keeps reviews repeatable."
    )
    timeout: float = Field(default=120.0, gt=0, description="Seconds allowed for one model call.")
    max_retries: int = Field(
        default=2, ge=0, le=10, description="Transport retries per call (429/5xx/timeouts)."
    )
    context_tokens: int | None = Field(
        default=None,
        ge=1024,
        description="Override the model's context window used to size chunks.",
    )
    max_output_tokens: int = Field(
        default=4096, ge=256, description="Largest answer the model may write per chunk."
    )
    concurrency: int = Field(default=4, ge=1, le=32, description="Chunks reviewed at once.")
    budget_usd: float | None = Field(
        default=None, ge=0, description="Stop calling the model past this cost per run."
    )
    max_tokens_per_run: int | None = Field(
        default=None, ge=1, description="Stop calling the model past this many tokens per run."
    )


class PathInstructions(_Strict):
    paths: list[str] = Field(description="Glob patterns the instructions apply to.")
    instructions: str


class BuiltinChecks(_Strict):
    """Settings of the deterministic ``builtin`` reviewer."""

    disable: list[str] = Field(
        default_factory=list, description="Rule ids to turn off, e.g. debug/print."
    )
    debug_print_python: bool = Field(
        default=True, description="Flag print( in non-test Python files."
    )
    large_file_lines: int = Field(
        default=1000, ge=1, description="An added file with more lines than this is flagged."
    )
    todo_severity: SeverityName = Field(
        default="info", description="Severity of todo-added findings."
    )
    test_globs: list[str] = Field(
        default_factory=lambda: [
            "tests/**",
            "test/**",
            "**/test_*.py",
            "**/*_test.py",
            "**/*_test.go",
            "**/*.test.*",
            "**/*.spec.*",
            "**/__tests__/**",
            "spec/**",
        ],
        description="Paths that count as tests (for test-less change detection and print checks).",
    )


class ReviewSettings(_Strict):
    """What is reviewed and how findings are reported."""

    instructions: str | None = Field(
        default=None, description="Extra instructions for the model reviewer."
    )
    path_instructions: list[PathInstructions] = Field(
        default_factory=list, description="Extra model instructions for files matching globs."
    )
    ignore: list[str] = Field(
        default_factory=list, description="Glob patterns of files never reviewed."
    )
    use_default_excludes: bool = Field(
        default=True, description="Skip lock files, vendored and generated files."
    )
    max_comments: int = Field(
        default=30, ge=0, description="Inline comments at most; the rest go to the summary."
    )
    min_severity: SeverityName = Field(
        default="info", description="Findings below this are dropped."
    )
    builtin: BuiltinChecks = Field(default_factory=BuiltinChecks)
    max_file_lines: int | None = Field(
        default=5000,
        ge=1,
        description="Files with more changed lines than this are skipped (listed with the reason); null for no limit.",
    )


class AuditSettings(_Strict):
    """Where the audit trail is written."""

    enabled: bool = Field(default=True, description="Write the JSON record and the SQLite audit.")
    dir: str = Field(default=".prbot/runs", description="Folder for one JSON record per run.")
    db: str = Field(
        default=".prbot/audit.db", description="SQLite database of runs, events and model calls."
    )


class PrbotConfig(_Strict):
    """Top level of ``.prbot.yml``."""

    version: Literal[1] = Field(default=1, description="Schema version; only 1 exists.")
    model: ModelSettings = Field(default_factory=ModelSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    # The rule pipeline's sections (schema in rules/schema.py, cross-checks in rules/pipeline.py).
    labels: Labels = Field(
        default_factory=dict, description="Label definitions: name → color, description, paths."
    )
    rules: list[RuleConfig] = Field(
        default_factory=list,
        description="Ordered rule pipeline (name, if, do); none = the default pipeline.",
    )
    notify: Channels = Field(
        default_factory=dict, description="Notification channels: name → slack/webhook/email."
    )
    permissions: Permissions = Field(
        default_factory=Permissions,
        description="Who may run slash commands; whether approve/merge act on drafts and forks.",
    )
