from __future__ import annotations

import json

import pytest

from prbot.review.model_output import (
    REVIEW_JSON_SCHEMA,
    ModelOutputError,
    parse_model_review,
    rule_slug,
)

VALID = {
    "summary": "Adds a loader.",
    "findings": [
        {
            "path": "app.py",
            "line": 3,
            "severity": "error",
            "rule": "SQL Injection",
            "message": "query built from input",
        }
    ],
}


def test_plain_json_parses_with_defaults() -> None:
    review = parse_model_review(json.dumps(VALID))
    assert review.summary == "Adds a loader."
    [f] = review.findings
    assert (f.path, f.line, f.end_line, f.severity, f.suggestion) == (
        "app.py",
        3,
        None,
        "error",
        None,
    )
    assert f.rule == "llm/sql-injection"


@pytest.mark.parametrize(
    "wrapped",
    [
        "```json\n{doc}\n```",
        "```\n{doc}\n```",
        "Here is my review:\n\n{doc}\n\nHope this helps!",
        "Sure! ```json\n{doc}\n``` Let me know.",
        "  \n{doc}   ",
    ],
)
def test_fences_and_surrounding_prose_are_tolerated(wrapped: str) -> None:
    review = parse_model_review(wrapped.replace("{doc}", json.dumps(VALID)))
    assert [f.path for f in review.findings] == ["app.py"]


def test_first_top_level_object_wins_over_later_ones() -> None:
    text = (
        "noise {not json} "
        + json.dumps(VALID)
        + " "
        + json.dumps({"summary": "second", "findings": []})
    )
    assert parse_model_review(text).summary == "Adds a loader."


def test_bare_list_of_findings_is_accepted() -> None:
    review = parse_model_review(json.dumps(VALID["findings"]))
    assert review.summary == "" and len(review.findings) == 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("I think the code looks fine.", "no valid JSON"),
        ('{"summary": "x", "findings": [', "no valid JSON"),
        ('{"summary": "no findings key"}', "findings"),
        ('{"findings": [{"line": 3, "message": "no path"}]}', "findings.0.path"),
        ('{"findings": [{"path": "a.py", "line": "three", "message": "m"}]}', "findings.0.line"),
        ('{"findings": [{"path": "a.py", "message": ""}]}', "findings.0.message"),
        ('"just a string"', "JSON object"),
        ("[1, 2, 3]", "JSON"),
    ],
)
def test_invalid_answers_raise_a_short_value_error(text: str, reason: str) -> None:
    with pytest.raises(ModelOutputError) as info:
        parse_model_review(text)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert reason in message
    assert "\n" not in message and len(message) < 300


def test_lenient_field_values() -> None:
    doc = {
        "summary": None,
        "findings": [
            {
                "path": " a.py ",
                "line": "12",
                "end_line": 0,
                "severity": None,
                "message": "m",
                "extra": 1,
            },
            {"path": "b.py", "line": -4, "rule": None, "message": "x" * 10_000},
        ],
    }
    a, b = parse_model_review(json.dumps(doc)).findings
    assert (a.path, a.line, a.end_line, a.severity, a.rule) == (
        "a.py",
        12,
        None,
        "warning",
        "llm/review",
    )
    assert b.line is None and len(b.message) <= 4000


@pytest.mark.parametrize(
    ("raw", "slug"),
    [
        ("security", "llm/security"),
        ("llm/Null Deref", "llm/null-deref"),
        ("builtin/secret", "llm/builtin-secret"),
        ("secret/aws", "llm/secret-aws"),
        ("", "llm/review"),
        ("!!!", "llm/review"),
        ("x" * 200, "llm/" + "x" * 40),
    ],
)
def test_rule_ids_are_namespaced_under_llm(raw: str, slug: str) -> None:
    assert rule_slug(raw) == slug


def test_rule_carrying_a_secret_is_replaced() -> None:
    key = "AKIA" + "Q3EGRTZNWX7KP4LD"
    assert rule_slug(key) == "llm/review"
    assert key.lower() not in rule_slug(f"leak {key}")


def test_schema_is_strict_mode_compatible() -> None:
    def check(node: dict) -> None:
        if node.get("type") == "object":
            assert node["additionalProperties"] is False
            assert set(node["required"]) == set(node["properties"])
            for child in node["properties"].values():
                check(child)
        if node.get("type") == "array":
            check(node["items"])

    check(REVIEW_JSON_SCHEMA)
    item = REVIEW_JSON_SCHEMA["properties"]["findings"]["items"]["properties"]
    assert "null" in item["line"]["type"] and item["severity"]["enum"] == [
        "error",
        "warning",
        "info",
    ]
