"""Findings as a SARIF 2.1.0 log, the format code-scanning tools (GitHub code scanning) ingest.

The document is built to pass GitHub's upload checks, which are stricter than the SARIF schema:
every rule carries ``shortDescription``, ``fullDescription`` and ``help`` texts, no required string
is empty, URIs are repository-relative (resolved against ``%SRCROOT%``), and every result has a
``partialFingerprints`` entry. GitHub only de-duplicates alerts across API uploads on
``primaryLocationLineHash``, so that key carries our line-independent finding fingerprint too
(with an occurrence counter, like GitHub's own hashes), next to the versioned
``prbotFindingHash/v1`` key that other consumers can rely on.

Findings without a line get a file-level location (no ``region``); findings without a path (about
the whole change) get no location at all. Above 25,000 results per run GitHub rejects the whole
file, so the most severe results are kept and a run-level notification says how many were left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from prbot.models import Finding, Severity
from prbot.review.builtin import RULES as BUILTIN_RULES
from prbot.review.builtin import RuleInfo

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://github.com/prbot-dev/prbot"
#: GitHub rejects a run with more results than this.
MAX_RESULTS_PER_RUN = 25_000
#: Versioned, so a change to how fingerprints are computed can get a new key.
FINGERPRINT_KEY = "prbotFindingHash/v1"
SRCROOT = "%SRCROOT%"

LEVELS: dict[Severity, str] = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "note",
}

_MAX_NAME = 255
_MAX_FULL_DESCRIPTION = 1024
# RFC 3986 path characters that need no escaping (unreserved, sub-delims, ":", "@", "/").
_URI_SAFE = "/-._~!$&'()*+,;=:@"
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$")
UNKNOWN_RULE = "unknown"


def to_sarif(
    findings: Sequence[Finding],
    *,
    tool_version: str,
    rules: Mapping[str, RuleInfo] | None = None,
    base_uri: str | None = None,
    max_results: int = MAX_RESULTS_PER_RUN,
) -> dict[str, Any]:
    """One SARIF log with one ``prbot`` run holding ``findings``.

    ``rules`` describes rule ids (the builtin reviewer's table is always consulted after it);
    ids nobody describes, such as a model's, get a description made from the id. ``base_uri``
    (an absolute URI or absolute path of the checkout) tells consumers where ``%SRCROOT%`` is.
    Exact duplicates (same fingerprint on the same lines) are reported once.
    """
    known: dict[str, RuleInfo] = {**BUILTIN_RULES, **(rules or {})}
    unique = _dedupe(findings)
    kept = _most_severe(unique, max(0, max_results))
    dropped = len(unique) - len(kept)

    rule_ids = sorted({_rule_id(f) for f in kept})
    index = {rid: i for i, rid in enumerate(rule_ids)}
    first_level = {}
    for f in kept:
        first_level.setdefault(_rule_id(f), LEVELS[f.severity])
    driver: dict[str, Any] = {
        "name": "prbot",
        "informationUri": INFORMATION_URI,
        "version": tool_version or "0",
        "rules": [_rule(rid, known.get(rid), first_level[rid]) for rid in rule_ids],
    }
    if _SEMVER.match(tool_version or ""):
        driver["semanticVersion"] = tool_version

    occurrences: dict[str, int] = {}
    results = []
    for f in kept:
        fp = f.fingerprint
        occurrences[fp] = occurrences.get(fp, 0) + 1
        results.append(_result(f, index[_rule_id(f)], occurrences[fp]))

    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "automationDetails": {"id": "prbot/"},
        "originalUriBaseIds": {SRCROOT: _srcroot(base_uri)},
        "columnKind": "utf16CodeUnits",
        "results": results,
    }
    if dropped:
        run["invocations"] = [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {
                        "level": "warning",
                        "descriptor": {"id": "prbot/results-truncated"},
                        "message": {
                            "text": (
                                f"{dropped} of {len(unique)} findings were left out: a SARIF run "
                                f"holds at most {max_results} results (the most severe are kept)."
                            )
                        },
                    }
                ],
            }
        ]
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def write_sarif(path: Path | str, doc: Mapping[str, Any]) -> Path:
    """Write ``doc`` atomically: a reader (an upload step) never sees half a file."""
    from prbot.reports import write_json_atomic

    return write_json_atomic(Path(path), doc)


# --- pieces -------------------------------------------------------------------------------------


def _rule_id(f: Finding) -> str:
    return f.rule.strip() or UNKNOWN_RULE


def _dedupe(findings: Sequence[Finding]) -> list[Finding]:
    seen: set[tuple[str, str, int | None, int | None]] = set()
    out = []
    for f in findings:
        key = (f.fingerprint, f.path, _line(f), _end_line(f))
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _most_severe(findings: list[Finding], limit: int) -> list[Finding]:
    """The ``limit`` most severe findings, in their original order (ties: earlier first)."""
    if len(findings) <= limit:
        return findings
    ranked = sorted(range(len(findings)), key=lambda i: (-findings[i].severity.rank, i))
    return [findings[i] for i in sorted(ranked[:limit])]


def _line(f: Finding) -> int | None:
    return f.line if f.line is not None and f.line >= 1 else None


def _end_line(f: Finding) -> int | None:
    start = _line(f)
    if start is None or f.end_line is None or f.end_line <= start:
        return None
    return f.end_line


def _rule(rid: str, info: RuleInfo | None, fallback_level: str) -> dict[str, Any]:
    if info is not None and info.summary.strip():
        text = info.summary.strip()
        level = LEVELS[info.severity]
        help_text = f"{text} See the prbot documentation of rule {rid}."
    else:
        text = f"prbot finding: {rid}"
        level = fallback_level
        help_text = f"Reported by prbot under the rule id {rid}."
    return {
        "id": rid,
        "name": rid[:_MAX_NAME],
        "shortDescription": {"text": _first_sentence(text)},
        "fullDescription": {"text": _clip(text, _MAX_FULL_DESCRIPTION)},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": level},
    }


def _result(f: Finding, rule_index: int, occurrence: int) -> dict[str, Any]:
    fp = f.fingerprint
    res: dict[str, Any] = {
        "ruleId": _rule_id(f),
        "ruleIndex": rule_index,
        "level": LEVELS[f.severity],
        "message": {"text": f.message.strip() or _rule_id(f)},
        "partialFingerprints": {
            FINGERPRINT_KEY: fp,
            "primaryLocationLineHash": f"{fp}:{occurrence}",
        },
    }
    uri = artifact_uri(f.path)
    if uri:
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": SRCROOT}}
        start = _line(f)
        if start is not None:
            region: dict[str, int] = {"startLine": start}
            end = _end_line(f)
            if end is not None:
                region["endLine"] = end
            physical["region"] = region
        res["locations"] = [{"physicalLocation": physical}]
    props: dict[str, str] = {"source": f.source, "severity": f.severity.value}
    if f.suggestion:
        props["suggestion"] = f.suggestion
    res["properties"] = props
    return res


def artifact_uri(path: str) -> str:
    """A repository-relative URI reference for ``path`` ("" when there is no usable path).

    Backslashes become slashes, leading ``./`` and ``/`` go (URIs are relative to ``%SRCROOT%``),
    and everything outside RFC 3986's path characters is percent-encoded (spaces, ``#``, ``?``,
    ``%``, non-ASCII), so a file name can never change the meaning of the URI.
    """
    p = path.replace("\\", "/").strip()
    while p.startswith("./"):
        p = p[2:]
    p = p.lstrip("/")
    if p in ("", "."):
        return ""
    return quote(p, safe=_URI_SAFE)


def _srcroot(base_uri: str | None) -> dict[str, Any]:
    if base_uri is None:
        return {"description": {"text": "The root of the repository checkout."}}
    uri = base_uri.strip()
    if "://" not in uri and not uri.startswith("file:"):
        p = PurePosixPath(uri.replace("\\", "/"))
        if not p.is_absolute():
            raise ValueError(f"base_uri must be an absolute URI or path, got {base_uri!r}")
        uri = p.as_uri()
    if not uri.endswith("/"):
        uri += "/"
    return {"uri": uri}


def _first_sentence(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return _clip(line, 200)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
