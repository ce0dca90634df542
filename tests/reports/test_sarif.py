"""SARIF 2.1.0 output: structure (a schema fragment plus GitHub's upload rules), fingerprints, limits."""

from __future__ import annotations

import json
import random
import string

import pytest

from prbot.diff.parse import parse_diff
from prbot.models import Finding, Severity
from prbot.reports.sarif import (
    FINGERPRINT_KEY,
    MAX_RESULTS_PER_RUN,
    artifact_uri,
    to_sarif,
)
from prbot.review.builtin import RuleInfo, builtin_review
from tests.reports import schema_errors

_rng = random.Random("reports-sarif")
# Built at run time so no secret scanner flags this file; the reviewer must still find it.
AWS_ID = "AK" + "IA" + "".join(_rng.choice(string.ascii_uppercase + "234567") for _ in range(16))

DIFF = f"""\
diff --git a/src/shop/payments.py b/src/shop/payments.py
index c46e955..9537e09 100644
--- a/src/shop/payments.py
+++ b/src/shop/payments.py
@@ -1,3 +1,8 @@
 import requests
+AWS_ACCESS_KEY_ID = "{AWS_ID}"
+
+def refund(charge_id):
+    # TODO: handle partial refunds
+    breakpoint()
 import os
 def charge():
diff --git a/docs/my notes#1.md b/docs/my notes#1.md
new file mode 100644
index 0000000..1111111
--- /dev/null
+++ b/docs/my notes#1.md
@@ -0,0 +1,3 @@
+<<<<<<< HEAD
+mine
+>>>>>>> theirs
"""

LOCATION = {
    "type": "object",
    "required": ["physicalLocation"],
    "properties": {
        "physicalLocation": {
            "type": "object",
            "required": ["artifactLocation"],
            "properties": {
                "artifactLocation": {
                    "type": "object",
                    "required": ["uri", "uriBaseId"],
                    "properties": {
                        "uri": {"type": "string", "minLength": 1, "pattern": r"^[^/\s#?]"},
                        "uriBaseId": {"const": "%SRCROOT%"},
                    },
                },
                "region": {
                    "type": "object",
                    "required": ["startLine"],
                    "properties": {
                        "startLine": {"type": "integer", "minimum": 1},
                        "endLine": {"type": "integer", "minimum": 1},
                    },
                },
            },
        }
    },
}
TEXT = {
    "type": "object",
    "required": ["text"],
    "properties": {"text": {"type": "string", "minLength": 1}},
}
LEVEL = {"enum": ["none", "note", "warning", "error"]}
RULE = {
    "type": "object",
    "required": ["id", "shortDescription", "fullDescription", "help", "defaultConfiguration"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "name": {"type": "string", "maxLength": 255},
        "shortDescription": TEXT,
        "fullDescription": {
            **TEXT,
            "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 1024}},
        },
        "help": TEXT,
        "defaultConfiguration": {
            "type": "object",
            "required": ["level"],
            "properties": {"level": LEVEL},
        },
    },
}
RESULT = {
    "type": "object",
    "required": ["ruleId", "ruleIndex", "level", "message", "partialFingerprints"],
    "properties": {
        "ruleId": {"type": "string", "minLength": 1},
        "ruleIndex": {"type": "integer", "minimum": 0},
        "level": LEVEL,
        "message": TEXT,
        "locations": {"type": "array", "minItems": 1, "maxItems": 10, "items": LOCATION},
        "partialFingerprints": {
            "type": "object",
            "required": [FINGERPRINT_KEY, "primaryLocationLineHash"],
            "properties": {FINGERPRINT_KEY: {"type": "string", "pattern": "^[0-9a-f]{16}$"}},
        },
    },
}
SARIF = {
    "type": "object",
    "required": ["$schema", "version", "runs"],
    "properties": {
        "$schema": {"type": "string", "pattern": "sarif-2\\.1\\.0"},
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "maxItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results", "originalUriBaseIds"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "informationUri", "version", "rules"],
                                "properties": {
                                    "name": {"const": "prbot"},
                                    "informationUri": {"type": "string", "pattern": "^https://"},
                                    "version": {"type": "string", "minLength": 1},
                                    "rules": {"type": "array", "maxItems": 25_000, "items": RULE},
                                },
                            }
                        },
                    },
                    "originalUriBaseIds": {
                        "type": "object",
                        "required": ["%SRCROOT%"],
                        "properties": {"%SRCROOT%": {"type": "object"}},
                    },
                    "results": {"type": "array", "maxItems": 25_000, "items": RESULT},
                },
            },
        },
    },
}


def real_findings() -> list[Finding]:
    diff, skipped = parse_diff(DIFF)
    assert skipped == []
    return builtin_review(diff)


def check(doc: dict) -> None:
    assert schema_errors(doc, SARIF) == []
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        region = res.get("locations", [{}])[0].get("physicalLocation", {}).get("region")
        if region and "endLine" in region:
            assert region["endLine"] >= region["startLine"]
    # It survives a JSON round trip unchanged (no sets, tuples or enums left in it).
    assert json.loads(json.dumps(doc)) == doc


def test_builtin_findings_make_a_valid_log() -> None:
    findings = real_findings()
    rules = {f.rule for f in findings}
    assert {
        "secret/aws-access-key-id",
        "debug/breakpoint",
        "todo-added",
        "merge-conflict-marker",
    } <= rules
    doc = to_sarif(findings, tool_version="0.1.0")
    check(doc)
    run = doc["runs"][0]
    assert run["tool"]["driver"]["version"] == "0.1.0"
    assert run["tool"]["driver"]["semanticVersion"] == "0.1.0"
    assert len(run["results"]) == len(findings)
    by_rule = {r["ruleId"]: r for r in run["results"]}
    secret = by_rule["secret/aws-access-key-id"]
    assert secret["level"] == "error"
    assert secret["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "src/shop/payments.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 2},
    }
    assert by_rule["debug/breakpoint"]["level"] == "warning"
    assert by_rule["todo-added"]["level"] == "note"
    # The file name with a space and '#' is percent-encoded, so '#' cannot start a fragment.
    conflict = by_rule["merge-conflict-marker"]["locations"][0]["physicalLocation"]
    assert conflict["artifactLocation"]["uri"] == "docs/my%20notes%231.md"
    # Builtin rules get their documented summary and severity.
    rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "secret/aws-access-key-id")
    assert rule["defaultConfiguration"]["level"] == "error"
    assert "AWS access key id" in rule["fullDescription"]["text"]


def test_no_raw_secret_anywhere_in_the_log() -> None:
    findings = real_findings()
    assert any(f.rule == "secret/aws-access-key-id" for f in findings)
    text = json.dumps(to_sarif(findings, tool_version="0.1.0"), ensure_ascii=False)
    assert AWS_ID not in text
    assert AWS_ID[4:-4] not in text  # not even the middle of it


def test_fingerprints_are_stable_across_runs_and_lines() -> None:
    first = to_sarif(real_findings(), tool_version="0.1.0")
    second = to_sarif(real_findings(), tool_version="0.1.0")
    assert first == second
    # Moving the finding down (unrelated lines added above) keeps its fingerprint.
    f = Finding("a.py", 10, Severity.WARNING, "debug/breakpoint", "m", anchor="breakpoint()")
    moved = Finding("a.py", 30, Severity.WARNING, "debug/breakpoint", "m", anchor="breakpoint()")

    def fp(doc: dict) -> dict:
        return doc["runs"][0]["results"][0]["partialFingerprints"]

    assert fp(to_sarif([f], tool_version="1")) == fp(to_sarif([moved], tool_version="1"))
    other = Finding("a.py", 10, Severity.WARNING, "debug/breakpoint", "m", anchor="pdb.set_trace()")
    assert fp(to_sarif([f], tool_version="1")) != fp(to_sarif([other], tool_version="1"))


def test_repeated_text_gets_distinct_line_hashes_and_exact_duplicates_go() -> None:
    a = Finding("a.py", 3, Severity.INFO, "debug/print", "print", anchor="print(x)")
    b = Finding("a.py", 9, Severity.INFO, "debug/print", "print", anchor="print(x)")
    results = to_sarif([a, b, a], tool_version="1")["runs"][0]["results"]
    assert len(results) == 2
    hashes = [r["partialFingerprints"]["primaryLocationLineHash"] for r in results]
    assert hashes == [f"{a.fingerprint}:1", f"{a.fingerprint}:2"]
    assert {r["partialFingerprints"][FINGERPRINT_KEY] for r in results} == {a.fingerprint}


def test_locations_for_file_level_change_level_and_ranges() -> None:
    findings = [
        Finding("big.py", None, Severity.WARNING, "large-file", "New file adds 900 lines."),
        Finding("", None, Severity.INFO, "missing-tests", "No test changed."),
        Finding("r.py", 4, Severity.ERROR, "model/bug", "Off by one.", end_line=7),
        Finding("r.py", 4, Severity.ERROR, "model/bug", "Backwards.", end_line=2),
        Finding("z.py", 0, Severity.INFO, "model/x", "Line zero is not a line."),
    ]
    doc = to_sarif(findings, tool_version="0.1.0")
    check(doc)
    results = doc["runs"][0]["results"]
    assert results[0]["locations"] == [
        {"physicalLocation": {"artifactLocation": {"uri": "big.py", "uriBaseId": "%SRCROOT%"}}}
    ]
    assert "locations" not in results[1]
    assert results[2]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 4,
        "endLine": 7,
    }
    assert results[3]["locations"][0]["physicalLocation"]["region"] == {"startLine": 4}
    assert "region" not in results[4]["locations"][0]["physicalLocation"]


def test_unknown_rules_and_empty_strings_never_reach_the_log() -> None:
    findings = [
        Finding("a.py", 1, Severity.ERROR, "", "", source="openai/gpt-4o-mini"),
        Finding(
            "a.py", 2, Severity.WARNING, "model/naming", "Vague name.", source="openai/gpt-4o-mini"
        ),
    ]
    doc = to_sarif(findings, tool_version="")
    check(doc)
    run = doc["runs"][0]
    assert "semanticVersion" not in run["tool"]["driver"]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["model/naming", "unknown"]
    assert run["results"][0]["message"]["text"] == "unknown"
    assert run["results"][0]["properties"]["source"] == "openai/gpt-4o-mini"
    # A rule table passed in wins over the fallback description.
    custom = {"model/naming": RuleInfo("model/naming", Severity.INFO, "Names should say what.")}
    rules = to_sarif(findings, tool_version="1", rules=custom)["runs"][0]["tool"]["driver"]["rules"]
    naming = next(r for r in rules if r["id"] == "model/naming")
    assert naming["shortDescription"]["text"] == "Names should say what."
    assert naming["defaultConfiguration"]["level"] == "note"


def test_no_findings_is_a_valid_empty_run() -> None:
    doc = to_sarif([], tool_version="0.1.0")
    check(doc)
    assert doc["runs"][0]["results"] == []
    assert doc["runs"][0]["tool"]["driver"]["rules"] == []
    assert "invocations" not in doc["runs"][0]


def test_results_above_the_limit_keep_the_most_severe_and_say_so() -> None:
    findings = [
        Finding(f"f{i}.py", 1, Severity.INFO, "todo-added", f"todo {i}")
        for i in range(MAX_RESULTS_PER_RUN)
    ]
    findings.insert(500, Finding("x.py", 1, Severity.ERROR, "merge-conflict-marker", "conflict"))
    doc = to_sarif(findings, tool_version="0.1.0")
    run = doc["runs"][0]
    assert len(run["results"]) == MAX_RESULTS_PER_RUN
    assert run["results"][500]["ruleId"] == "merge-conflict-marker"  # kept, in place
    assert run["results"][-1]["message"]["text"] == f"todo {MAX_RESULTS_PER_RUN - 2}"
    note = run["invocations"][0]["toolExecutionNotifications"][0]
    assert note["level"] == "warning"
    assert note["message"]["text"].startswith(f"1 of {MAX_RESULTS_PER_RUN + 1} findings")
    small = to_sarif(findings[:10], tool_version="1", max_results=3)["runs"][0]
    assert [r["message"]["text"] for r in small["results"]] == ["todo 0", "todo 1", "todo 2"]
    assert small["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"].startswith(
        "7 of 10 findings"
    )


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("src/a.py", "src/a.py"),
        ("./src/a.py", "src/a.py"),
        ("/abs/a.py", "abs/a.py"),
        ("win\\dir\\a.py", "win/dir/a.py"),
        ("a b/c?d#e%f.py", "a%20b/c%3Fd%23e%25f.py"),
        ("ünï/ç.py", "%C3%BCn%C3%AF/%C3%A7.py"),
        ("", ""),
        (".", ""),
    ],
)
def test_artifact_uri(path: str, uri: str) -> None:
    assert artifact_uri(path) == uri


def test_base_uri() -> None:
    def srcroot(base: str | None) -> dict:
        return to_sarif([], tool_version="1", base_uri=base)["runs"][0]["originalUriBaseIds"][
            "%SRCROOT%"
        ]

    assert srcroot("file:///builds/group/project") == {"uri": "file:///builds/group/project/"}
    assert srcroot("/builds/my project") == {"uri": "file:///builds/my%20project/"}
    assert "uri" not in srcroot(None)
    with pytest.raises(ValueError, match="absolute"):
        to_sarif([], tool_version="1", base_uri="relative/dir")
