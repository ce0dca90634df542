"""Bitbucket build status + Code Insights report, commit statuses, and the file-by-file diff.

A build status is what merge checks and the PR page show as pass/fail; it carries no lines. The
Code Insights report next to it carries the findings as annotations on lines. Both are keyed
(status ``key``, report id, annotation ``external_id``) so a re-run replaces instead of adding:
the report is a ``PUT``, annotations are upserted by ``external_id``.

Annotations are posted 100 per request and at most 1,000 per report (Bitbucket's limits); the most
severe are kept when there are more, and the report says how many were left out.

``external_id`` is a hash of the annotation's place and text: :class:`~prbot.platforms.base.Annotation`
carries no fingerprint, and the hash is stable across runs for the same finding at the same place.
Annotations of an earlier run on the same commit that are no longer found stay until a new commit:
the documented API has no cheap way to list and prune them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx

from prbot.http import ApiClient, HttpStatusError
from prbot.platforms.base import (
    Annotation,
    CheckConclusion,
    CheckReport,
    ChecksState,
    PullRequest,
    WriteResult,
)
from prbot.platforms.writes import short

if TYPE_CHECKING:
    from prbot.platforms.bitbucket import BitbucketPlatform

ANNOTATIONS_PER_REQUEST = 100
ANNOTATIONS_PER_REPORT = 1000
MAX_DIFF_FILES = 300
_STATE = {CheckConclusion.SUCCESS: "SUCCESSFUL", CheckConclusion.FAILURE: "FAILED",
          CheckConclusion.NEUTRAL: "SUCCESSFUL"}  # fmt: skip
_RESULT = {CheckConclusion.SUCCESS: "PASSED", CheckConclusion.FAILURE: "FAILED",
           CheckConclusion.NEUTRAL: "PASSED"}  # fmt: skip
_SEVERITY = {
    "failure": "HIGH",
    "error": "HIGH",
    "warning": "MEDIUM",
    "notice": "LOW",
    "info": "LOW",
}
_RANK = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3}
_SECURITY = re.compile(r"secret|security|vuln|inject|xss|csrf|credential|crypto", re.I)
_MARKERS = re.compile(r"<!-- prbot:[^>]*-->\n?")
_STATUS_OK = {"SUCCESSFUL"}
_STATUS_BAD = {"FAILED", "STOPPED"}


def _slug(text: str, limit: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].strip("-") or "prbot"


def report_id(name: str) -> str:
    """Report ids are unique per commit across tools: prefix with ours."""
    slug = _slug(name, 40)
    if slug == "prbot":
        return "prbot-review"
    return slug if slug.startswith("prbot-") else f"prbot-{slug}"[:50]


def annotation_json(a: Annotation) -> dict[str, Any]:
    level = a.level.lower()
    vulnerable = bool(_SECURITY.search(a.title))
    kind = (
        "VULNERABILITY" if vulnerable else "BUG" if level in ("failure", "error") else "CODE_SMELL"
    )
    severity = _SEVERITY.get(level, "MEDIUM")
    if vulnerable and severity == "HIGH":
        severity = "CRITICAL"
    place = "\x00".join([a.path, str(a.start_line), str(a.end_line), a.title, a.message])
    item: dict[str, Any] = {
        "external_id": "prbot-" + hashlib.sha256(place.encode("utf-8", "replace")).hexdigest()[:32],
        "annotation_type": kind,
        "severity": severity,
        "path": a.path,
        "line": max(1, a.start_line),
        "summary": short(f"{a.title}: {a.message}" if a.title else a.message, 450) or "finding",
        "details": a.message[:2000],
    }
    if level in ("failure", "error"):
        item["result"] = "FAILED"
    return item


def _details(report: CheckReport) -> str:
    text = _MARKERS.sub("", report.text or report.summary or report.title).strip()
    return text if len(text) <= 2000 else text[:1999] + "…"


def set_check(p: BitbucketPlatform, pr: PullRequest, report: CheckReport) -> WriteResult:
    """Build status (pass/fail) and the Code Insights report with annotations, on the full head hash."""
    client: ApiClient = p._client
    start = client.calls
    sha = p.full_sha(report.head_sha or pr.head_sha)
    commit = f"{p._base}/commit/{sha}"
    key = _slug(report.name or "prbot", 40)
    status: dict[str, Any] = {
        "key": key,
        "state": _STATE.get(report.conclusion, "FAILED"),
        "name": report.name or "prbot",
        "description": short(report.title or report.name or "prbot", 255),
    }
    url = report.details_url or pr.url
    if url:
        status["url"] = url
    if pr.head_ref:
        status["refname"] = pr.head_ref
    # Same key overwrites: repeating the POST is harmless.
    resp = p._req("POST", f"{commit}/statuses/build", json=status, idempotent=True, ok={200, 201})
    done = f"build status {key!r} = {status['state']}"
    ids = (key,)

    unique: dict[str, dict[str, Any]] = {}
    for a in report.annotations:
        item = annotation_json(a)
        unique.setdefault(item["external_id"], item)
    ranked = sorted(unique.values(), key=lambda i: _RANK.get(i["severity"], 9))
    anns, dropped = ranked[:ANNOTATIONS_PER_REPORT], max(0, len(ranked) - ANNOTATIONS_PER_REPORT)
    rid = report_id(report.name or "prbot")
    body: dict[str, Any] = {
        "title": short(report.title or report.name or "prbot", 255),
        "details": _details(report),
        "report_type": "BUG",
        "reporter": "prbot",
        "result": _RESULT.get(report.conclusion, "FAILED"),
        "data": _data(anns, dropped, p.recorded_labels),
    }
    if report.details_url:
        body["link"] = report.details_url
    sent = 0
    try:
        p._req("PUT", f"{commit}/reports/{rid}", json=body, ok={200, 201})
        for i in range(0, len(anns), ANNOTATIONS_PER_REQUEST):
            batch = anns[i : i + ANNOTATIONS_PER_REQUEST]
            # Upserted by external_id: a retried bulk does not duplicate anything.
            p._req(
                "POST", f"{commit}/reports/{rid}/annotations", json=batch, idempotent=True, ok={200}
            )
            sent += len(batch)
    except HttpStatusError as exc:
        if exc.status not in (400, 403, 404, 409):
            raise
        return WriteResult(
            "check", ok=False, status=exc.status, ids=ids,
            detail=f"{done}; Code Insights report {rid!r} refused after {sent} annotation(s): "
            f"{exc.message}",
            api_calls=client.calls - start,
        )  # fmt: skip
    detail = f"{done}; Code Insights report {rid!r} with {sent} annotation(s)"
    if dropped:
        detail += (
            f"; {dropped} more not shown (Bitbucket keeps {ANNOTATIONS_PER_REPORT} per report)"
        )
    return WriteResult(
        "check", ok=True, status=resp.status_code, ids=(*ids, rid), detail=detail,
        api_calls=client.calls - start,
    )  # fmt: skip


def _data(anns: Sequence[dict[str, Any]], dropped: int, labels: Sequence[str]) -> list[Any]:
    blocking = sum(1 for a in anns if a.get("result") == "FAILED")
    data: list[dict[str, Any]] = [
        {"title": "Findings", "type": "NUMBER", "value": len(anns) + dropped},
        {"title": "Blocking", "type": "NUMBER", "value": blocking},
    ]
    if dropped:
        data.append({"title": "Not shown", "type": "NUMBER", "value": dropped})
    if labels:
        data.append({"title": "Labels", "type": "TEXT", "value": short(", ".join(labels), 255)})
    return data


def checks_state(p: BitbucketPlatform, sha: str) -> ChecksState:
    """Commit statuses of ``sha`` sorted into success / failure / pending names."""
    ok: set[str] = set()
    bad: set[str] = set()
    pending: set[str] = set()
    for st in p._all(f"{p._base}/commit/{sha}/statuses"):
        if not isinstance(st, dict):
            continue
        name = str(st.get("name") or st.get("key") or "")
        state = str(st.get("state") or "")
        (ok if state in _STATUS_OK else bad if state in _STATUS_BAD else pending).add(name)
    return ChecksState(success=frozenset(ok), failure=frozenset(bad), pending=frozenset(pending))


def per_file_diff(client: ApiClient, spec_url: str, stat: Sequence[Any]) -> bytes:
    """The PR diff rebuilt one file at a time, after Bitbucket answered 555 (too large) for all.

    A file that is itself too large (or past the first ``MAX_DIFF_FILES``) becomes a
    ``Binary files … differ`` entry, which the parser reports as skipped, so nothing vanishes.
    """
    origin = httpx.URL(client.base_url).host
    if httpx.URL(spec_url).host not in ("", origin):
        raise HttpStatusError(
            "the diff redirect points to another host", status=555, url=spec_url, method="GET"
        )
    spec = httpx.URL(spec_url)
    url = str(spec.copy_with(query=None))
    own = {k: spec.params.get_list(k) for k in spec.params}  # topic, from_pullrequest_id
    out: list[bytes] = []
    for n, item in enumerate(stat):
        if not isinstance(item, dict):
            continue
        old = (item.get("old") or {}).get("path") if isinstance(item.get("old"), dict) else None
        new = (item.get("new") or {}).get("path") if isinstance(item.get("new"), dict) else None
        paths = [x for x in dict.fromkeys([old, new]) if x]
        if not paths:
            continue
        if n < MAX_DIFF_FILES:
            query = {**own, "path": paths}
            resp = client.request("GET", url, params=query, ok={200, 555})
            if resp.status_code == 200 and resp.content.strip():
                out.append(resp.content if resp.content.endswith(b"\n") else resp.content + b"\n")
                continue
        a, b = old or new, new or old
        a_side = f"a/{a}" if old else "/dev/null"
        b_side = f"b/{b}" if new else "/dev/null"
        out.append(f"diff --git a/{a} b/{b}\nBinary files {a_side} and {b_side} differ\n".encode())
    return b"".join(out)
