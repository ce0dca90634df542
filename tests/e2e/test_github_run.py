"""End to end: a GitHub ``pull_request`` event, a fake GitHub and a fake model on 127.0.0.1, ``prbot run``.

The second run on the same PR must post nothing new: the summary is edited in place, inline
comments are recognised by their markers, labels are already there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.github_server import TOKEN, FakeGitHub
from tests.fakes.openai_server import FakeModelServer
from tests.helpers import prbot

DIFF = """\
diff --git a/src/app.py b/src/app.py
index 1111111..2222222 100644
--- a/src/app.py
+++ b/src/app.py
@@ -1,3 +1,6 @@
 import os
+API_KEY = "AKIAZ7QWERTY234ABCDE"
 CONSTANT = 1
 def main():
+    breakpoint()
+    return 0
diff --git a/docs/guide.md b/docs/guide.md
index 1111111..2222222 100644
--- a/docs/guide.md
+++ b/docs/guide.md
@@ -1,2 +1,3 @@
 # Guide
+More words.
 End.
"""

CONFIG = """\
version: 1
labels:
  documentation: {color: "0075ca", paths: ["docs/**"]}
rules:
  - name: review every PR
    do:
      review: {}
  - name: label docs
    do:
      label: {from_paths: true}
  - name: check
    do:
      set-status: {name: prbot, conclusion: neutral, description: "{{ findings.total }} finding(s)"}
  - name: merge when labelled
    if: ["label=automerge", "#findings-error=0"]
    do:
      merge: {method: squash}
"""


def _event(tmp: Path, fake: FakeGitHub, number: int = 1, *, fork: bool = False) -> dict[str, str]:
    pr = fake.prs[number]
    payload = {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "title": pr.title,
            "body": pr.body,
            "draft": False,
            "user": {"login": pr.author, "type": "User"},
            "author_association": pr.author_association,
            "head": {
                "sha": pr.head_sha,
                "ref": pr.head_ref,
                "repo": {"full_name": "someone/demo" if fork else fake.repo, "fork": fork},
            },
            "base": {"sha": pr.base_sha, "ref": pr.base_ref, "repo": {"full_name": fake.repo}},
            "labels": [{"name": n} for n in pr.labels],
        },
        "repository": {"full_name": fake.repo},
        "sender": {"login": pr.author},
    }
    path = tmp / "event.json"
    path.write_text(json.dumps(payload))
    summary, output = tmp / "summary.md", tmp / "output.txt"
    summary.touch()
    output.touch()
    return {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_REPOSITORY": fake.repo,
        "GITHUB_API_URL": fake.api_url,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "7",
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
    }


@pytest.fixture
def pr_setup(fake_github: FakeGitHub) -> FakeGitHub:
    pr = fake_github.prs[1]
    pr.diff = DIFF
    pr.labels = ["automerge"]
    fake_github.files[(pr.base_sha, ".prbot.yml")] = CONFIG.encode()
    return fake_github


def test_pull_request_event_end_to_end(
    tmp_path: Path, pr_setup: FakeGitHub, fake_model: FakeModelServer
) -> None:
    fake = pr_setup
    fake_model.responder = lambda req: json.dumps(
        {
            "summary": "ok",
            "findings": [
                {
                    "path": "src/app.py",
                    "line": 6,
                    "severity": "warning",
                    "rule": "unused-return",
                    "message": "return value never used",
                }
            ],
        }
    )
    env = {
        **_event(tmp_path, fake),
        "PRBOT_MODEL": "openai/gpt-4o-mini",
        "OPENAI_API_KEY": "sk-test-fake",
        "OPENAI_BASE_URL": fake_model.base_url,
    }
    first = prbot("run", "--json", cwd=tmp_path, env=env)
    assert first.code == 0, first.err
    doc = first.json()
    rules = {(f["path"], f["line"], f["rule"]) for f in doc["findings"]}
    assert ("src/app.py", 2, "secret/aws-access-key-id") in rules
    assert ("src/app.py", 6, "llm/unused-return") in rules
    # One review carrying the inline comments, anchored on the reviewed head SHA.
    assert len(fake.reviews) == 1
    review = fake.reviews[0]
    assert review["commit_id"] == fake.prs[1].head_sha
    inline = [c for c in fake.review_comments]
    assert {(c["path"], c["line"]) for c in inline} >= {
        ("src/app.py", 2),
        ("src/app.py", 5),
        ("src/app.py", 6),
    }
    assert all("AKIAZ7QWERTY234ABCDE" not in c["body"] for c in inline)
    # The summary comment, the label from paths, the check run, the guarded merge.
    summaries = [c for c in fake.issue_comments if "<!-- prbot:summary -->" in c["body"]]
    assert len(summaries) == 1
    assert "documentation" in fake.prs[1].labels and "automerge" in fake.prs[1].labels
    assert len(fake.check_runs) == 1 and fake.check_runs[0]["name"] == "prbot"
    # #findings-error>0 (the planted key): the merge rule does not match.
    assert not fake.prs[1].merged
    assert doc["plan"]["matched"] == ["review every PR", "label docs", "check"]
    # No secret reached the model.
    assert all("AKIAZ7QWERTY234ABCDE" not in r.text for r in fake_model.requests)
    # Outputs for the workflow, and the step summary.
    outputs = (tmp_path / "output.txt").read_text()
    assert "verdict=request-changes" in outputs and "findings=" in outputs
    assert "prbot" in (tmp_path / "summary.md").read_text()
    assert doc["api_calls"] <= 12

    before = (
        len(fake.reviews),
        len(fake.review_comments),
        len(fake.issue_comments),
        len(fake.check_runs),
    )
    second = prbot("run", "--json", cwd=tmp_path, env=env)
    assert second.code == 0, second.err
    after = (
        len(fake.reviews),
        len(fake.review_comments),
        len(fake.issue_comments),
        len(fake.check_runs),
    )
    assert after[:3] == before[:3], "second run must post nothing new"
    assert (
        any(r.method == "PATCH" for r in fake.calls("PATCH", "/issues/comments/"))
        or second.json()["writes"]
    )
    # The audit records both runs' writes with the forge's ids, and the chain verifies.
    assert prbot("audit", "verify", cwd=tmp_path).code == 0


def test_merge_with_reviewed_sha_when_rules_hold(tmp_path: Path, pr_setup: FakeGitHub) -> None:
    fake = pr_setup
    fake.prs[1].diff = DIFF.replace(
        '+API_KEY = "AKIAZ7QWERTY234ABCDE"\n', "+NAME = 'demo'\n"
    ).replace("@@ -1,3 +1,6 @@", "@@ -1,3 +1,6 @@")
    fake.prs[1].diff = fake.prs[1].diff.replace("+    breakpoint()\n", "+    value = 1\n")
    env = _event(tmp_path, fake)
    run = prbot("run", "--json", cwd=tmp_path, env=env)
    assert run.code == 0, run.err
    assert fake.prs[1].merged
    merges = fake.calls("PUT", "/merge$")
    assert (
        merges
        and merges[0].json["sha"] == fake.prs[1].head_sha
        and merges[0].json["merge_method"] == "squash"
    )


def test_dry_run_writes_nothing(tmp_path: Path, pr_setup: FakeGitHub) -> None:
    env = _event(tmp_path, pr_setup)
    run = prbot("run", "--dry-run", "--json", cwd=tmp_path, env=env)
    assert run.code == 0, run.err
    assert not pr_setup.reviews and not pr_setup.issue_comments and not pr_setup.check_runs
    assert not pr_setup.calls("POST") and not pr_setup.calls("PATCH") and not pr_setup.calls("PUT")
    doc = run.json()
    assert doc["dry_run"] is True and all(w["skipped"] for w in doc["writes"])


def test_explain_shows_conditions(tmp_path: Path, pr_setup: FakeGitHub) -> None:
    env = _event(tmp_path, pr_setup)
    run = prbot("explain", "--no-color", cwd=tmp_path, env=env)
    assert run.code == 0, run.err
    assert "merge when labelled" in run.out and "not matched" in run.out
    assert "#findings-error=0" in run.out
    assert not pr_setup.reviews


def test_no_config_uses_default_pipeline(tmp_path: Path, fake_github: FakeGitHub) -> None:
    fake_github.prs[1].diff = DIFF
    env = _event(tmp_path, fake_github)
    run = prbot("run", "--json", cwd=tmp_path, env=env)
    assert run.code == 0, run.err
    doc = run.json()
    assert doc["plan"]["default_rules"] is True
    assert len(fake_github.reviews) == 1 and fake_github.check_runs
    assert not fake_github.calls("PUT", "/merge$")
    assert any("default pipeline" in n for n in doc["notes"])


def test_fork_pr_with_read_only_token_still_succeeds(
    tmp_path: Path, fake_github: FakeGitHub
) -> None:
    fake_github.prs[1].diff = DIFF
    fake_github.inject(
        "POST",
        "/reviews$",
        403,
        body={"message": "Resource not accessible by integration"},
        times=5,
    )
    env = _event(tmp_path, fake_github, fork=True)
    run = prbot("run", cwd=tmp_path, env=env)
    assert run.code == 0, run.err
    assert "::error file=src/app.py,line=2" in run.out
    assert "could not write" in (tmp_path / "summary.md").read_text()


def test_bad_event_payload_and_missing_token(tmp_path: Path, fake_github: FakeGitHub) -> None:
    env = _event(tmp_path, fake_github)
    (tmp_path / "event.json").write_text("{not json")
    bad = prbot("run", cwd=tmp_path, env=env)
    assert bad.code == 2 and bad.err.startswith("prbot: error:") and "Traceback" not in bad.err
    env = _event(tmp_path, fake_github)
    env.pop("GITHUB_TOKEN")
    missing = prbot("run", cwd=tmp_path, env=env)
    assert missing.code == 2 and "GITHUB_TOKEN" in missing.err
    push = {**_event(tmp_path, fake_github), "GITHUB_EVENT_NAME": "push"}
    assert prbot("run", cwd=tmp_path, env=push).code == 2


def test_local_branch_run_sends_nothing(tmp_path: Path, git_repo: Path) -> None:
    from tests.conftest import git

    git(git_repo, "checkout", "-q", "-b", "topic")
    (git_repo / "a.py").write_text("def f():\n    breakpoint()\n")
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-q", "-m", "a")
    run = prbot("run", "--json", cwd=git_repo)
    assert run.code == 0, run.err
    doc = run.json()
    assert doc["api_calls"] == 0
    assert any(f["rule"] == "debug/breakpoint" for f in doc["findings"])
    assert doc["writes"] and all("local run" in w["detail"] for w in doc["writes"])
    shown = prbot("run", "--no-color", cwd=git_repo)
    assert "(no conditions: always)" in shown.out


def test_pr_url_of_an_unsupported_forge(tmp_path: Path) -> None:
    run = prbot(
        "run",
        "--pr",
        "https://bitbucket.example.org/projects/X/repos/y/pull-requests/5",
        cwd=tmp_path,
    )
    assert run.code == 2 and (
        "not supported" in run.err or "not a pull/merge request URL" in run.err
    )
    garbage = prbot("run", "--pr", "https://example.com/nothing", cwd=tmp_path)
    assert garbage.code == 2 and "not a pull/merge request URL" in garbage.err


def test_label_classify_is_restricted_to_defined_labels(
    tmp_path: Path, fake_github: FakeGitHub, fake_model: FakeModelServer
) -> None:
    pr = fake_github.prs[1]
    pr.diff = DIFF
    config = (
        "version: 1\nlabels:\n  documentation: {description: Docs only}\n  bug: {}\n"
        "rules:\n  - name: classify\n    do:\n      label: {classify: true}\n"
    )
    fake_github.files[(pr.base_sha, ".prbot.yml")] = config.encode()

    def answer(req):
        if "You label pull requests" in req.text:
            return json.dumps({"labels": ["documentation", "security-approved"]})
        return json.dumps({"summary": "", "findings": []})

    fake_model.responder = answer
    env = {
        **_event(tmp_path, fake_github),
        "PRBOT_MODEL": "openai/gpt-4o-mini",
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": fake_model.base_url,
    }
    run = prbot("run", "--json", cwd=tmp_path, env=env)
    assert run.code == 0, run.err
    assert pr.labels == ["documentation"]


def test_codeowners_approval_read_from_the_base_branch(
    tmp_path: Path, fake_github: FakeGitHub
) -> None:
    pr = fake_github.prs[1]
    pr.diff = DIFF
    config = (
        "version: 1\nrules:\n  - name: owners approved\n    if: [codeowners-approved]\n"
        "    do:\n      comment: {body: owners approved}\n"
    )
    fake_github.files[(pr.base_sha, ".prbot.yml")] = config.encode()
    fake_github.files[(pr.base_sha, ".github/CODEOWNERS")] = b"*.py @bob\ndocs/ @carol\n"
    env = _event(tmp_path, fake_github)

    def approve(login: str) -> None:
        fake_github.reviews.append(
            {"_pr": 1, "id": fake_github.new_id(), "user": {"login": login, "type": "User"},
             "body": "", "state": "APPROVED", "commit_id": pr.head_sha}
        )  # fmt: skip

    approve("bob")
    first = prbot("run", "--json", cwd=tmp_path, env=env).json()
    # The forge is asked about reviews once per run, not once per rule evaluation.
    assert len(fake_github.calls("GET", "/reviews$")) == 1
    assert first["plan"]["matched"] == [], "docs/guide.md still lacks its owner's approval"
    approve("carol")
    second = prbot("run", "--json", cwd=tmp_path, env=env).json()
    assert second["plan"]["matched"] == ["owners approved"]
    # A CODEOWNERS on the PR head is never read: only the base SHA was asked for.
    refs = {r.query.get("ref") for r in fake_github.calls("GET", "/contents/")}
    assert refs == {pr.base_sha}
