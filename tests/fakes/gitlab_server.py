"""A stateful fake GitLab REST v4 API on loopback, with the documented shapes and validation.

The GitLab adapter is tested over real HTTP against this server, so what is checked is what it
really sends: the token header, URL-encoded project and file paths, JSON bodies, pagination. It
validates like GitLab where prbot's correctness depends on it: a discussion ``position`` must name
the latest diff version's SHAs and a line of the stored diff of the right kind (added: ``new_line``;
removed: ``old_line``; context: both), else 400 ``line_code``; merges check the head SHA (409) and
mergeability (405/422); approvals check the SHA; a ``JOB-TOKEN`` may read but every write is 403;
notes can only be edited by their author. Line numbers are computed here from the diff text,
independently of prbot's parser. Faults (status + headers for the next N requests to a path,
optionally after the write was applied) script rate limits, 5xx and lost responses.
"""

from __future__ import annotations

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

TOKEN = "glpat-FAKEtoken0123456789"
JOB_TOKEN = "glcbt-FAKEjobtoken98765"
OAUTH_TOKEN = "gloas-FAKEoauth55555"
BOT = "project_7_bot"
BOT_ID = 99
PROJECT = "acme/platform/demo"
PROJECT_ID = 7
NOW = "2024-05-01T12:00:00.000Z"
HEAD = "a" * 40
BASE = "b" * 40
START = "c" * 40
BAD_POSITION = (
    '400 Bad request - Note {:line_code=>["can\'t be blank", "must be a valid line code"]}'
)

#: Per-file ``diff`` texts (hunks only, as the ``/diffs`` endpoint returns them).
APP_DIFF = """\
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
"""
NEW_DIFF = """\
@@ -0,0 +1,2 @@
+# notes
+hello
"""


def sample_diffs() -> list[dict[str, Any]]:
    """The ``/diffs`` items of the default MR: a change, a new file, a rename, a binary, a delete."""
    return [
        {"old_path": "src/app.py", "new_path": "src/app.py", "a_mode": "100644",
         "b_mode": "100644", "diff": APP_DIFF, "new_file": False, "renamed_file": False,
         "deleted_file": False, "generated_file": False},
        {"old_path": "docs/notes.md", "new_path": "docs/notes.md", "a_mode": "0",
         "b_mode": "100644", "diff": NEW_DIFF, "new_file": True, "renamed_file": False,
         "deleted_file": False},
        {"old_path": "lib/old name.py", "new_path": "lib/new name.py", "a_mode": "100644",
         "b_mode": "100644", "diff": "", "new_file": False, "renamed_file": True,
         "deleted_file": False},
        {"old_path": "img/logo.png", "new_path": "img/logo.png", "a_mode": "100644",
         "b_mode": "100644", "diff": "", "new_file": False, "renamed_file": False,
         "deleted_file": False, "too_large": True, "collapsed": True},
        {"old_path": "gone.txt", "new_path": "gone.txt", "a_mode": "100644", "b_mode": "0",
         "diff": "@@ -1 +0,0 @@\n-bye\n", "new_file": False, "renamed_file": False,
         "deleted_file": True},
    ]  # fmt: skip


@dataclass
class FakeMR:
    iid: int
    title: str = "Add feature"
    description: str = "This MR adds a feature."
    author: str = "alice"
    head_sha: str = HEAD
    base_sha: str = BASE
    start_sha: str = START
    source_branch: str = "feature/x"
    target_branch: str = "main"
    source_project_id: int = PROJECT_ID
    labels: list[str] = field(default_factory=list)
    draft: bool = False
    state: str = "opened"
    detailed_merge_status: str = "mergeable"
    merge_commit_sha: str | None = None
    diffs: list[dict[str, Any]] = field(default_factory=sample_diffs)
    approved_by: list[str] = field(default_factory=list)
    reviewer_ids: list[int] = field(default_factory=list)
    pipeline_status: str | None = None  # the latest MR pipeline's status, if any
    auto_merge: bool = False
    conflicts: bool = False


def line_kinds(diff: str) -> tuple[set[int], set[int], set[tuple[int, int]]]:
    """(added new lines, removed old lines, context (old, new) pairs) of one file's hunks."""
    added: set[int] = set()
    removed: set[int] = set()
    context: set[tuple[int, int]] = set()
    old = new = 0
    seen = False
    for line in diff.split("\n"):
        m = re.match(r"@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@", line)
        if m:
            seen, old, new = True, int(m.group(1)), int(m.group(2))
        elif not seen or line.startswith("\\") or line == "":
            continue
        elif line.startswith("+"):
            added.add(new)
            new += 1
        elif line.startswith("-"):
            removed.add(old)
            old += 1
        else:
            context.add((old, new))
            old += 1
            new += 1
    return added, removed, context


class FakeGitLab(FakeForgeServer):
    """The server object the ``fake_gitlab`` fixture yields; all state is public for assertions."""

    default_headers: ClassVar[dict[str, str]] = {
        "RateLimit-Limit": "2000",
        "RateLimit-Remaining": "1999",
    }
    json_content_type: ClassVar[str] = "application/json"

    def __init__(self, project: str = PROJECT, project_id: int = PROJECT_ID) -> None:
        super().__init__()
        self.project = project
        self.project_id = project_id
        self.users: dict[str, int] = {BOT: BOT_ID, "alice": 10, "bob": 11, "carol": 12}
        #: token -> (header kind, username)
        self.tokens: dict[str, tuple[str, str]] = {
            TOKEN: ("private", BOT),
            JOB_TOKEN: ("job", "alice"),
            OAUTH_TOKEN: ("oauth", BOT),
        }
        self.members: dict[int, int] = {10: 30, BOT_ID: 40}  # project: user id -> access level
        self.group_members: dict[tuple[str, int], dict[str, Any]] = {}
        self.mrs: dict[int, FakeMR] = {}
        self.notes: list[dict[str, Any]] = []  # every note of every MR (with a private ``_mr``)
        self.statuses: list[dict[str, Any]] = []
        self.files: dict[tuple[str, str], bytes] = {}
        self.cannot_merge: set[str] = set()  # usernames without merge permission
        self.link_header = True  # False: paginate with ``x-next-page`` only
        self._path = ""
        self.url = self.origin
        self.api_url = f"{self.url}/api/v4"

    # -- scripting --------------------------------------------------------------------------------
    def add_mr(self, iid: int = 1, **kw: Any) -> FakeMR:
        mr = FakeMR(iid=iid, **kw)
        self.mrs[iid] = mr
        return mr

    def add_note(self, iid: int, body: str, *, author: str = "bob", system: bool = False) -> int:
        note = self._note(iid, body, author, system=system)
        self.notes.append(note)
        return int(note["id"])

    def default_fault_body(self, status: int) -> Any:
        return {"message": f"{status} scripted"}

    def mr_notes(self, iid: int = 1) -> list[dict[str, Any]]:
        return [n for n in self.notes if n["_mr"] == iid]

    # -- dispatch ---------------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: dict[str, str], raw: bytes) -> Result:
        parts = urlsplit(raw_path)
        path = parts.path
        query = dict(parse_qsl(parts.query))
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return 400, {"message": "400 Bad request - invalid JSON"}, {}

        def route() -> Result:
            with self._lock:
                self._path = path
                return self._route(method, path, query, headers, body)

        return self.record_and_route(method, path, query, headers, body, route)

    def _who(self, headers: dict[str, str]) -> tuple[str, str] | None:
        if "private-token" in headers:
            found = self.tokens.get(headers["private-token"])
            return found if found and found[0] == "private" else None
        if "job-token" in headers:
            found = self.tokens.get(headers["job-token"])
            return found if found and found[0] == "job" else None
        scheme, _, cred = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and cred in self.tokens:
            return self.tokens[cred]
        return None

    def _route(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any
    ) -> Result:
        if not path.startswith("/api/v4/"):
            return 404, {"error": "404 Not Found"}, {}
        rel = path[len("/api/v4") :]
        who = self._who(headers)
        if who is None:
            return 401, {"message": "401 Unauthorized"}, {}
        kind, user = who
        for verb, pattern, fn in self._routes():
            m = re.fullmatch(pattern, rel)
            if verb != method or not m:
                continue
            if kind == "job" and method != "GET":
                return 403, {"message": "403 Forbidden"}, {}
            g = {k: unquote(v) for k, v in m.groupdict().items()}
            if "pid" in g and g["pid"] not in (self.project, str(self.project_id)):
                return 404, {"message": "404 Project Not Found"}, {}
            if "iid" in g:
                mr = self.mrs.get(int(g["iid"]))
                if mr is None:
                    return 404, {"message": "404 Not found"}, {}
                return fn(user, mr, g, query, body)
            return fn(user, None, g, query, body)
        return 404, {"error": "404 Not Found"}, {}

    def _routes(self) -> list[tuple[str, str, Callable[..., Result]]]:
        r = self
        proj = r"/projects/(?P<pid>[^/]+)"
        mr = proj + r"/merge_requests/(?P<iid>\d+)"
        return [
            ("GET", proj + r"/merge_requests", r.list_mrs),
            ("GET", mr, r.get_mr),
            ("PUT", mr, r.put_mr),
            ("GET", mr + r"/diffs", r.get_diffs),
            ("GET", mr + r"/versions", r.get_versions),
            ("GET", mr + r"/discussions", r.list_discussions),
            ("POST", mr + r"/discussions", r.post_discussion),
            ("GET", mr + r"/notes", r.list_notes),
            ("POST", mr + r"/notes", r.post_note),
            ("PUT", mr + r"/notes/(?P<nid>\d+)", r.put_note),
            ("GET", mr + r"/approvals", r.get_approvals),
            ("POST", mr + r"/approve", r.approve),
            ("POST", mr + r"/unapprove", r.unapprove),
            ("PUT", mr + r"/merge", r.merge),
            ("GET", mr + r"/pipelines", r.mr_pipelines),
            ("POST", proj + r"/statuses/(?P<sha>[0-9a-f]+)", r.post_status),
            ("GET", proj + r"/repository/commits/(?P<sha>[0-9a-f]+)/statuses", r.list_statuses),
            ("GET", proj + r"/repository/files/(?P<fpath>[^/]+)/raw", r.raw_file),
            ("GET", proj + r"/members/all/(?P<uid>\d+)", r.project_member),
            ("GET", r"/groups/(?P<gid>[^/]+)/members/all/(?P<uid>\d+)", r.group_member),
            ("GET", r"/users", r.find_users),
            ("GET", r"/user", r.current_user),
        ]

    # -- merge requests ---------------------------------------------------------------------------
    def user_json(self, name: str) -> dict[str, Any]:
        return {"id": self.users.get(name, 0), "username": name, "name": name.title()}

    def mr_json(self, mr: FakeMR) -> dict[str, Any]:
        inv = {v: k for k, v in self.users.items()}
        return {
            "id": 5000 + mr.iid,
            "iid": mr.iid,
            "project_id": self.project_id,
            "source_project_id": mr.source_project_id,
            "target_project_id": self.project_id,
            "title": mr.title,
            "description": mr.description,
            "state": mr.state,
            "draft": mr.draft,
            "work_in_progress": mr.draft,
            "labels": list(mr.labels),
            "author": self.user_json(mr.author),
            "source_branch": mr.source_branch,
            "target_branch": mr.target_branch,
            "sha": mr.head_sha,
            "diff_refs": {
                "base_sha": mr.base_sha,
                "head_sha": mr.head_sha,
                "start_sha": mr.start_sha,
            },
            "detailed_merge_status": mr.detailed_merge_status,
            "merge_status": "can_be_merged" if mr.detailed_merge_status == "mergeable" else
                            "cannot_be_merged",
            "has_conflicts": mr.conflicts,
            "changes_count": str(len(mr.diffs)),
            "merge_commit_sha": mr.merge_commit_sha,
            "merge_when_pipeline_succeeds": mr.auto_merge,
            "reviewers": [self.user_json(inv.get(i, "?")) for i in mr.reviewer_ids],
            "web_url": f"https://gitlab.example/{self.project}/-/merge_requests/{mr.iid}",
            "created_at": "2024-05-01T10:00:00.000Z",
            "updated_at": NOW,
        }  # fmt: skip

    def list_mrs(self, who: str, _: Any, g: dict[str, str], q: dict[str, str], b: Any) -> Result:
        state = q.get("state", "all")
        items = [self.mr_json(m) for _, m in sorted(self.mrs.items()) if state in ("all", m.state)]
        return self.page(g, q, items)

    def get_mr(self, who: str, mr: FakeMR, g: dict[str, str], q: dict[str, str], b: Any) -> Result:
        return 200, self.mr_json(mr), {}

    def put_mr(self, who: str, mr: FakeMR, g: dict[str, str], q: dict[str, str], b: Any) -> Result:
        if not isinstance(b, dict) or not b:
            return 400, {"error": "title, description, ... are missing, at least one parameter "
                                  "must be provided"}, {}  # fmt: skip
        for key in ("add_labels", "remove_labels", "labels"):
            if key in b and not isinstance(b[key], str):
                return 400, {"error": f"{key} is invalid"}, {}
        if "labels" in b:
            mr.labels = [x for x in b["labels"].split(",") if x]
        for name in (b.get("add_labels") or "").split(","):
            if name and name not in mr.labels:
                mr.labels.append(name)
        drop = {x for x in (b.get("remove_labels") or "").split(",") if x}
        mr.labels = [x for x in mr.labels if x not in drop]
        if "description" in b:
            mr.description = str(b["description"])
        if "reviewer_ids" in b:
            ids = b["reviewer_ids"]
            if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
                return 400, {"error": "reviewer_ids is invalid"}, {}
            mr.reviewer_ids = list(ids)
        return 200, self.mr_json(mr), {}

    def get_diffs(
        self, who: str, mr: FakeMR, g: dict[str, str], q: dict[str, str], b: Any
    ) -> Result:
        return self.page(g, q, [dict(d) for d in mr.diffs])

    def get_versions(
        self, who: str, mr: FakeMR, g: dict[str, str], q: dict[str, str], b: Any
    ) -> Result:
        latest = {
            "id": 300 + mr.iid,
            "head_commit_sha": mr.head_sha,
            "base_commit_sha": mr.base_sha,
            "start_commit_sha": mr.start_sha,
            "created_at": NOW,
            "state": "collected",
            "real_size": str(len(mr.diffs)),
        }
        older = {"id": 200 + mr.iid, "head_commit_sha": "e" * 40, "base_commit_sha": mr.base_sha,
                 "start_commit_sha": mr.start_sha, "created_at": "2024-05-01T09:00:00.000Z",
                 "state": "collected", "real_size": "1"}  # fmt: skip
        return 200, [latest, older], {}

    # -- notes and discussions --------------------------------------------------------------------
    def _note(self, iid: int, body: str, author: str, **kw: Any) -> dict[str, Any]:
        nid = self.new_id()
        return {
            "id": nid,
            "_mr": iid,
            "_discussion": f"{nid:040x}",
            "type": kw.get("type"),
            "body": body,
            "author": self.user_json(author),
            "created_at": NOW,
            "updated_at": NOW,
            "system": bool(kw.get("system")),
            "noteable_type": "MergeRequest",
            "noteable_iid": iid,
            "resolvable": kw.get("type") == "DiffNote",
            "resolved": False,
            **({"position": kw["position"]} if "position" in kw else {}),
        }

    def list_notes(
        self, who: str, mr: FakeMR, g: dict[str, str], q: dict[str, str], b: Any
    ) -> Result:
        notes = _public(self.mr_notes(mr.iid))
        if q.get("sort", "desc") == "desc":
            notes.reverse()
        return self.page(g, q, notes)

    def post_note(
        self, who: str, mr: FakeMR, g: dict[str, str], q: dict[str, str], b: Any
    ) -> Result:
        body = b.get("body") if isinstance(b, dict) else None
        if not isinstance(body, str) or not body.strip():
            return 400, {"message": {"note": ["can't be blank"]}}, {}
        if len(body) > 1_000_000:
            return 400, {"message": {"note": ["is too long (maximum is 1000000 characters)"]}}, {}
        note = self._note(mr.iid, body, who)
        self.notes.append(note)
        return 201, _public([note])[0], {}

    def put_note(
        self, who: str, mr: FakeMR, g: dict[str, str], q: dict[str, str], b: Any
    ) -> Result:
        for note in self.mr_notes(mr.iid):
            if note["id"] == int(g["nid"]):
                if note["author"]["username"] != who or note["system"]:
                    return 403, {"message": "403 Forbidden"}, {}
                if not isinstance(b.get("body"), str) or not b["body"]:
                    return 400, {"error": "body is missing"}, {}
                note["body"] = b["body"]
                return 200, _public([note])[0], {}
        return 404, {"message": "404 Note Not Found"}, {}

    def list_discussions(
        self, who: str, mr: FakeMR, g: dict[str, str], q: dict[str, str], b: Any
    ) -> Result:
        threads: dict[str, dict[str, Any]] = {}
        for note in self.mr_notes(mr.iid):
            d = threads.setdefault(
                note["_discussion"],
                {"id": note["_discussion"], "individual_note": note["type"] != "DiffNote",
                 "notes": []},
            )  # fmt: skip
            d["notes"].append(_public([note])[0])
        return self.page(g, q, list(threads.values()))

    def post_discussion(
        self, who: str, mr: FakeMR, g: dict[str, str], q: dict[str, str], b: Any
    ) -> Result:
        body = b.get("body") if isinstance(b, dict) else None
        if not isinstance(body, str) or not body.strip():
            return 400, {"error": "body is missing"}, {}
        pos = b.get("position")
        if pos is None:
            note = self._note(mr.iid, body, who)
        else:
            problem = self._position_problem(mr, pos)
            if problem:
                return 400, {"message": problem}, {}
            note = self._note(mr.iid, body, who, type="DiffNote", position=dict(pos))
        self.notes.append(note)
        return 201, {"id": note["_discussion"], "individual_note": pos is None,
                     "notes": _public([note])}, {}  # fmt: skip

    def _position_problem(self, mr: FakeMR, pos: Any) -> str | None:
        if not isinstance(pos, dict) or pos.get("position_type") != "text":
            return "400 Bad request - position[position_type] is missing"
        shas = (pos.get("base_sha"), pos.get("start_sha"), pos.get("head_sha"))
        if None in shas:
            return "400 Bad request - position[base_sha] is missing"
        if shas != (mr.base_sha, mr.start_sha, mr.head_sha):
            return BAD_POSITION
        item = next((d for d in mr.diffs if d["new_path"] == pos.get("new_path")), None)
        if item is None or item["old_path"] != pos.get("old_path"):
            return BAD_POSITION
        added, removed, context = line_kinds(item["diff"])
        old, new = pos.get("old_line"), pos.get("new_line")
        for v in (old, new):
            if v is not None and not isinstance(v, int):
                return "400 Bad request - position[new_line] is invalid"
        if old is not None and new is not None:
            ok = (old, new) in context
        elif new is not None:
            ok = new in added
        elif old is not None:
            ok = old in removed
        else:
            ok = False
        return None if ok else BAD_POSITION

    # -- approvals and merge ----------------------------------------------------------------------
    def _approvals(self, mr: FakeMR) -> dict[str, Any]:
        return {
            "iid": mr.iid,
            "approved": bool(mr.approved_by),
            "approvals_required": 1,
            "approvals_left": 0 if mr.approved_by else 1,
            "approved_by": [{"user": self.user_json(u)} for u in mr.approved_by],
        }

    def get_approvals(
        self, who: str, mr: FakeMR, g: dict[str, str], q: dict[str, str], b: Any
    ) -> Result:
        return 200, self._approvals(mr), {}

    def approve(self, who: str, mr: FakeMR, g: dict[str, str], q: dict[str, str], b: Any) -> Result:
        if b.get("sha") is not None and b["sha"] != mr.head_sha:
            return 409, {"message": "SHA does not match HEAD of source branch"}, {}
        if who in mr.approved_by:
            return 401, {"message": "401 Unauthorized"}, {}
        if who == mr.author:
            return 401, {"message": "401 Unauthorized"}, {}
        mr.approved_by.append(who)
        return 201, self._approvals(mr), {}

    def unapprove(
        self, who: str, mr: FakeMR, g: dict[str, str], q: dict[str, str], b: Any
    ) -> Result:
        if who not in mr.approved_by:
            return 404, {"message": "404 Not Found"}, {}
        mr.approved_by.remove(who)
        return 201, self._approvals(mr), {}

    def merge(self, who: str, mr: FakeMR, g: dict[str, str], q: dict[str, str], b: Any) -> Result:
        if who in self.cannot_merge:
            return 401, {"message": "401 Unauthorized"}, {}
        if mr.state != "opened" or mr.draft:
            return 405, {"message": "405 Method Not Allowed"}, {}
        if b.get("sha") is not None and b["sha"] != mr.head_sha:
            return 409, {"message": "SHA does not match HEAD of source branch"}, {}
        auto = bool(b.get("auto_merge") or b.get("merge_when_pipeline_succeeds"))
        if auto and mr.pipeline_status in ("running", "pending"):
            mr.auto_merge = True
            return 200, self.mr_json(mr), {}
        if mr.detailed_merge_status != "mergeable" or mr.pipeline_status in ("running", "failed"):
            return 405, {"message": "405 Method Not Allowed"}, {}
        if mr.conflicts:
            return 422, {"message": "Branch cannot be merged"}, {}
        mr.state = "merged"
        mr.merge_commit_sha = "d" * 40
        data = self.mr_json(mr)
        data["squash"] = bool(b.get("squash"))
        data["should_remove_source_branch"] = bool(b.get("should_remove_source_branch"))
        return 200, data, {}

    def mr_pipelines(
        self, who: str, mr: FakeMR, g: dict[str, str], q: dict[str, str], b: Any
    ) -> Result:
        if mr.pipeline_status is None:
            return 200, [], {}
        latest = {
            "id": 900,
            "sha": mr.head_sha,
            "ref": f"refs/merge-requests/{mr.iid}/head",
            "status": mr.pipeline_status,
            "source": "merge_request_event",
        }
        old = {"id": 800, "sha": "e" * 40, "ref": latest["ref"], "status": "failed"}
        return 200, [latest, old], {}  # fmt: skip

    # -- statuses, files, members, users ----------------------------------------------------------
    def post_status(self, who: str, _: Any, g: dict[str, str], q: dict[str, str], b: Any) -> Result:
        state = b.get("state")
        if state not in ("pending", "running", "success", "failed", "canceled", "skipped"):
            return 400, {"error": "state does not have a valid value"}, {}
        for key in ("description", "target_url", "name"):
            if len(str(b.get(key) or "")) > 255:
                return 400, {"message": {key: ["is too long (maximum is 255 characters)"]}}, {}
        status = {
            "id": self.new_id(),
            "sha": g["sha"],
            "ref": b.get("ref"),
            "status": state,
            "name": b.get("name") or b.get("context") or "default",
            "target_url": b.get("target_url"),
            "description": b.get("description"),
            "created_at": NOW,
            "allow_failure": False,
            "author": self.user_json(who),
        }
        self.statuses.append(status)  # fmt: skip
        return 201, status, {}

    def list_statuses(
        self, who: str, _: Any, g: dict[str, str], q: dict[str, str], b: Any
    ) -> Result:
        mine = [s for s in self.statuses if s["sha"] == g["sha"]]
        if q.get("all") not in ("true", "1"):
            latest: dict[str, dict[str, Any]] = {}
            for s in mine:
                latest[s["name"]] = s
            mine = list(latest.values())
        return self.page(g, q, mine)

    def raw_file(self, who: str, _: Any, g: dict[str, str], q: dict[str, str], b: Any) -> Result:
        data = self.files.get((q.get("ref", "HEAD"), g["fpath"]))
        if data is None:
            return 404, {"message": "404 File Not Found"}, {}
        return 200, data, {"Content-Type": "text/plain"}

    def project_member(
        self, who: str, _: Any, g: dict[str, str], q: dict[str, str], b: Any
    ) -> Result:
        uid = int(g["uid"])
        if uid not in self.members:
            return 404, {"message": "404 Not found"}, {}
        inv = {v: k for k, v in self.users.items()}
        return 200, {**self.user_json(inv.get(uid, "?")), "state": "active",
                     "access_level": self.members[uid]}, {}  # fmt: skip

    def group_member(
        self, who: str, _: Any, g: dict[str, str], q: dict[str, str], b: Any
    ) -> Result:
        member = self.group_members.get((g["gid"], int(g["uid"])))
        if member is None:
            return 404, {"message": "404 Not found"}, {}
        return 200, {"id": int(g["uid"]), **member}, {}

    def find_users(self, who: str, _: Any, g: dict[str, str], q: dict[str, str], b: Any) -> Result:
        name = q.get("username", "")
        return 200, [self.user_json(name)] if name in self.users else [], {}

    def current_user(
        self, who: str, _: Any, g: dict[str, str], q: dict[str, str], b: Any
    ) -> Result:
        return 200, self.user_json(who), {}

    # -- pagination -------------------------------------------------------------------------------
    def page(self, g: dict[str, str], query: dict[str, str], items: list[Any]) -> Result:
        """GitLab offset pagination: default 20 per page, ``Link`` and ``x-*`` headers."""
        per_page = max(1, min(100, int(query.get("per_page", 20))))
        page = max(1, int(query.get("page", 1)))
        chunk = items[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(items) // per_page))
        headers = {"x-page": str(page), "x-per-page": str(per_page), "x-total": str(len(items)),
                   "x-total-pages": str(last),
                   "x-next-page": str(page + 1) if page < last else ""}  # fmt: skip
        if page < last and self.link_header:
            nxt = urlencode({**query, "page": page + 1})
            headers["Link"] = f'<{self.url}{self._path}?{nxt}>; rel="next"'
        return 200, chunk, headers


def _public(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in item.items() if not k.startswith("_")} for item in items]


@pytest.fixture
def fake_gitlab() -> Iterator[FakeGitLab]:
    """A running fake GitLab with MR !1 (``sample_diffs``) in ``acme/platform/demo``."""
    server = FakeGitLab().start()
    server.add_mr(1)
    try:
        yield server
    finally:
        server.close()
