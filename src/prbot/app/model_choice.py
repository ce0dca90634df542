"""Which reviewer runs: a LiteLLM model string or ``builtin``.

Precedence: ``--model`` > ``PRBOT_MODEL`` > config ``model.name`` > ``builtin``. A model chosen
explicitly (option or env) whose key is missing is an error; one that only comes from the config
falls back to ``builtin`` with a warning on a laptop, so a fresh clone still gets a review, but is an
error in CI, where a silent downgrade would hide a broken setup.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from prbot.config.schema import ModelSettings

BUILTIN = "builtin"


@dataclass(frozen=True)
class ModelChoice:
    name: str
    origin: str  # "option", "env", "config" or "default"
    api_base: str | None

    @property
    def is_builtin(self) -> bool:
        return self.name == BUILTIN

    @property
    def explicit(self) -> bool:
        return self.origin in ("option", "env")


def choose_model(
    option: str | None, settings: ModelSettings, *, api_base: str | None = None
) -> ModelChoice:
    base = api_base or settings.api_base
    if option:
        return ModelChoice(option.strip(), "option", base)
    env = os.environ.get("PRBOT_MODEL", "").strip()
    if env:
        return ModelChoice(env, "env", base)
    if settings.name:
        return ModelChoice(settings.name.strip(), "config", base)
    return ModelChoice(BUILTIN, "default", base)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
