"""The model adapter: the only module that imports LiteLLM, and only when a model is really called.

``import litellm`` costs seconds and, left to itself, fetches a cost map from the internet, prints
a help banner on stdout (corrupting ``--json``) and logs debug lines to stdout. :func:`load_litellm`
imports it once, offline and quiet. :class:`LLMClient` wraps one completion call with our timeout,
retry and structured-output policy, records a :class:`~prbot.models.ModelCall` for the audit trail,
and turns every LiteLLM exception into a one-line :class:`~prbot.errors.ModelError` that says what
to do and never contains a key.

Transport retries are done here, not by LiteLLM: with ``num_retries`` LiteLLM retries inside the
OpenAI SDK *and* again in its own wrapper (``2n + 1`` attempts, so a dead endpoint costs far more
than ``model.timeout * (max_retries + 1)``), and it retries refused keys too. Our loop retries only
what a retry can fix (timeouts, 429, 5xx, connection errors), ``max_retries`` times.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import random
import re
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from prbot.config.schema import ModelSettings
from prbot.errors import ModelError
from prbot.llm.providers import (
    base_url_from_env,
    is_connection_error,
    is_missing_key,
    key_var,
    one_line,
    provider_of,
    says_unknown_model,
    strip_prefix,
)
from prbot.llm.providers import missing_key as missing_key  # re-exported: app/review.py uses it
from prbot.models import ModelCall

DEFAULT_CONTEXT_TOKENS = 8192
_BACKOFF_BASE = 0.5
_BACKOFF_MAX = 8.0

_lock = threading.Lock()
_litellm: Any = None


def _tokenizer_dir() -> str | None:
    """The tiktoken encodings LiteLLM ships, found without importing LiteLLM."""
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    for root in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(root) / "litellm_core_utils" / "tokenizers"
        if candidate.is_dir():
            return str(candidate)
    return None


def load_litellm() -> Any:
    """Import LiteLLM once, configured for CI: offline, silent on stdout, no callbacks."""
    global _litellm
    if _litellm is not None:
        return _litellm
    with _lock:
        if _litellm is not None:
            return _litellm
        # Both must be set before the import: the cost map is fetched and tiktoken loaded at import.
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        tokenizers = _tokenizer_dir()
        if tokenizers:
            os.environ.setdefault("TIKTOKEN_CACHE_DIR", tokenizers)
        import litellm

        litellm.suppress_debug_info = True
        if hasattr(litellm, "telemetry"):
            litellm.telemetry = False
        litellm.turn_off_message_logging = True
        for name in ("callbacks", "success_callback", "failure_callback", "input_callback"):
            if isinstance(getattr(litellm, name, None), list):
                setattr(litellm, name, [])
        if not os.environ.get("LITELLM_LOG"):
            # LiteLLM logs below WARNING to stdout and failed fallbacks with tracebacks to stderr;
            # prbot reports every failure itself as one line.
            for logger_name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
                logging.getLogger(logger_name).setLevel(logging.CRITICAL)
        _litellm = litellm
        return litellm


@dataclass
class CompletionResult:
    text: str
    call: ModelCall
    finish_reason: str | None


#: Failure kinds a retry can fix; the others (a refused key, an unknown model) repeat every time.
RETRYABLE_KINDS = frozenset({"timeout", "rate_limit", "connection", "server"})


class ModelCallError(ModelError):
    """A :class:`ModelError` that carries the failed call, so it still reaches the audit trail.

    ``kind`` is one of ``auth``, ``not_found``, ``context``, ``timeout``, ``rate_limit``,
    ``connection``, ``server`` or ``other``.
    """

    def __init__(
        self, message: str, *, call: ModelCall, kind: str = "other", hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.call = call
        self.kind = kind

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS


class LLMClient:
    """Calls one configured model. Thread-safe: the reviewer calls it from a worker pool."""

    def __init__(self, settings: ModelSettings, model: str, *, api_base: str | None = None) -> None:
        self.settings = settings
        self.model = model
        # None lets LiteLLM use the provider's own variables (OPENAI_BASE_URL, OPENAI_API_BASE, …).
        self.api_base = api_base or settings.api_base or None
        self._response_formats: dict[str, dict[str, Any] | None] = {}
        self._context: int | None = None

    # -- capabilities ----------------------------------------------------------------------------
    def _provider(self) -> str | None:
        litellm = load_litellm()
        try:
            return str(litellm.get_llm_provider(self.model)[1])
        except Exception:
            return provider_of(self.model)

    def _response_format(self, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        """The strongest structured-output request the model accepts; unknown models get none."""
        if schema is None:
            return None
        name = re.sub(r"[^A-Za-z0-9_-]", "_", str(schema.get("title") or "response"))[:64]
        if name in self._response_formats:
            return self._response_formats[name]
        litellm = load_litellm()
        provider = self._provider()
        chosen: dict[str, Any] | None = None
        try:
            if litellm.supports_response_schema(model=self.model, custom_llm_provider=provider):
                chosen = {
                    "type": "json_schema",
                    "json_schema": {"name": name, "schema": schema, "strict": True},
                }
        except Exception:
            chosen = None
        if chosen is None:
            try:
                params = (
                    litellm.get_supported_openai_params(
                        model=self.model, custom_llm_provider=provider
                    )
                    or []
                )
                if "response_format" in params:
                    chosen = {"type": "json_object"}
            except Exception:
                chosen = None
        self._response_formats[name] = chosen
        return chosen

    def context_window(self) -> int:
        """Input tokens the model accepts: the configured override, LiteLLM's model map, or 8192."""
        if self.settings.context_tokens:
            return self.settings.context_tokens
        if self._context is None:
            litellm = load_litellm()
            try:
                info = litellm.get_model_info(self.model)
                self._context = int(
                    info.get("max_input_tokens") or info.get("max_tokens") or DEFAULT_CONTEXT_TOKENS
                )
            except Exception:
                self._context = DEFAULT_CONTEXT_TOKENS
        return self._context

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` with the model's tokenizer; a character estimate if that fails."""
        try:
            litellm = load_litellm()
            return int(litellm.token_counter(model=self.model, text=text))
        except Exception:
            return _approx_tokens(text)

    def estimate_cost(self, prompt_tokens: int, completion_tokens: int = 0) -> float | None:
        """Price of a call of this size before making it (budget checks); None if not priced."""
        litellm = load_litellm()
        try:
            prompt_cost, completion_cost = litellm.cost_per_token(
                model=self.model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
            )
        except Exception:
            return None
        return float(prompt_cost) + float(completion_cost)

    # -- the call --------------------------------------------------------------------------------
    def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        json_schema: dict[str, Any] | None = None,
        purpose: str = "review",
    ) -> CompletionResult:
        """One completion with transport retries. Raises :class:`ModelCallError` (a ModelError)."""
        attempt = 0
        while True:
            try:
                return self._complete_once(messages, json_schema, purpose)
            except ModelCallError as exc:
                if not exc.retryable or attempt >= self.settings.max_retries:
                    if exc.retryable and attempt:
                        message = (
                            f"{exc.message} (after {attempt} retr{'y' if attempt == 1 else 'ies'})"
                        )
                        call = replace(exc.call, error=message)
                        raise ModelCallError(
                            message, call=call, kind=exc.kind, hint=exc.hint
                        ) from None
                    raise
                attempt += 1
                time.sleep(
                    min(_BACKOFF_MAX, _BACKOFF_BASE * 2 ** (attempt - 1))
                    * (1 + random.random() / 4)
                )

    def _complete_once(
        self, messages: list[dict[str, Any]], json_schema: dict[str, Any] | None, purpose: str
    ) -> CompletionResult:
        litellm = load_litellm()
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "timeout": self.settings.timeout,
            "num_retries": 0,
            "max_retries": 0,
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_output_tokens,
            # Models that reject a parameter (temperature on reasoning models, …) get it dropped.
            "drop_params": True,
        }
        if self.api_base:
            kwargs["api_base"] = self.api_base
            if provider_of(self.model) == "openai" and not os.environ.get("OPENAI_API_KEY"):
                # The OpenAI SDK refuses to send without a key, but self-hosted OpenAI-compatible
                # servers (vLLM, llama.cpp, LM Studio) usually need none: send a placeholder.
                kwargs["api_key"] = "no-key"
        if self.settings.fallbacks:
            kwargs["fallbacks"] = list(self.settings.fallbacks)
        response_format = self._response_format(json_schema)
        if response_format is not None:
            kwargs["response_format"] = response_format
        started = time.perf_counter()
        try:
            response = litellm.completion(**kwargs)
        except Exception as exc:
            latency = (time.perf_counter() - started) * 1000
            message, hint, kind = self._describe_error(exc, litellm)
            call = ModelCall(model=self.model, latency_ms=latency, error=message, purpose=purpose)
            raise ModelCallError(message, call=call, kind=kind, hint=hint) from None
        latency = (time.perf_counter() - started) * 1000
        text, finish_reason = _message_text(response)
        usage = getattr(response, "usage", None)
        hidden = getattr(response, "_hidden_params", None) or {}
        call = ModelCall(
            model=self.model,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            cost_usd=_cost(litellm, response),
            latency_ms=latency,
            cache_hit=bool(hidden.get("cache_hit")) if isinstance(hidden, dict) else False,
            purpose=purpose,
        )
        return CompletionResult(text=text, call=call, finish_reason=finish_reason)

    # -- errors ----------------------------------------------------------------------------------
    def _endpoint(self) -> str:
        if self.api_base:
            return self.api_base
        return base_url_from_env(self.model) or f"of {provider_of(self.model) or 'the provider'}"

    def _describe_error(self, exc: Exception, litellm: Any) -> tuple[str, str | None, str]:
        """(one-line message, hint, kind) for any exception LiteLLM raised."""
        m = self.model
        status = getattr(exc, "status_code", None)
        text = str(getattr(exc, "message", None) or exc)
        if is_missing_key(exc):
            var = key_var(m) or "the provider's API key variable"
            return f"model {m} has no API key: set {var}", None, "auth"
        if isinstance(exc, litellm.AuthenticationError) or status in (401, 403):
            var = key_var(m) or "the provider's API key variable"
            return (
                f"model {m} refused the API key: set {var}",
                "check the key is valid for this endpoint",
                "auth",
            )
        if isinstance(exc, litellm.ContextWindowExceededError):
            return (
                f"prompt too long for model {m}",
                "set model.context_tokens to the model's real context window",
                "context",
            )
        if (
            isinstance(exc, litellm.NotFoundError)
            or status == 404
            or (isinstance(exc, litellm.BadRequestError) and says_unknown_model(text))
        ):
            return f"unknown model {m}", "check the model name and the endpoint", "not_found"
        if isinstance(exc, litellm.Timeout) or status == 408:
            return (
                f"model {m} timed out after {self.settings.timeout:g}s (raise model.timeout or check the endpoint)",
                None,
                "timeout",
            )
        if isinstance(exc, litellm.RateLimitError) or status == 429:
            return f"model {m} is rate limited", "wait, or lower model.concurrency", "rate_limit"
        if is_connection_error(exc):
            return (
                f"cannot reach model endpoint {self._endpoint()}",
                "check model.api_base and the network",
                "connection",
            )
        if isinstance(status, int) and status >= 500:
            return (
                f"model endpoint {self._endpoint()} failed with HTTP {status}: {one_line(strip_prefix(text), 120)}",
                None,
                "server",
            )
        return (
            f"model {m} failed: {one_line(type(exc).__name__ + ': ' + strip_prefix(text))}",
            None,
            "other",
        )


def _message_text(response: Any) -> tuple[str, str | None]:
    try:
        choice = response.choices[0]
    except (AttributeError, IndexError, TypeError):
        return "", None
    message = getattr(choice, "message", None)
    text = getattr(message, "content", None) or ""
    if not text:
        # Some providers return forced JSON as a tool call rather than content.
        for tool_call in getattr(message, "tool_calls", None) or []:
            arguments = getattr(getattr(tool_call, "function", None), "arguments", None)
            if arguments:
                text = str(arguments)
                break
    return str(text), getattr(choice, "finish_reason", None)


def _cost(litellm: Any, response: Any) -> float | None:
    """USD cost of the call; None (unknown), never 0, when the model is not in the price map."""
    try:
        value = litellm.completion_cost(completion_response=response)
    except Exception:
        return None
    return float(value) if value is not None else None


def _approx_tokens(text: str) -> int:
    try:
        from prbot.diff.chunk import approx_tokens
    except ImportError:
        return len(text) // 4 + 1
    return approx_tokens(text)
