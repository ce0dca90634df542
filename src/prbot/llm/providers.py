"""What prbot knows about model providers without importing LiteLLM.

Which variable holds each provider's key, which one points it at another endpoint, how a bare
model name maps to a provider, and how to read a provider's error text and make it one safe line.
It is kept apart from :mod:`prbot.llm.client` so that asking for a missing key before a run, and
cleaning error text, stay cheap: importing this module must never import LiteLLM (seconds).
"""

from __future__ import annotations

import os
import re

_MAX_ERROR_CHARS = 200

#: The usual key variable(s) of each provider; the first one is the name we tell the user to set.
_KEY_VARS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "text-completion-openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "azure": ("AZURE_API_KEY", "AZURE_OPENAI_API_KEY"),
    "azure_ai": ("AZURE_AI_API_KEY",),
    "mistral": ("MISTRAL_API_KEY",),
    "codestral": ("CODESTRAL_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "cohere": ("COHERE_API_KEY", "CO_API_KEY"),
    "cohere_chat": ("COHERE_API_KEY", "CO_API_KEY"),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "together_ai": ("TOGETHERAI_API_KEY", "TOGETHER_AI_API_KEY", "TOGETHER_API_KEY"),
    "fireworks_ai": ("FIREWORKS_AI_API_KEY", "FIREWORKS_API_KEY"),
    "perplexity": ("PERPLEXITYAI_API_KEY", "PERPLEXITY_API_KEY"),
    "xai": ("XAI_API_KEY",),
    "cerebras": ("CEREBRAS_API_KEY",),
    "deepinfra": ("DEEPINFRA_API_KEY",),
    "huggingface": ("HUGGINGFACE_API_KEY", "HF_TOKEN"),
    "nvidia_nim": ("NVIDIA_NIM_API_KEY",),
}

#: Variables that point a provider at another endpoint (a proxy or a self-hosted server).
_BASE_VARS: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_BASE_URL", "OPENAI_API_BASE"),
    "anthropic": ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_BASE"),
    "gemini": ("GEMINI_API_BASE",),
    "azure": ("AZURE_API_BASE",),
}

#: Provider of a model string without a ``provider/`` prefix, by the name's usual start.
_BARE_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-", "openai"),
    ("chatgpt", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("claude", "anthropic"),
    ("gemini", "gemini"),
    ("mistral", "mistral"),
    ("codestral", "mistral"),
)

# Credential-shaped strings scrubbed from error text. llm/ sits below review/ and cannot use its
# secret scanner; these patterns plus the literal key values cover what a provider echoes.
_CREDENTIAL_PATTERNS = re.compile(
    r"(?:\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{6,}"
    r"|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}"
    r"|\bgithub_pat_\w{20,}"
    r"|\bglpat-[A-Za-z0-9_\-]{16,}"
    r"|\bxox[abprs]-[A-Za-z0-9\-]{10,}"
    r"|\bAIza[0-9A-Za-z_\-]{30,}"
    r"|(?i:bearer)\s+[A-Za-z0-9._\-~+/=]{8,}"
    r"|(?i:api[_-]?key)[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9._\-]{8,})"
)


def provider_of(model: str) -> str | None:
    """The provider part of a LiteLLM model string, guessed for bare names; None if unknown."""
    name = model.strip()
    if "/" in name:
        return name.split("/", 1)[0].lower()
    lower = name.lower()
    for prefix, provider in _BARE_PREFIXES:
        if lower.startswith(prefix):
            return provider
    return None


def key_var(model: str) -> str | None:
    """The environment variable that usually holds the key for ``model``'s provider."""
    names = _KEY_VARS.get(provider_of(model) or "")
    return names[0] if names else None


def missing_key(model: str, *, api_base: str | None = None) -> str | None:
    """The key variable to set when the provider's key is absent, else None.

    Self-hosted and proxied endpoints often need no key, so an explicit ``api_base`` or the
    provider's own base-URL variable means "don't ask for a key". Unknown providers (ollama,
    bedrock, vertex_ai, …) have credential chains we cannot check cheaply: None too.
    """
    provider = provider_of(model)
    names = _KEY_VARS.get(provider or "")
    if not names or api_base:
        return None
    if base_url_from_env(model) is not None:
        return None
    if any(os.environ.get(v) for v in names):
        return None
    return names[0]


def base_url_from_env(model: str) -> str | None:
    """The endpoint the provider's own base-URL variable points ``model`` at, if one is set."""
    for var in _BASE_VARS.get(provider_of(model) or "", ()):
        value = os.environ.get(var)
        if value:
            return value
    return None


def scrub(text: str) -> str:
    """Remove key values we know of and anything credential-shaped from error text."""
    for names in _KEY_VARS.values():
        for name in names:
            value = os.environ.get(name)
            if value and len(value) >= 6:
                text = text.replace(value, "***")
    return _CREDENTIAL_PATTERNS.sub("***", text)


def one_line(text: str, limit: int = _MAX_ERROR_CHARS) -> str:
    """Error text fit for a one-line message: scrubbed, whitespace-collapsed, cut at ``limit``."""
    flat = " ".join(scrub(str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def strip_prefix(text: str) -> str:
    """Drop LiteLLM's repeated ``litellm.X: X: OpenAIException -`` prefixes; keep the provider's words."""
    return re.sub(r"^(?:\s*(?:litellm\.)?\w+(?:Error|Exception|Timeout)\s*[:-]\s*)+", "", text)


def says_unknown_model(text: str) -> bool:
    """Whether a 400's text means "no such model", which some providers send instead of a 404."""
    t = text.lower()
    return "model" in t and any(
        w in t for w in ("not found", "does not exist", "unknown model", "not exist")
    )


def is_missing_key(exc: Exception) -> bool:
    """Whether the SDK refused to send for want of a key (before any request was made)."""
    t = str(exc).lower()
    return "api_key" in t and ("must be set" in t or "missing" in t)


def is_connection_error(exc: BaseException) -> bool:
    """LiteLLM reports a refused connection as a 500; the cause chain still says what happened."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        name = type(current).__name__
        if name in (
            "APIConnectionError",
            "ConnectError",
            "ConnectTimeout",
            "ConnectionRefusedError",
            "gaierror",
        ):
            return True
        if name == "APITimeoutError":
            return False
        current = current.__cause__ or current.__context__
        seen += 1
    return "connection error" in str(exc).lower()
