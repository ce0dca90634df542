"""The model's answer as an edge model: a JSON schema to request it, pydantic to validate it.

Models wrap JSON in fences, add a sentence before it, send lines as strings or severities as
"high". Parsing tolerates that presentation noise (it is not the model being wrong), but not a
wrong shape: a missing ``findings`` list or a finding without a path or message is a
:class:`ModelOutputError`, which the reviewer answers with one repair prompt.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

_MAX_TEXT = 4000
_MAX_SCAN_STARTS = 200
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.DOTALL)


class ModelOutputError(ValueError):
    """The model's text is not a valid review; the message is a short reason a model can act on."""


def rule_slug(value: str | None) -> str:
    """Namespace a model-chosen rule id as ``llm/<slug>`` so it can never pose as a builtin rule."""
    from prbot.review.secrets import redact

    text, secrets = redact(value or "")
    if secrets:
        # A slug of a lower-cased key would slip past the scanner later; never keep one.
        return "llm/review"
    raw = text.strip().lower()
    if raw.startswith("llm/"):
        raw = raw[4:]
    slug = re.sub(r"[^a-z0-9]+", "-", raw).strip("-")[:40].strip("-")
    return f"llm/{slug or 'review'}"


class ModelFinding(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    path: str = Field(min_length=1)
    line: int | None = None
    end_line: int | None = None
    severity: str = "warning"
    rule: str = "llm/review"
    message: str = Field(min_length=1)
    suggestion: str | None = None

    @field_validator("line", "end_line", mode="before")
    @classmethod
    def _positive_line(cls, value: Any) -> Any:
        """Line 0, negative lines and empty strings mean "no line" to a model; say so explicitly."""
        if value in ("", None):
            return None
        if isinstance(value, str) and value.strip().lstrip("+").isdigit():
            value = int(value.strip().lstrip("+"))
        if isinstance(value, int) and not isinstance(value, bool) and value <= 0:
            return None
        return value

    @field_validator("severity", mode="before")
    @classmethod
    def _severity_text(cls, value: Any) -> Any:
        return "warning" if value is None else value

    @field_validator("rule", mode="before")
    @classmethod
    def _namespaced(cls, value: Any) -> str:
        return rule_slug(value if isinstance(value, str) else None)

    @field_validator("message", "suggestion", mode="after")
    @classmethod
    def _bounded(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value if len(value) <= _MAX_TEXT else value[: _MAX_TEXT - 1] + "…"


class ModelReview(BaseModel):
    model_config = ConfigDict(extra="ignore")

    summary: str = ""
    findings: list[ModelFinding]

    @field_validator("summary", mode="before")
    @classmethod
    def _summary_text(cls, value: Any) -> Any:
        return "" if value is None else value


#: JSON Schema for ``response_format``. Strict-mode compatible: every property required,
#: optional values nullable, no additional properties.
REVIEW_JSON_SCHEMA: dict[str, Any] = {
    "title": "prbot_review",
    "type": "object",
    "additionalProperties": False,
    "required": ["summary", "findings"],
    "properties": {
        "summary": {
            "type": "string",
            "description": "One or two sentences on the change as a whole.",
        },
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "path",
                    "line",
                    "end_line",
                    "severity",
                    "rule",
                    "message",
                    "suggestion",
                ],
                "properties": {
                    "path": {
                        "type": "string",
                        "description": "File path exactly as in '### File:'.",
                    },
                    "line": {
                        "type": ["integer", "null"],
                        "description": "New-side line number shown left of the line; null for the whole file.",
                    },
                    "end_line": {
                        "type": ["integer", "null"],
                        "description": "Last line of a range, or null.",
                    },
                    "severity": {"type": "string", "enum": ["error", "warning", "info"]},
                    "rule": {
                        "type": "string",
                        "description": "Short kebab-case category, e.g. sql-injection.",
                    },
                    "message": {
                        "type": "string",
                        "description": "What is wrong and why, in one or two sentences.",
                    },
                    "suggestion": {
                        "type": ["string", "null"],
                        "description": "Replacement code for the line(s), or null.",
                    },
                },
            },
        },
    },
}


def _extract_json(text: str) -> Any:
    """The first top-level JSON object (or array) in ``text``: bare, fenced, or after prose."""
    stripped = text.strip()
    if not stripped:
        raise ModelOutputError("the answer was empty; expected a JSON object")
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    for block in _FENCE.findall(stripped):
        try:
            return json.loads(block.strip())
        except ValueError:
            continue
    decoder = json.JSONDecoder()
    starts = [m.start() for m in re.finditer(r"[{\[]", stripped)][:_MAX_SCAN_STARTS]
    for start in starts:
        try:
            value, _end = decoder.raw_decode(stripped, start)
        except ValueError:
            continue
        if isinstance(value, dict) or (
            isinstance(value, list) and value and isinstance(value[0], dict)
        ):
            return value
    raise ModelOutputError("the answer contains no valid JSON object")


def _short_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "answer"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def parse_model_review(text: str) -> ModelReview:
    """Validate the model's text as a :class:`ModelReview` or raise :class:`ModelOutputError`."""
    data = _extract_json(text or "")
    if isinstance(data, list):
        # A bare list of findings is a common, unambiguous shortcut.
        data = {"findings": data}
    if not isinstance(data, dict):
        raise ModelOutputError("the answer must be a JSON object with 'summary' and 'findings'")
    try:
        return ModelReview.model_validate(data)
    except ValidationError as exc:
        raise ModelOutputError(
            f"the JSON does not match the schema: {_short_validation_error(exc)}"
        ) from None
