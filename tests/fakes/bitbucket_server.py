"""A stateful fake Bitbucket Cloud REST 2.0 API on loopback, with the documented shapes.

The Bitbucket adapter is tested over real HTTP against this server, so what is checked is what it
really sends: auth headers (Bearer and Basic), JSON bodies, ``values``/``next`` pagination, the
PR diff's 302 redirect, error bodies ``{"type": "error", "error": {"message": …}}``. It validates
where prbot's correctness depends on it: inline comments must be on a line of the stored diff,
statuses and reports need a full commit hash, reports take ≤ 10 data items and annotations come
1–100 per request and ≤ 1,000 per report (upserted by ``external_id``), one cannot approve one's own
PR, PUT on a PR replaces its reviewers. Faults (status + headers for the next N requests to a path,
optionally after the write was applied) script 429s, 5xx and lost responses.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pytest

from tests.fakes._server import FakeForgeServer
from tests.fakes._server import Fault as Fault
from tests.fakes._server import Recorded as Recorded
from tests.fakes._server import Result as Result

TOKEN = "bbat_faketoken0123456789abcdef"
USERNAME = "ci-robot"
APP_PASSWORD = "app-pw-0123456789"
NOW = "2024-05-01T12:00:00.000000+00:00"
HEAD = "1a2b3c4d5e6f" + "7" * 28
BASE = "9f8e7d6c5b4a" + "3" * 28


def user(nick: str, n: int) -> dict[str, Any]:
    return {
        "type": "user",
        "uuid": f"{{{n:08d}-0000-4000-8000-000000000000}}",
        "account_id": f"557058:{nick}",
        "display_name": nick.title(),
        "nickname": nick,
    }


BOT = user("prbot-bot", 1)
ALICE = user("alice", 2)
BOB = user("bob", 3)
CAROL = user("carol", 4)

SAMPLE_DIFF = """\
diff --git a/src/app.py b/src/app.py
index 1111111..2222222 100644
--- a/src/app.py
+++ b/src/app.py
@@ -1,4 +1,6 @@
 import os
+import sys
 CONSTANT = 1
 def main():
-    pass
+    print(sys.argv)
+    return 0
@@ -20,3 +22,4 @@ def helper():
     a = 1
     b = 2
+    c = 3
     return a + b
diff --git a/assets/logo.png b/assets/brand/logo.png
similarity index 88%
rename from assets/logo.png
rename to assets/brand/logo.png
index 4444444..5555555 100644
Binary files a/assets/logo.png and b/assets/brand/logo.png differ
"""


@dataclass
class FakePR:
    id: int
    title: str = "Add feature"
    description: str = "This PR adds a feature."
    author: dict[str, Any] = field(default_factory=lambda: dict(ALICE))
    source_branch: str = "feature/x"
    dest_branch: str = "main"
    head: str = HEAD
    base: str = BASE
    source_repo: str = ""  # "" = the destination repository itself
    state: str = "OPEN"
    draft: bool = False
    diff: str = SAMPLE_DIFF
    diff_too_large: bool = False
    huge_files: set[str] = field(default_factory=set)
    reviewers: list[dict[str, Any]] = field(default_factory=list)
    participants: list[dict[str, Any]] = field(default_factory=list)
    close_source_branch: bool = False
    merge_commit: str | None = None
    merge_mode: str = "sync"  # sync | async | timeout (merged, answer 555) | timeout-fail
    merge_conflict: bool = False
    task_polls: int = 2


def error(status: int, message: str, **extra: Any) -> Result:
    return status, {"type": "error", "error": {"message": message, **extra}}, {}


def file_chunks(diff: str) -> list[tuple[str | None, str | None, str]]:
    """(old path, new path, text) of each file in a unified diff (``None`` = missing side)."""
    out = []
    for chunk in re.split(r"(?m)^(?=diff --git )", diff):
        m = re.match(r"diff --git a/(.+) b/(.+)", chunk)
        if not m:
            continue
        old, new = m.group(1), m.group(2)
        if "\nnew file mode" in chunk:
            old = None
        if "\ndeleted file mode" in chunk:
            new = None
        out.append((old, new, chunk))
    return out


def commentable(text: str) -> tuple[set[int], set[int]]:
    """New-side (``to``) and old-side (``from``) lines of one file's hunks."""
    new_lines: set[int] = set()
    old_lines: set[int] = set()
    old = new = 0
    in_hunk = False
    for line in text.split("\n"):
        m = re.match(r"@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@", line)
        if m:
            old, new, in_hunk = int(m.group(1)), int(m.group(2)), True
        elif not in_hunk or line.startswith("\\") or line.startswith(("---", "+++")):
            continue
        elif line.startswith("+"):
            new_lines.add(new)
            new += 1
        elif line.startswith("-"):
            old_lines.add(old)
            old += 1
        elif line.startswith(" "):
            new_lines.add(new)
            old_lines.add(old)
            old, new = old + 1, new + 1
    return new_lines, old_lines


class FakeBitbucket(FakeForgeServer):
    """The server object the ``fake_bitbucket`` fixture yields; all state is public for assertions."""

    default_headers: ClassVar[dict[str, str]] = {
        "X-RateLimit-Limit": "1000",
        "X-RateLimit-Resource": "api-repo",
    }

    def __init__(self, repo: str = "acme/widgets") -> None:
        super().__init__(first_id=100)
        self.repo = repo
        self.tokens: dict[str, dict[str, Any]] = {TOKEN: BOT}
        self.passwords: dict[tuple[str, str], dict[str, Any]] = {(USERNAME, APP_PASSWORD): BOT}
        self.users = {u["account_id"]: u for u in (BOT, ALICE, BOB, CAROL)}
        self.prs: dict[int, FakePR] = {}
        self.commits: set[str] = {HEAD, BASE}
        self.comments: list[dict[str, Any]] = []
        self.statuses: dict[tuple[str, str], dict[str, Any]] = {}
        self.reports: dict[tuple[str, str], dict[str, Any]] = {}
        self.annotations: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self.files: dict[tuple[str, str], bytes] = {}
        self.tasks: dict[str, int] = {}
        self.fast_forward_allowed = True
        self._routes = self._route_table()
        self.api_url = f"{self.origin}/2.0"

    # -- scripting --------------------------------------------------------------------------------
    def add_pr(self, pr_id: int = 1, **kw: Any) -> FakePR:
        pr = FakePR(id=pr_id, **kw)
        self.prs[pr_id] = pr
        self.commits.update({pr.head, pr.base})
        return pr

    def default_fault_body(self, status: int) -> Any:
        return {"type": "error", "error": {"message": f"scripted {status}"}}

    # -- dispatch ---------------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: dict[str, str], raw: bytes) -> Result:
        parts = urlsplit(raw_path)
        path = parts.path
        query = parse_qs(parts.query)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return error(400, "Request body is not valid JSON")
        return self.record_and_route(
            method, path, query, headers, body,
            lambda: self._route(method, path, query, headers, body),
        )  # fmt: skip

    def _who(self, auth: str) -> dict[str, Any] | None:
        scheme, _, cred = auth.partition(" ")
        if scheme.lower() == "bearer":
            return self.tokens.get(cred)
        if scheme.lower() == "basic":
            try:
                name, _, pw = base64.b64decode(cred, validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return self.passwords.get((name, pw))
        return None

    def _route(
        self, method: str, path: str, q: dict[str, list[str]], headers: dict[str, str], body: Any
    ) -> Result:
        for verb, pattern, fn in self._routes:
            m = re.fullmatch(pattern, path)
            if verb != method or not m:
                continue
            who = self._who(headers.get("authorization", ""))
            if who is None:
                return error(401, "Access token expired or invalid credentials")
            g = {k: unquote(v) for k, v in m.groupdict().items()}
            if g.get("ws") and f"{g['ws']}/{g['slug']}" != self.repo:
                return error(404, "Repository not found")
            with self._lock:
                return fn(who, g, q, body)
        return error(404, "Resource not found")

    def _route_table(self) -> list[tuple[str, str, Callable[..., Result]]]:
        r = self
        repo = r"/2\.0/repositories/(?P<ws>[^/]+)/(?P<slug>[^/]+)"
        pr = repo + r"/pullrequests/(?P<n>\d+)"
        commit = repo + r"/commit/(?P<sha>[0-9a-f]+)"
        report = commit + r"/reports/(?P<rid>[^/]+)"
        return [
            ("GET", repo + r"/pullrequests", r.list_prs),
            ("GET", pr, r.get_pr),
            ("PUT", pr, r.put_pr),
            ("GET", pr + r"/diff", r.pr_diff_redirect),
            ("GET", pr + r"/diffstat", r.pr_diffstat_redirect),
            ("GET", repo + r"/diff/(?P<spec>[^/]+)", r.get_diff),
            ("GET", repo + r"/diffstat/(?P<spec>[^/]+)", r.get_diffstat),
            ("GET", pr + r"/comments", r.list_comments),
            ("POST", pr + r"/comments", r.post_comment),
            ("PUT", pr + r"/comments/(?P<cid>\d+)", r.put_comment),
            ("POST", pr + r"/approve", r.approve),
            ("POST", pr + r"/request-changes", r.request_changes),
            ("POST", pr + r"/merge", r.merge),
            ("GET", pr + r"/merge/task-status/(?P<task>[^/]+)", r.task_status),
            ("GET", commit, r.get_commit),
            ("POST", commit + r"/statuses/build", r.post_status),
            ("GET", commit + r"/statuses", r.list_statuses),
            ("PUT", report, r.put_report),
            ("POST", report + r"/annotations", r.post_annotations),
            ("GET", repo + r"/src/(?P<ref>[^/]+)/(?P<path>.+)", r.get_src),
        ]

    # -- helpers ----------------------------------------------------------------------------------
    def _pr(self, g: dict[str, str]) -> FakePR | None:
        return self.prs.get(int(g["n"]))

    def _repo_json(self, full: str) -> dict[str, Any]:
        return {"type": "repository", "full_name": full, "name": full.split("/")[-1]}

    def pr_json(self, pr: FakePR, *, full: bool = True) -> dict[str, Any]:
        html = f"https://bitbucket.example/{self.repo}/pull-requests/{pr.id}"
        data: dict[str, Any] = {
            "type": "pullrequest",
            "id": pr.id,
            "title": pr.title,
            "description": pr.description,
            "summary": {"raw": pr.description, "markup": "markdown"},
            "state": pr.state,
            "draft": pr.draft,
            "author": pr.author,
            "source": {
                "branch": {"name": pr.source_branch},
                "commit": {"type": "commit", "hash": pr.head[:12]},
                "repository": self._repo_json(pr.source_repo or self.repo),
            },
            "destination": {
                "branch": {"name": pr.dest_branch},
                "commit": {"type": "commit", "hash": pr.base[:12]},
                "repository": self._repo_json(self.repo),
            },
            "merge_commit": {"hash": pr.merge_commit} if pr.merge_commit else None,
            "close_source_branch": pr.close_source_branch,
            "comment_count": sum(1 for c in self.comments if c["_pr"] == pr.id),
            "task_count": 0,
            "links": {"html": {"href": html}},
            "created_on": NOW,
            "updated_on": NOW,
        }
        if full:  # reviewers only on the PR's own URL
            data["reviewers"] = pr.reviewers
            data["participants"] = pr.participants
        return data

    def page(self, path: str, q: dict[str, list[str]], items: list[Any]) -> Result:
        pagelen = max(1, min(100, int(q.get("pagelen", ["10"])[0])))
        page = max(1, int(q.get("page", ["1"])[0]))
        chunk = items[(page - 1) * pagelen : page * pagelen]
        data: dict[str, Any] = {
            "pagelen": pagelen,
            "size": len(items),
            "page": page,
            "values": chunk,
        }
        if page * pagelen < len(items):
            flat = {k: v for k, v in q.items() if k != "page"}
            data["next"] = (
                f"{self.origin}{path}?{urlencode({**flat, 'page': [page + 1]}, doseq=True)}"
            )
        return 200, data, {}

    def _spec_pr(self, spec: str) -> FakePR | None:
        for pr in self.prs.values():
            if spec == f"{pr.head[:12]}..{pr.base[:12]}":
                return pr
        return None

    def _resolve(self, sha: str) -> str | None:
        found = [c for c in self.commits if c.startswith(sha)]
        return found[0] if len(found) == 1 else None

    # -- routes: pull requests --------------------------------------------------------------------
    def list_prs(self, who: Any, g: dict[str, str], q: dict[str, list[str]], b: Any) -> Result:
        states = set(q.get("state") or ["OPEN"])
        want_drafts = "draft=true" in " ".join(q.get("q", []))
        items = [
            self.pr_json(p, full=False)
            for p in self.prs.values()
            if p.state in states and (want_drafts or not p.draft)  # BCLOUD-23659
        ]
        return self.page(f"/2.0/repositories/{self.repo}/pullrequests", q, items)

    def get_pr(self, who: Any, g: dict[str, str], q: dict[str, list[str]], b: Any) -> Result:
        pr = self._pr(g)
        return (200, self.pr_json(pr), {}) if pr else error(404, "Pull request not found")

    def put_pr(self, who: Any, g: dict[str, str], q: dict[str, list[str]], b: Any) -> Result:
        pr = self._pr(g)
        if pr is None:
            return error(404, "Pull request not found")
        if pr.state != "OPEN":
            return error(400, "Only open pull requests can be updated")
        if not isinstance(b, dict):
            return error(400, "Bad request")
        if "reviewers" in b:
            new: list[dict[str, Any]] = []
            for r in b["reviewers"]:
                u = next(
                    (x for x in self.users.values()
                     if r.get("uuid") == x["uuid"] or r.get("account_id") == x["account_id"]),
                    None,
                )  # fmt: skip
                if u is None:
                    return error(400, f"{r} is not a valid user")
                if u["uuid"] == pr.author["uuid"]:
                    return error(
                        400, f"{u['display_name']} is the author and cannot be a reviewer."
                    )
                new.append(u)
            pr.reviewers = new
        pr.title = str(b.get("title", pr.title))
        pr.description = str(b.get("description", pr.description))
        return 200, self.pr_json(pr), {}

    def pr_diff_redirect(self, who: Any, g: dict[str, str], q: Any, b: Any) -> Result:
        return self._redirect(g, "diff")

    def pr_diffstat_redirect(self, who: Any, g: dict[str, str], q: Any, b: Any) -> Result:
        return self._redirect(g, "diffstat")

    def _redirect(self, g: dict[str, str], what: str) -> Result:
        pr = self._pr(g)
        if pr is None:
            return error(404, "Pull request not found")
        spec = f"{pr.head[:12]}..{pr.base[:12]}"
        loc = f"{self.api_url}/repositories/{self.repo}/{what}/{spec}?from_pullrequest_id={pr.id}&topic=true"
        return 302, None, {"Location": loc}

    def get_diff(self, who: Any, g: dict[str, str], q: dict[str, list[str]], b: Any) -> Result:
        pr = self._spec_pr(g["spec"])
        if pr is None:
            return error(404, "Commit not found")
        paths = set(q.get("path", []))
        if not paths:
            if pr.diff_too_large:
                return error(555, "This diff is too large to render")
            return 200, pr.diff.encode(), {"Content-Type": "text/plain"}
        out = [t for old, new, t in file_chunks(pr.diff) if {old, new} & paths]
        if any({old, new} & paths & pr.huge_files for old, new, _ in file_chunks(pr.diff)):
            return error(555, "This diff is too large to render")
        return 200, "".join(out).encode(), {"Content-Type": "text/plain"}

    def get_diffstat(self, who: Any, g: dict[str, str], q: dict[str, list[str]], b: Any) -> Result:
        pr = self._spec_pr(g["spec"])
        if pr is None:
            return error(404, "Commit not found")
        items = []
        for old, new, text in file_chunks(pr.diff):
            status = "added" if old is None else "removed" if new is None else (
                "renamed" if old != new else "modified"
            )  # fmt: skip
            lines = text.split("\n")
            items.append({
                "type": "diffstat", "status": status,
                "lines_added": sum(1 for ln in lines if ln.startswith("+") and not ln.startswith("+++")),
                "lines_removed": sum(1 for ln in lines if ln.startswith("-") and not ln.startswith("---")),
                "old": {"path": old, "type": "commit_file"} if old else None,
                "new": {"path": new, "type": "commit_file"} if new else None,
            })  # fmt: skip
        return self.page(f"/2.0/repositories/{self.repo}/diffstat/{g['spec']}", q, items)

    # -- routes: comments -------------------------------------------------------------------------
    def list_comments(self, who: Any, g: dict[str, str], q: dict[str, list[str]], b: Any) -> Result:
        pr = self._pr(g)
        if pr is None:
            return error(404, "Pull request not found")
        items = [_public(c) for c in self.comments if c["_pr"] == pr.id]
        return self.page(f"/2.0/repositories/{self.repo}/pullrequests/{pr.id}/comments", q, items)

    def _inline_problem(self, pr: FakePR, inline: Any) -> str | None:
        if not isinstance(inline, dict) or not isinstance(inline.get("path"), str):
            return "inline.path is required"
        side = "from" if "from" in inline else "to"  # both sent: ``to`` is dropped
        line = inline.get(side)
        if not isinstance(line, int) or line < 1:
            return f"inline.{side} must be a positive line number"
        for old, new, text in file_chunks(pr.diff):
            if (new if side == "to" else old) == inline["path"]:
                new_lines, old_lines = commentable(text)
                if line in (new_lines if side == "to" else old_lines):
                    return None
                return f"line {line} is not part of the diff of {inline['path']}"
        return f"{inline['path']} is not part of this pull request"

    def post_comment(self, who: Any, g: dict[str, str], q: dict[str, list[str]], b: Any) -> Result:
        pr = self._pr(g)
        if pr is None:
            return error(404, "Pull request not found")
        raw = ((b or {}).get("content") or {}).get("raw") if isinstance(b, dict) else None
        if not isinstance(raw, str) or not raw.strip():
            return error(400, "content.raw is required", fields={"content.raw": ["required"]})
        comment: dict[str, Any] = {
            "id": self.new_id(), "type": "pullrequest_comment",
            "content": {"raw": raw, "markup": "markdown", "html": f"<p>{raw}</p>"},
            "user": who, "created_on": NOW, "updated_on": NOW, "deleted": False,
            "pending": False, "_pr": pr.id,
        }  # fmt: skip
        if b.get("inline") is not None:
            problem = self._inline_problem(pr, b["inline"])
            if problem:
                return error(
                    400, f"Invalid inline comment: {problem}", fields={"inline": [problem]}
                )
            inline = dict(b["inline"])
            if "from" in inline:
                inline.pop("to", None)
            comment["inline"] = inline
        self.comments.append(comment)
        return 201, _public(comment), {}

    def put_comment(self, who: Any, g: dict[str, str], q: dict[str, list[str]], b: Any) -> Result:
        for c in self.comments:
            if c["id"] == int(g["cid"]) and c["_pr"] == int(g["n"]) and not c["deleted"]:
                if c["user"]["uuid"] != who["uuid"]:
                    return error(403, "You can only edit your own comments")
                raw = ((b or {}).get("content") or {}).get("raw")
                if not isinstance(raw, str) or not raw.strip():
                    return error(400, "content.raw is required")
                c["content"] = {"raw": raw, "markup": "markdown", "html": f"<p>{raw}</p>"}
                return 200, _public(c), {}
        return error(404, "Comment not found")

    def _participant(self, pr: FakePR, who: dict[str, Any]) -> dict[str, Any]:
        for p in pr.participants:
            if p["user"]["uuid"] == who["uuid"]:
                return p
        p = {"type": "participant", "user": who, "role": "PARTICIPANT", "approved": False,
             "state": None, "participated_on": NOW}  # fmt: skip
        pr.participants.append(p)
        return p

    def approve(self, who: Any, g: dict[str, str], q: Any, b: Any) -> Result:
        return self._verdict(who, g, approved=True)

    def request_changes(self, who: Any, g: dict[str, str], q: Any, b: Any) -> Result:
        return self._verdict(who, g, approved=False)

    def _verdict(self, who: dict[str, Any], g: dict[str, str], *, approved: bool) -> Result:
        pr = self._pr(g)
        if pr is None:
            return error(404, "Pull request not found")
        if pr.state != "OPEN":
            return error(
                400, "You can't change the review state of a pull request that is not open"
            )
        if approved and who["uuid"] == pr.author["uuid"]:
            return error(400, "You can't approve your own pull request.")
        p = self._participant(pr, who)
        p["approved"] = approved
        p["state"] = "approved" if approved else "changes_requested"
        return 200, p, {}

    # -- routes: merge ----------------------------------------------------------------------------
    def merge(self, who: Any, g: dict[str, str], q: dict[str, list[str]], b: Any) -> Result:
        pr = self._pr(g)
        if pr is None:
            return error(404, "Pull request not found")
        if pr.state != "OPEN":
            return error(400, "You can't merge a pull request that is not open")
        strategy = (b or {}).get("merge_strategy", "merge_commit")
        if strategy not in ("merge_commit", "squash", "fast_forward"):
            return error(400, f"{strategy} is not a valid merge strategy")
        if strategy == "fast_forward" and not self.fast_forward_allowed:
            return error(400, "Fast-forward merges are not allowed in this repository")
        if pr.merge_conflict:
            return error(409, "The pull request has conflicts")
        if pr.merge_mode == "timeout-fail":
            return error(555, "The merge timed out")
        if pr.merge_mode == "async":
            task = f"task-{self.new_id()}"
            self.tasks[task] = pr.task_polls
            url = f"{self.api_url}/repositories/{self.repo}/pullrequests/{pr.id}/merge/task-status/{task}"
            return 202, None, {"Location": url}
        self._apply_merge(pr, b or {})
        if pr.merge_mode == "timeout":
            return error(555, "The merge timed out")
        return 200, self.pr_json(pr), {}

    def _apply_merge(self, pr: FakePR, b: dict[str, Any]) -> None:
        pr.state = "MERGED"
        pr.merge_commit = "c0ffee" + "0" * 34
        pr.close_source_branch = bool(b.get("close_source_branch", pr.close_source_branch))

    def task_status(self, who: Any, g: dict[str, str], q: Any, b: Any) -> Result:
        pr = self._pr(g)
        left = self.tasks.get(g["task"])
        if pr is None or left is None:
            return error(400, "Unknown task")
        if left > 0:
            self.tasks[g["task"]] = left - 1
            return 200, {"task_status": "PENDING"}, {}
        if pr.state == "OPEN":
            self._apply_merge(pr, {})
        return 200, {"task_status": "SUCCESS", "merge_result": self.pr_json(pr)}, {}

    # -- routes: commits, statuses, reports -------------------------------------------------------
    def get_commit(self, who: Any, g: dict[str, str], q: Any, b: Any) -> Result:
        full = self._resolve(g["sha"])
        if full is None:
            return error(404, f"Commit not found: {g['sha']}")
        return 200, {"type": "commit", "hash": full, "date": NOW}, {}

    def _full_commit(self, sha: str) -> Result | None:
        if sha not in self.commits:  # statuses and reports go to a full, known hash
            return error(404, f"Commit not found: {sha}")
        return None

    def post_status(self, who: Any, g: dict[str, str], q: Any, b: Any) -> Result:
        bad = self._full_commit(g["sha"])
        if bad:
            return bad
        if not isinstance(b, dict) or not b.get("key") or not b.get("url"):
            return error(400, "key, state and url are required")
        if b.get("state") not in ("INPROGRESS", "SUCCESSFUL", "FAILED", "STOPPED"):
            return error(400, f"{b.get('state')} is not a valid state")
        existed = (g["sha"], b["key"]) in self.statuses
        st = {"type": "build", **b, "created_on": NOW, "updated_on": NOW}
        self.statuses[(g["sha"], b["key"])] = st
        return (200 if existed else 201), st, {}

    def list_statuses(self, who: Any, g: dict[str, str], q: dict[str, list[str]], b: Any) -> Result:
        items = [s for (sha, _), s in self.statuses.items() if sha == g["sha"]]
        return self.page(f"/2.0/repositories/{self.repo}/commit/{g['sha']}/statuses", q, items)

    def put_report(self, who: Any, g: dict[str, str], q: Any, b: Any) -> Result:
        bad = self._full_commit(g["sha"])
        if bad:
            return bad
        if not isinstance(b, dict) or not b.get("title"):
            return error(400, "title is required")
        if b.get("report_type") not in ("SECURITY", "COVERAGE", "TEST", "BUG"):
            return error(400, "report_type is invalid")
        if b.get("result") not in (None, "PASSED", "FAILED", "PENDING"):
            return error(400, "result is invalid")
        data = b.get("data") or []
        if len(data) > 10:
            return error(400, "A report can have at most 10 data elements")
        types = ("BOOLEAN", "DATE", "DURATION", "LINK", "NUMBER", "PERCENTAGE", "TEXT")
        if any(d.get("type") not in types or "title" not in d for d in data):
            return error(400, "invalid data element")
        key = (g["sha"], g["rid"])
        self.reports[key] = {**b, "external_id": g["rid"], "uuid": f"{{r-{self.new_id()}}}"}
        self.annotations.setdefault(key, {})
        return 200, self.reports[key], {}

    def post_annotations(self, who: Any, g: dict[str, str], q: Any, b: Any) -> Result:
        key = (g["sha"], g["rid"])
        if key not in self.reports:
            return error(404, "Report not found")
        if not isinstance(b, list) or not 1 <= len(b) <= 100:
            return error(400, "Between 1 and 100 annotations can be sent per request")
        for a in b:
            if not isinstance(a, dict) or not a.get("external_id") or not a.get("summary"):
                return error(400, "external_id and summary are required")
            if a.get("annotation_type") not in ("VULNERABILITY", "CODE_SMELL", "BUG"):
                return error(400, "annotation_type is invalid")
            if a.get("severity") not in (None, "CRITICAL", "HIGH", "MEDIUM", "LOW"):
                return error(400, "severity is invalid")
            if "line" in a and (not isinstance(a["line"], int) or a["line"] < 1):
                return error(400, "line must be at least 1")
        store = self.annotations[key]
        if len(set(store) | {a["external_id"] for a in b}) > 1000:
            return error(400, "A report can have at most 1000 annotations")
        for a in b:
            store[a["external_id"]] = dict(a)
        return 200, b, {}

    def get_src(self, who: Any, g: dict[str, str], q: Any, b: Any) -> Result:
        data = self.files.get((g["ref"], g["path"]))
        if data is None:
            return error(404, f"No such file or directory: {g['path']}")
        return 200, data, {"Content-Type": "application/octet-stream"}


def _public(item: dict[str, Any]) -> dict[str, Any]:
    """An item without the fake's private bookkeeping keys (``_pr``)."""
    return {k: v for k, v in item.items() if not k.startswith("_")}


@pytest.fixture
def fake_bitbucket() -> Iterator[FakeBitbucket]:
    """A running fake Bitbucket with PR #1 (``SAMPLE_DIFF``) in ``acme/widgets``; always shut down."""
    server = FakeBitbucket().start()
    server.add_pr(1)
    try:
        yield server
    finally:
        server.close()
