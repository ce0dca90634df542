"""A stateful fake GitHub REST API on loopback, with the documented shapes and validation.

The GitHub adapter is tested over real HTTP against this server instead of mocks, so the requests
it really sends (headers, JSON bodies, URL encoding, pagination, conditional requests) are what is
checked. It validates like GitHub where prbot's correctness depends on it: review comment anchors
must be on lines of the stored diff (computed here independently of prbot's parser), approving one's
own PR is refused, merges check the head SHA and mergeability, 50 annotations per request, 140-char
status descriptions, 65536-char bodies. Faults (status + headers for the next N requests to a path,
optionally *after* the write was applied) script rate limits, 5xx and lost responses.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import pytest

from tests.fakes._server import FakeForgeServer
from tests.fakes._server import Fault as Fault
from tests.fakes._server import Recorded as Recorded
from tests.fakes._server import Result as Result

TOKEN = "ghs_faketoken0123456789abcdef"
BOT = "github-actions[bot]"
NOW = "2024-05-01T12:00:00Z"
DOCS = "https://docs.github.com/rest"
MAX_BODY = 65536

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
diff --git a/docs/logo.png b/docs/logo.png
new file mode 100644
index 0000000..3333333
Binary files /dev/null and b/docs/logo.png differ
"""


@dataclass
class FakePR:
    number: int
    title: str = "Add feature"
    body: str = "This PR adds a feature."
    author: str = "alice"
    author_association: str = "CONTRIBUTOR"
    head_sha: str = "a" * 40
    base_sha: str = "b" * 40
    head_ref: str = "feature"
    base_ref: str = "main"
    head_repo: str | None = ""  # "" = the base repo itself; None = a deleted fork
    labels: list[str] = field(default_factory=list)
    draft: bool = False
    state: str = "open"
    merged: bool = False
    mergeable: bool | None = True
    diff: str = SAMPLE_DIFF
    diff_too_large: bool = False
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)
    merge_commit_sha: str | None = None


def _hunks(patch: str) -> tuple[dict[int, int], dict[int, int]]:
    """RIGHT and LEFT commentable lines of one file's patch → the index of their hunk."""
    right: dict[int, int] = {}
    left: dict[int, int] = {}
    old = new = 0
    hunk = -1
    for line in patch.split("\n"):
        m = re.match(r"@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@", line)
        if m:
            hunk += 1
            old, new = int(m.group(1)), int(m.group(2))
        elif hunk < 0 or line.startswith("\\"):
            continue
        elif line.startswith("+"):
            right[new] = hunk
            new += 1
        elif line.startswith("-"):
            left[old] = hunk
            old += 1
        else:
            right[new] = hunk
            left[old] = hunk
            old += 1
            new += 1
    return right, left


def diff_files(diff: str) -> list[dict[str, Any]]:
    """The "list pull request files" items for a unified diff (``patch`` absent for binaries)."""
    out: list[dict[str, Any]] = []
    for chunk in re.split(r"(?m)^(?=diff --git )", diff):
        if not chunk.startswith("diff --git "):
            continue
        head, _, rest = chunk.partition("\n@@")
        m = re.match(r"diff --git a/(.+) b/(.+)", chunk)
        assert m, chunk
        old, new = m.group(1), m.group(2)
        status = "modified"
        if "\nnew file mode" in head:
            status = "added"
        elif "\ndeleted file mode" in head:
            status = "removed"
        elif "\nrename from " in head:
            status = "renamed"
        item: dict[str, Any] = {"sha": "0" * 40, "filename": new, "status": status}
        if status == "renamed":
            item["previous_filename"] = old
        if rest:
            patch = ("@@" + rest).rstrip("\n")
            item["patch"] = patch
            lines = patch.split("\n")
            item["additions"] = sum(1 for ln in lines if ln.startswith("+"))
            item["deletions"] = sum(1 for ln in lines if ln.startswith("-"))
        else:
            item["additions"] = item["deletions"] = 0
        item["changes"] = item["additions"] + item["deletions"]
        out.append(item)
    return out


class FakeGitHub(FakeForgeServer):
    """The server object the ``fake_github`` fixture yields; all state is public for assertions."""

    default_headers: ClassVar[dict[str, str]] = {"x-ratelimit-limit": "5000"}

    def __init__(self, repo: str = "octo/demo", prefix: str = "") -> None:
        super().__init__()
        self.repo = repo
        self.prefix = prefix
        self.tokens: dict[str, str] = {TOKEN: BOT}
        self.prs: dict[int, FakePR] = {}
        self.issue_comments: list[dict[str, Any]] = []
        self.reviews: list[dict[str, Any]] = []
        self.review_comments: list[dict[str, Any]] = []
        self.check_runs: list[dict[str, Any]] = []
        self.annotations: dict[int, list[dict[str, Any]]] = {}
        self.statuses: list[dict[str, Any]] = []
        self.refs: set[str] = set()
        self.files: dict[tuple[str, str], bytes] = {}
        self.teams: dict[tuple[str, str, str], str] = {}
        self.apps: dict[str, tuple[str, int]] = {}
        self.installations: dict[int, str] = {}
        self.issued_tokens: list[str] = []
        self.checks_forbidden = False
        self.actions_cannot_approve = False
        self._routes = self._route_table()
        self.api_url = f"{self.origin}{prefix}"

    # -- scripting --------------------------------------------------------------------------------
    def add_pr(self, number: int = 1, **kw: Any) -> FakePR:
        pr = FakePR(number=number, **kw)
        self.prs[number] = pr
        self.refs.add(pr.head_ref)
        return pr

    def default_fault_body(self, status: int) -> Any:
        return {"message": f"scripted {status}", "documentation_url": DOCS}

    def adjust_response(
        self, method: str, headers: dict[str, str], status: int, data: bytes, extra: dict[str, str]
    ) -> tuple[int, bytes]:
        """Every GET 200 carries an ETag; a matching ``If-None-Match`` gets an empty 304."""
        if method == "GET" and status == 200:
            etag = '"' + hashlib.sha1(data).hexdigest() + '"'
            extra.setdefault("ETag", etag)
            if headers.get("if-none-match") == etag:
                return 304, b""
        return status, data

    # -- dispatch ---------------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: dict[str, str], raw: bytes) -> Result:
        parts = urlsplit(raw_path)
        path = parts.path
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix) :]
        query = dict(parse_qsl(parts.query))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return 400, {"message": "Problems parsing JSON"}, {}
        return self.record_and_route(
            method, path, query, headers, body,
            lambda: self._route(method, path, query, headers, body),
        )  # fmt: skip

    def _route(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> Result:
        for verb, pattern, fn, jwt_auth in self._routes:
            m = re.fullmatch(pattern, path)
            if verb != method or not m:
                continue
            auth = headers.get("authorization", "")
            scheme, _, cred = auth.partition(" ")
            if jwt_auth:
                who = self._check_jwt(cred)
                if isinstance(who, tuple):
                    return who
            elif scheme.lower() not in ("bearer", "token") or cred not in self.tokens:
                return 401, {"message": "Bad credentials", "documentation_url": DOCS}, {}
            else:
                who = self.tokens[cred]
            groups = {k: unquote(v) for k, v in m.groupdict().items()}
            with self._lock:
                return fn(who, groups, query, headers, body)
        return 404, {"message": "Not Found", "documentation_url": DOCS}, {}

    def _route_table(self) -> list[tuple[str, str, Callable[..., Result], bool]]:
        r = self
        repo = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
        pull = repo + r"/pulls/(?P<n>\d+)"
        issue = repo + r"/issues/(?P<n>\d+)"
        return [
            ("GET", repo + r"/pulls", r.list_pulls, False),
            ("GET", pull, r.get_pull, False),
            ("PATCH", pull, r.update_pull, False),
            ("GET", pull + r"/files", r.list_files, False),
            ("GET", pull + r"/reviews", r.list_reviews, False),
            ("POST", pull + r"/reviews", r.post_review, False),
            ("GET", pull + r"/comments", r.list_review_comments, False),
            ("PUT", pull + r"/merge", r.merge, False),
            ("POST", pull + r"/requested_reviewers", r.request_reviewers, False),
            ("GET", issue + r"/comments", r.list_issue_comments, False),
            ("POST", issue + r"/comments", r.post_issue_comment, False),
            ("PATCH", repo + r"/issues/comments/(?P<id>\d+)", r.patch_issue_comment, False),
            ("GET", issue + r"/labels", r.list_labels, False),
            ("POST", issue + r"/labels", r.add_labels, False),
            ("DELETE", issue + r"/labels/(?P<label>[^/]+)", r.remove_label, False),
            ("GET", repo + r"/commits/(?P<ref>[^/]+)/check-runs", r.list_check_runs, False),
            ("POST", repo + r"/check-runs", r.create_check_run, False),
            ("PATCH", repo + r"/check-runs/(?P<id>\d+)", r.update_check_run, False),
            ("GET", repo + r"/commits/(?P<ref>[^/]+)/status", r.combined_status, False),
            ("POST", repo + r"/statuses/(?P<sha>[^/]+)", r.create_status, False),
            ("DELETE", repo + r"/git/refs/heads/(?P<ref>.+)", r.delete_ref, False),
            ("GET", repo + r"/contents/(?P<path>.+)", r.get_contents, False),
            ("GET", r"/orgs/(?P<org>[^/]+)/teams/(?P<slug>[^/]+)/memberships/(?P<user>[^/]+)",
             r.team_membership, False),
            ("GET", repo + r"/installation", r.get_installation, True),
            ("POST", r"/app/installations/(?P<id>\d+)/access_tokens", r.access_token, True),
        ]  # fmt: skip

    def _check_jwt(self, cred: str) -> str | Result:
        import jwt

        refused: Result = (401, {"message": "A JSON web token could not be decoded"}, {})
        try:
            claims = jwt.decode(cred, options={"verify_signature": False})
            app = self.apps.get(str(claims.get("iss")))
            if app is None:
                return refused
            claims = jwt.decode(
                cred, app[0], algorithms=["RS256"], options={"require": ["exp", "iat", "iss"]}
            )
        except jwt.PyJWTError:
            return refused
        if claims["exp"] - claims["iat"] > 600:
            return 401, {"message": "'Expiration time' claim ('exp') is too far in the future"}, {}
        return f"app:{claims['iss']}"

    # -- routes: pull requests --------------------------------------------------------------------
    def _pr(self, g: dict[str, str]) -> FakePR | None:
        if f"{g['owner']}/{g['name']}" != self.repo:
            return None
        return self.prs.get(int(g["n"]))

    def pr_json(self, pr: FakePR) -> dict[str, Any]:
        head_repo = None
        if pr.head_repo is not None:
            full = pr.head_repo or self.repo
            head_repo = {"full_name": full, "fork": full != self.repo}
        files = diff_files(pr.diff)
        return {
            "url": f"{self.api_url}/repos/{self.repo}/pulls/{pr.number}",
            "id": 500 + pr.number,
            "number": pr.number,
            "state": pr.state,
            "draft": pr.draft,
            "title": pr.title,
            "body": pr.body,
            "user": {"login": pr.author, "type": "User"},
            "author_association": pr.author_association,
            "labels": [{"id": i, "name": n, "color": "ededed"} for i, n in enumerate(pr.labels)],
            "head": {"ref": pr.head_ref, "sha": pr.head_sha, "repo": head_repo},
            "base": {"ref": pr.base_ref, "sha": pr.base_sha, "repo": {"full_name": self.repo}},
            "merged": pr.merged,
            "mergeable": pr.mergeable,
            "mergeable_state": "clean" if pr.mergeable else "dirty",
            "merge_commit_sha": pr.merge_commit_sha,
            "html_url": f"https://github.example/{self.repo}/pull/{pr.number}",
            "created_at": "2024-05-01T10:00:00Z",
            "updated_at": NOW,
            "additions": sum(f["additions"] for f in files),
            "deletions": sum(f["deletions"] for f in files),
            "changed_files": len(files),
            "requested_reviewers": [{"login": u} for u in pr.requested_reviewers],
        }

    def list_pulls(self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any) -> Result:
        if f"{g['owner']}/{g['name']}" != self.repo:
            return 404, {"message": "Not Found"}, {}
        state = q.get("state", "open")
        prs = [p for n, p in sorted(self.prs.items()) if state == "all" or p.state == state]
        return self.page(f"/repos/{self.repo}/pulls", q, [self.pr_json(p) for p in prs])

    def get_pull(self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any) -> Result:
        pr = self._pr(g)
        if pr is None:
            return 404, {"message": "Not Found", "documentation_url": DOCS}, {}
        accept = h.get("accept", "")
        if "diff" in accept:
            if pr.diff_too_large:
                return (
                    406,
                    {
                        "message": "Sorry, the diff exceeded the maximum number of files (300). "
                        "Consider using 'List pull requests files' API or locally cloning the "
                        "repository instead.",
                        "errors": [
                            {"resource": "PullRequest", "field": "diff", "code": "too_large"}
                        ],
                        "documentation_url": DOCS,
                    },
                    {},
                )
            return 200, pr.diff.encode(), {"Content-Type": "text/plain; charset=utf-8"}
        return 200, self.pr_json(pr), {}

    def update_pull(self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any) -> Result:
        pr = self._pr(g)
        if pr is None:
            return 404, {"message": "Not Found"}, {}
        b = b if isinstance(b, dict) else {}
        if "body" in b and not isinstance(b["body"], (str, type(None))):
            return _unprocessable("body is not a string")
        if len(b.get("body") or "") > MAX_BODY:
            return _unprocessable("Body is too long (maximum is 65536 characters)")
        if "title" in b:
            if not isinstance(b["title"], str) or not b["title"].strip():
                return _unprocessable("title can't be blank")
            pr.title = b["title"]
        if "body" in b:
            pr.body = b["body"] or ""
        return 200, self.pr_json(pr), {}

    def list_files(self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any) -> Result:
        pr = self._pr(g)
        if pr is None:
            return 404, {"message": "Not Found"}, {}
        return self.page(f"/repos/{self.repo}/pulls/{pr.number}/files", q, diff_files(pr.diff))

    def list_reviews(
        self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any
    ) -> Result:
        pr = self._pr(g)
        if pr is None:
            return 404, {"message": "Not Found"}, {}
        items = [r for r in self.reviews if r["_pr"] == pr.number]
        return self.page(f"/repos/{self.repo}/pulls/{pr.number}/reviews", q, _public(items))

    def post_review(self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any) -> Result:
        pr = self._pr(g)
        if pr is None:
            return 404, {"message": "Not Found"}, {}
        b = b if isinstance(b, dict) else {}
        event = b.get("event")
        body = b.get("body") or ""
        if event in ("APPROVE", "REQUEST_CHANGES") and who == pr.author:
            verb = "approve" if event == "APPROVE" else "request changes on"
            return _unprocessable(f"Can not {verb} your own pull request")
        if event == "APPROVE" and self.actions_cannot_approve and who == BOT:
            return _unprocessable("GitHub Actions is not permitted to approve pull requests.")
        if event in ("REQUEST_CHANGES", "COMMENT") and not body.strip():
            return _unprocessable("Body can't be blank")
        if len(body) > MAX_BODY:
            return _unprocessable("Body is too long (maximum is 65536 characters)")
        commit = b.get("commit_id") or pr.head_sha
        if commit != pr.head_sha:
            return _unprocessable("commit_id is not part of the pull request")
        files = {f["filename"]: f for f in diff_files(pr.diff)}
        for c in b.get("comments") or []:
            problem = _anchor_problem(c, files)
            if problem:
                return _unprocessable(problem)
        state = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED"}.get(
            event or "", "COMMENTED" if event == "COMMENT" else "PENDING"
        )
        rid = self.new_id()
        review = {
            "_pr": pr.number,
            "id": rid,
            "user": {"login": who, "type": "Bot" if who.endswith("[bot]") else "User"},
            "body": body,
            "state": state,
            "commit_id": commit,
            "html_url": f"https://github.example/{self.repo}/pull/{pr.number}#pullrequestreview-{rid}",
            "submitted_at": NOW,
        }
        self.reviews.append(review)
        for c in b.get("comments") or []:
            self.review_comments.append(
                {
                    "_pr": pr.number,
                    "id": self.new_id(),
                    "pull_request_review_id": rid,
                    "path": c["path"],
                    "line": c.get("line"),
                    "side": c.get("side", "RIGHT"),
                    "start_line": c.get("start_line"),
                    "start_side": c.get("start_side"),
                    "original_line": c.get("line"),
                    "commit_id": commit,
                    "original_commit_id": commit,
                    "subject_type": "line",
                    "user": review["user"],
                    "body": c["body"],
                }
            )
        return 200, _public([review])[0], {}

    def list_review_comments(
        self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any
    ) -> Result:
        pr = self._pr(g)
        if pr is None:
            return 404, {"message": "Not Found"}, {}
        items = [c for c in self.review_comments if c["_pr"] == pr.number]
        return self.page(f"/repos/{self.repo}/pulls/{pr.number}/comments", q, _public(items))

    def merge(self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any) -> Result:
        pr = self._pr(g)
        if pr is None:
            return 404, {"message": "Not Found"}, {}
        b = b if isinstance(b, dict) else {}
        if b.get("merge_method", "merge") not in ("merge", "squash", "rebase"):
            return _unprocessable("Invalid merge_method")
        if pr.merged or pr.state != "open" or not pr.mergeable:
            return 405, {"message": "Pull Request is not mergeable", "documentation_url": DOCS}, {}
        if b.get("sha") and b["sha"] != pr.head_sha:
            return (
                409,
                {
                    "message": "Head branch was modified. Review and try the merge again.",
                    "documentation_url": DOCS,
                },
                {},
            )
        pr.merged, pr.state, pr.merge_commit_sha = True, "closed", "c" * 40
        return 200, {"sha": pr.merge_commit_sha, "merged": True,
                     "message": "Pull Request successfully merged"}, {}  # fmt: skip

    def request_reviewers(
        self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any
    ) -> Result:
        pr = self._pr(g)
        if pr is None:
            return 404, {"message": "Not Found"}, {}
        b = b if isinstance(b, dict) else {}
        users, teams = list(b.get("reviewers") or []), list(b.get("team_reviewers") or [])
        if pr.author in users:
            return _unprocessable("Review cannot be requested from pull request author.")
        pr.requested_reviewers += [u for u in users if u not in pr.requested_reviewers]
        pr.requested_teams += [t for t in teams if t not in pr.requested_teams]
        return 201, self.pr_json(pr), {}

    # -- routes: issue comments and labels --------------------------------------------------------
    def list_issue_comments(
        self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any
    ) -> Result:
        pr = self._pr(g)
        if pr is None:
            return 404, {"message": "Not Found"}, {}
        items = [c for c in self.issue_comments if c["_pr"] == pr.number]
        return self.page(f"/repos/{self.repo}/issues/{pr.number}/comments", q, _public(items))

    def post_issue_comment(
        self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any
    ) -> Result:
        pr = self._pr(g)
        if pr is None:
            return 404, {"message": "Not Found"}, {}
        body = b.get("body") if isinstance(b, dict) else None
        if not isinstance(body, str) or not body:
            return _unprocessable("Body can't be blank")
        if len(body) > MAX_BODY:
            return _unprocessable("Body is too long (maximum is 65536 characters)")
        cid = self.new_id()
        comment = {
            "_pr": pr.number,
            "id": cid,
            "body": body,
            "user": {"login": who, "type": "Bot" if who.endswith("[bot]") else "User"},
            "html_url": f"https://github.example/{self.repo}/pull/{pr.number}#issuecomment-{cid}",
            "created_at": NOW,
            "updated_at": NOW,
        }
        self.issue_comments.append(comment)
        return 201, _public([comment])[0], {}

    def patch_issue_comment(
        self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any
    ) -> Result:
        found = [c for c in self.issue_comments if c["id"] == int(g["id"])]
        if not found:
            return 404, {"message": "Not Found"}, {}
        body = b.get("body") if isinstance(b, dict) else None
        if not isinstance(body, str) or not body:
            return _unprocessable("Body can't be blank")
        if len(body) > MAX_BODY:
            return _unprocessable("Body is too long (maximum is 65536 characters)")
        found[0]["body"] = body
        return 200, _public(found)[0], {}

    def _labels_json(self, pr: FakePR) -> list[dict[str, Any]]:
        return [{"id": i, "name": n, "color": "ededed"} for i, n in enumerate(pr.labels)]

    def list_labels(self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any) -> Result:
        pr = self._pr(g)
        if pr is None:
            return 404, {"message": "Not Found"}, {}
        return self.page(f"/repos/{self.repo}/issues/{pr.number}/labels", q, self._labels_json(pr))

    def add_labels(self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any) -> Result:
        pr = self._pr(g)
        if pr is None:
            return 404, {"message": "Not Found"}, {}
        names = b.get("labels") if isinstance(b, dict) else None
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            return _unprocessable("Invalid request: labels must be a list of names")
        have = {n.casefold() for n in pr.labels}
        for n in names:
            if n.casefold() not in have:
                pr.labels.append(n)
                have.add(n.casefold())
        return 200, self._labels_json(pr), {}

    def remove_label(
        self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any
    ) -> Result:
        pr = self._pr(g)
        if pr is None:
            return 404, {"message": "Not Found"}, {}
        name = g["label"]
        kept = [n for n in pr.labels if n.casefold() != name.casefold()]
        if len(kept) == len(pr.labels):
            return 404, {"message": "Label does not exist", "documentation_url": DOCS}, {}
        pr.labels = kept
        return 200, self._labels_json(pr), {}

    # -- routes: checks and statuses --------------------------------------------------------------
    def _checks_denied(self) -> Result | None:
        if self.checks_forbidden:
            return 403, {"message": "Resource not accessible by integration",
                         "documentation_url": DOCS}, {}  # fmt: skip
        return None

    def list_check_runs(
        self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any
    ) -> Result:
        denied = self._checks_denied()
        if denied:
            return denied
        runs = [r for r in self.check_runs if r["head_sha"] == g["ref"]]
        if q.get("check_name"):
            runs = [r for r in runs if r["name"] == q["check_name"]]
        if q.get("filter", "latest") == "latest":
            latest: dict[str, dict[str, Any]] = {}
            for r in runs:
                latest[r["name"]] = r
            runs = list(latest.values())
        runs = sorted(runs, key=lambda r: -r["id"])
        status, page, headers = self.page(f"/repos/{self.repo}/commits/{g['ref']}/check-runs",
                                          q, runs)  # fmt: skip
        return status, {"total_count": len(runs), "check_runs": page}, headers

    def _apply_check(self, run: dict[str, Any], b: dict[str, Any]) -> Result | None:
        for key in ("status", "conclusion", "details_url", "external_id", "name"):
            if key in b:
                run[key] = b[key]
        if run.get("status") not in ("queued", "in_progress", "completed"):
            return _unprocessable("Invalid status")
        if run.get("conclusion") is not None:
            if run["conclusion"] not in ("action_required", "cancelled", "failure", "neutral",
                                         "success", "skipped", "timed_out"):  # fmt: skip
                return _unprocessable("Invalid conclusion")
            run["status"] = "completed"
        elif run["status"] == "completed":
            return _unprocessable("conclusion is required when status is completed")
        out = b.get("output")
        if out is not None:
            if not out.get("summary") or ("title" not in out and not run["output"].get("title")):
                return _unprocessable("output requires title and summary")
            for key in ("summary", "text"):
                if len(out.get(key) or "") > 65535:
                    return _unprocessable(f"output.{key} is too long (maximum is 65535 characters)")
            anns = out.get("annotations") or []
            if len(anns) > 50:
                return _unprocessable("Only 50 annotations are allowed per request")
            for a in anns:
                if not all(
                    a.get(k) for k in ("path", "start_line", "end_line", "message")
                ) or a.get("annotation_level") not in ("notice", "warning", "failure"):
                    return _unprocessable("Invalid annotation")
            run["output"].update({k: out[k] for k in ("title", "summary", "text") if k in out})
            self.annotations.setdefault(run["id"], []).extend(anns)
            run["output"]["annotations_count"] = len(self.annotations[run["id"]])
        return None

    def create_check_run(
        self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any
    ) -> Result:
        denied = self._checks_denied()
        if denied:
            return denied
        b = b if isinstance(b, dict) else {}
        if not b.get("name") or not b.get("head_sha"):
            return _unprocessable("name and head_sha are required")
        run = {"id": self.new_id(), "name": b["name"], "head_sha": b["head_sha"],
               "status": "queued", "conclusion": None,
               "output": {"title": None, "summary": None, "text": None, "annotations_count": 0},
               "app": {"slug": "github-actions"}}  # fmt: skip
        problem = self._apply_check(run, b)
        if problem:
            self.annotations.pop(run["id"], None)
            return problem
        self.check_runs.append(run)
        return 201, run, {}

    def update_check_run(
        self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any
    ) -> Result:
        denied = self._checks_denied()
        if denied:
            return denied
        found = [r for r in self.check_runs if r["id"] == int(g["id"])]
        if not found:
            return 404, {"message": "Not Found"}, {}
        problem = self._apply_check(found[0], b if isinstance(b, dict) else {})
        return problem or (200, found[0], {})

    def create_status(
        self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any
    ) -> Result:
        b = b if isinstance(b, dict) else {}
        if b.get("state") not in ("error", "failure", "pending", "success"):
            return _unprocessable("state is not included in the list")
        if len(b.get("description") or "") > 140:
            return _unprocessable("description is too long (maximum is 140 characters)")
        status = {"id": self.new_id(), "sha": g["sha"], "state": b["state"],
                  "context": b.get("context") or "default", "description": b.get("description"),
                  "target_url": b.get("target_url")}  # fmt: skip
        self.statuses.append(status)
        return 201, status, {}

    def combined_status(
        self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any
    ) -> Result:
        latest: dict[str, dict[str, Any]] = {}
        for s in self.statuses:
            if s["sha"] == g["ref"]:
                latest[s["context"].lower()] = s
        items = list(latest.values())
        states = {s["state"] for s in items}
        combined = ("failure" if states & {"failure", "error"} else
                    "pending" if "pending" in states or not items else "success")  # fmt: skip
        return 200, {"state": combined, "sha": g["ref"], "total_count": len(items),
                     "statuses": items}, {}  # fmt: skip

    # -- routes: refs, contents, teams, app auth --------------------------------------------------
    def delete_ref(self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any) -> Result:
        if g["ref"] not in self.refs:
            return _unprocessable("Reference does not exist")
        self.refs.discard(g["ref"])
        return 204, None, {}

    def get_contents(
        self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any
    ) -> Result:
        ref = q.get("ref", "main")
        data = self.files.get((ref, g["path"]))
        if data is None:
            if any(p.startswith(g["path"].rstrip("/") + "/") for r, p in self.files if r == ref):
                return 200, [{"type": "file", "name": "x"}], {}
            return 404, {"message": "Not Found", "documentation_url": DOCS}, {}
        return 200, {"type": "file", "encoding": "base64", "size": len(data),
                     "name": g["path"].rsplit("/", 1)[-1], "path": g["path"],
                     "sha": hashlib.sha1(data).hexdigest(), "content": b64(data)}, {}  # fmt: skip

    def team_membership(
        self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any
    ) -> Result:
        state = self.teams.get((g["org"], g["slug"], g["user"]))
        if state is None:
            return 404, {"message": "Not Found", "documentation_url": DOCS}, {}
        return 200, {"role": "member", "state": state, "url": "https://api.example/x"}, {}

    def get_installation(
        self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any
    ) -> Result:
        repo = f"{g['owner']}/{g['name']}"
        for iid, r in self.installations.items():
            if r == repo and self.apps.get(who.removeprefix("app:"), ("", -1))[1] == iid:
                return 200, {"id": iid, "app_id": int(who.removeprefix("app:"))}, {}
        return 404, {"message": "Not Found", "documentation_url": DOCS}, {}

    def access_token(
        self, who: str, g: dict[str, str], q: dict[str, str], h: Any, b: Any
    ) -> Result:
        iid = int(g["id"])
        if self.apps.get(who.removeprefix("app:"), ("", -1))[1] != iid:
            return 404, {"message": "Not Found", "documentation_url": DOCS}, {}
        token = f"ghs_installation{len(self.issued_tokens)}x{iid}"
        self.issued_tokens.append(token)
        self.tokens[token] = "prbot-app[bot]"
        return 201, {"token": token, "expires_at": "2099-01-01T00:00:00Z",
                     "permissions": {"pull_requests": "write"},
                     "repository_selection": "selected"}, {}  # fmt: skip

    # -- helpers used by the routes ---------------------------------------------------------------
    def page(self, path: str, query: dict[str, str], items: list[Any]) -> Result:
        per_page = max(1, min(100, int(query.get("per_page", 30))))
        page = max(1, int(query.get("page", 1)))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers: dict[str, str] = {}
        last = max(1, -(-len(items) // per_page))
        if page < last:
            base = f"{self.api_url}{path}"
            nxt = urlencode({**query, "page": page + 1})
            end = urlencode({**query, "page": last})
            headers["Link"] = f'<{base}?{nxt}>; rel="next", <{base}?{end}>; rel="last"'
        return 200, chunk, headers


def _public(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items without the fake's private bookkeeping keys (``_pr``)."""
    return [{k: v for k, v in item.items() if not k.startswith("_")} for item in items]


def _unprocessable(message: str) -> Result:
    return 422, {"message": "Unprocessable Entity", "errors": [message],
                 "documentation_url": DOCS}, {}  # fmt: skip


def _anchor_problem(c: Any, files: dict[str, dict[str, Any]]) -> str | None:
    """Why GitHub would reject this review comment's anchor, or ``None`` if it is accepted."""
    if not isinstance(c, dict) or not c.get("path") or not c.get("body"):
        return "comments need path and body"
    if "position" in c or not isinstance(c.get("line"), int):
        return "Position could not be resolved"
    f = files.get(c["path"])
    if f is None or "patch" not in f:
        return "Pull request review thread path is invalid"
    right, left = _hunks(f["patch"])
    side = c.get("side", "RIGHT")
    lines = right if side == "RIGHT" else left
    if c["line"] not in lines:
        return "Pull request review thread line must be part of the diff"
    if c.get("start_line") is not None:
        start_lines = right if c.get("start_side", side) == "RIGHT" else left
        start = c["start_line"]
        if start not in start_lines or start >= c["line"]:
            return "Pull request review thread start line must be part of the diff"
        if start_lines[start] != lines[c["line"]]:
            return (
                "Pull request review thread start line must be part of the same hunk as the line."
            )
    return None


def b64(data: bytes) -> str:
    """Base64 with line breaks every 60 characters, as the contents API returns it."""
    text = base64.b64encode(data).decode()
    return "\n".join(text[i : i + 60] for i in range(0, len(text), 60)) + "\n"


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    """A running fake GitHub with PR #1 (``SAMPLE_DIFF``) in ``octo/demo``; always shut down."""
    server = FakeGitHub().start()
    server.add_pr(1)
    try:
        yield server
    finally:
        server.close()
