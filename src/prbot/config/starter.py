"""The commented starter file written by ``prbot config init``."""

STARTER = """\
# prbot configuration. Reference: docs/configuration.md
# Validate with: prbot config validate    Editor schema: prbot config schema > prbot.schema.json
version: 1

model:
  # Any LiteLLM model string, or "builtin" (offline, deterministic checks; the default).
  # PRBOT_MODEL or --model override this. The API key comes from the provider's usual variable
  # (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...).
  name: builtin
  # fallbacks: [anthropic/claude-3-5-haiku-latest]
  # api_base: http://localhost:11434   # self-hosted / OpenAI-compatible endpoint
  timeout: 120          # seconds per model call
  concurrency: 4        # diff chunks reviewed at once
  # budget_usd: 0.50    # stop calling the model past this cost per run

review:
  # instructions: |
  #   We use SQLAlchemy 2.0 style; flag legacy Query API use.
  # path_instructions:
  #   - paths: ["migrations/**"]
  #     instructions: Check that every migration is reversible.
  ignore: []            # globs never reviewed, e.g. ["docs/generated/**"]
  max_comments: 30      # inline comments at most; the rest go to the summary
  min_severity: info    # info | warning | error
  builtin:
    disable: []         # rule ids, e.g. [debug/print, missing-tests]
    large_file_lines: 1000

audit:
  dir: .prbot/runs      # one JSON record per run
  db: .prbot/audit.db   # SQLite, hash-chained events (prbot audit verify)

# The rule pipeline (labels, approvals, merges) is described in docs/configuration.md.
rules: []
"""
