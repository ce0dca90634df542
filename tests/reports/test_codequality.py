"""GitLab Code Quality output: required fields, severities, unique and stable fingerprints."""

from __future__ import annotations

import json

from prbot.models import Finding, Severity
from prbot.reports.codequality import report_path, to_codequality
from tests.reports import schema_errors
from tests.reports.test_sarif import AWS_ID, real_findings

# GitLab's documented required fields (platform reference, Code Quality report).
ISSUE = {
    "type": "object",
    "required": ["description", "check_name", "fingerprint", "severity", "location"],
    "properties": {
        "description": {"type": "string", "minLength": 1},
        "check_name": {"type": "string", "minLength": 1},
        "fingerprint": {"type": "string", "minLength": 1},
        "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
        "location": {
            "type": "object",
            "required": ["path", "lines"],
            "properties": {
                "path": {"type": "string", "minLength": 1, "pattern": r"^(?!\./)(?!/)"},
                "lines": {
                    "type": "object",
                    "required": ["begin"],
                    "properties": {
                        "begin": {"type": "integer", "minimum": 1},
                        "end": {"type": "integer", "minimum": 1},
                    },
                },
            },
        },
    },
}
REPORT = {"type": "array", "items": ISSUE}


def test_builtin_findings_make_a_valid_report() -> None:
    findings = real_findings()
    items = to_codequality(findings)
    assert schema_errors(items, REPORT) == []
    assert len(items) == len(findings)
    secret = next(i for i in items if i["check_name"] == "secret/aws-access-key-id")
    assert secret["severity"] == "critical"
    assert secret["location"] == {"path": "src/shop/payments.py", "lines": {"begin": 2}}
    assert next(i for i in items if i["check_name"] == "debug/breakpoint")["severity"] == "major"
    assert next(i for i in items if i["check_name"] == "todo-added")["severity"] == "info"
    # The path is the plain repository path (GitLab matches it to the diff), not a URI.
    conflict = next(i for i in items if i["check_name"] == "merge-conflict-marker")
    assert conflict["location"]["path"] == "docs/my notes#1.md"
    assert {i["fingerprint"] for i in items} == {f.fingerprint for f in findings}


def test_no_raw_secret_in_the_report() -> None:
    text = json.dumps(to_codequality(real_findings()), ensure_ascii=False)
    assert "secret/aws-access-key-id" in text
    assert AWS_ID not in text
    assert AWS_ID[4:-4] not in text


def test_fingerprints_are_stable_and_unique() -> None:
    assert to_codequality(real_findings()) == to_codequality(real_findings())
    a = Finding("a.py", 3, Severity.INFO, "debug/print", "print", anchor="print(x)")
    moved = Finding("a.py", 40, Severity.INFO, "debug/print", "print", anchor="print(x)")
    b = Finding("a.py", 9, Severity.INFO, "debug/print", "print", anchor="print(x)")
    c = Finding("b.py", 9, Severity.INFO, "debug/print", "print", anchor="print(x)")
    # A line number change alone keeps the fingerprint (GitLab then shows no new/fixed issue).
    assert to_codequality([a])[0]["fingerprint"] == to_codequality([moved])[0]["fingerprint"]
    items = to_codequality([a, b, a, c, b])
    assert len(items) == 3  # the exact duplicates went
    fps = [i["fingerprint"] for i in items]
    assert len(set(fps)) == 3
    assert fps[:2] == [a.fingerprint, f"{a.fingerprint}-2"]
    assert fps[2] == c.fingerprint != a.fingerprint


def test_change_level_file_level_and_odd_findings() -> None:
    findings = [
        Finding("", None, Severity.INFO, "missing-tests", "Sources changed, tests did not."),
        Finding("big.json", None, Severity.WARNING, "large-file", "Big."),
        Finding("./x/y.py", 5, Severity.ERROR, "model/bug", "Range.", end_line=8),
        Finding("/x/z.py", 0, Severity.ERROR, "", "   "),
        Finding("w\\v.py", 2, Severity.WARNING, "model/bug", "Backwards.", end_line=1),
    ]
    items = to_codequality(findings)
    assert schema_errors(items, REPORT) == []
    assert items[0]["location"] == {"path": ".", "lines": {"begin": 1}}
    assert items[1]["location"] == {"path": "big.json", "lines": {"begin": 1}}
    assert items[2]["location"] == {"path": "x/y.py", "lines": {"begin": 5, "end": 8}}
    assert items[3]["location"] == {"path": "x/z.py", "lines": {"begin": 1}}
    assert items[3]["check_name"] == "unknown" == items[3]["description"]
    assert items[4]["location"] == {"path": "w/v.py", "lines": {"begin": 2}}


def test_empty_is_an_empty_array() -> None:
    assert to_codequality([]) == []


def test_report_path() -> None:
    assert report_path("././a/b.py") == "a/b.py"
    assert report_path("//a") == "a"
    assert report_path("") == "."
    assert report_path("/") == "."
