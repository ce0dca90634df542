#!/usr/bin/env bash
# Entry point of the prbot Bitbucket Pipe: turn the pipe's variables into `prbot run` flags.
#
# Every value is passed as one argument ("$VAR"), never evaluated: a model name or path with spaces,
# quotes or `$(...)` stays literal text. EXTRA_ARGS alone is split, on whitespace, without globbing.
# Credentials are not flags (they would show in process lists): prbot reads PRBOT_BITBUCKET_TOKEN,
# BITBUCKET_USERNAME / BITBUCKET_APP_PASSWORD and the model provider's key from the environment.
set -euo pipefail

fail() {
  printf 'prbot pipe: %s\n' "$1" >&2
  exit 2
}

is_true() {
  case "$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')" in
    true | 1 | yes | on) return 0 ;;
    false | 0 | no | off | "") return 1 ;;
    *) fail "$2 must be true or false (got '$1')" ;;
  esac
}

# Credentials: exported as they are (empty ones are dropped so prbot's own fallbacks apply).
for name in PRBOT_BITBUCKET_TOKEN BITBUCKET_USERNAME BITBUCKET_APP_PASSWORD; do
  if [ -n "${!name:-}" ]; then export "${name?}"; else unset "$name"; fi
done

MODEL="${MODEL:-}"
API_BASE="${API_BASE:-}"
CONFIG="${CONFIG:-}"
FAIL_ON="${FAIL_ON:-never}"
DRY_RUN="${DRY_RUN:-false}"
SARIF_FILE="${SARIF_FILE:-}"
EXTRA_ARGS="${EXTRA_ARGS:-}"
DEBUG="${DEBUG:-false}"

case "$FAIL_ON" in
  error | warning | never) ;;
  *) fail "FAIL_ON must be error, warning or never (got '$FAIL_ON')" ;;
esac

flags=(--fail-on "$FAIL_ON")
if [ -n "$MODEL" ]; then flags+=(--model "$MODEL"); fi
if [ -n "$API_BASE" ]; then flags+=(--api-base "$API_BASE"); fi
if [ -n "$CONFIG" ]; then flags+=(--config "$CONFIG"); fi
if [ -n "$SARIF_FILE" ]; then flags+=(--sarif "$SARIF_FILE"); fi
if is_true "$DRY_RUN" DRY_RUN; then flags+=(--dry-run); fi
if is_true "$DEBUG" DEBUG; then flags+=(--verbose); fi

extra=()
if [ -n "$EXTRA_ARGS" ]; then
  read -r -d "" -a extra <<<"$EXTRA_ARGS" || true
fi

# The pipe runs in the build's clone directory, where the artifacts (.prbot/**) are collected.
if [ -n "${BITBUCKET_CLONE_DIR:-}" ] && [ -d "$BITBUCKET_CLONE_DIR" ]; then
  cd "$BITBUCKET_CLONE_DIR"
  if command -v git >/dev/null 2>&1; then
    # The clone belongs to another user than the pipe's; let git read it.
    git config --global --add safe.directory "$BITBUCKET_CLONE_DIR" || true
  fi
fi
if [ ! -w . ]; then
  printf 'prbot pipe: warning: %s is not writable by this user; the audit folder .prbot/ cannot be kept\n' "$PWD" >&2
fi

export LITELLM_LOCAL_MODEL_COST_MAP="${LITELLM_LOCAL_MODEL_COST_MAP:-True}"
exec prbot run "${flags[@]}" ${extra[@]+"${extra[@]}"}
