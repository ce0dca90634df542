"""End to end on GitLab: an MR pipeline's variables, a fake GitLab and a fake model on 127.0.0.1.

Run twice: the second run must add no note, no discussion and change no label.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.gitlab_server import PROJECT, TOKEN, FakeGitLab
from tests.fakes.openai_server import FakeModelServer
from tests.helpers import prbot

CONFIG = b"""\
version: 1
labels:
  docs: {color: "0075ca", paths: ["docs/**"]}
rules:
  - name: review
    do:
      review: {}
  - name: label docs
    do:
      label: {from_paths: true}
  - name: status
    do:
      set-status: {name: prbot, conclusion: neutral}
"""


def _env(fake: FakeGitLab) -> dict[str, str]:
    mr = fake.mrs[1]
    return {
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": "1",
        "CI_PROJECT_PATH": PROJECT,
        "CI_MERGE_REQUEST_PROJECT_PATH": PROJECT,
        "CI_API_V4_URL": fake.api_url,
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": mr.base_sha,
        "CI_COMMIT_SHA": mr.head_sha,
        "CI_JOB_URL": "https://gitlab.example/job/1",
        "PRBOT_GITLAB_TOKEN": TOKEN,
    }


def test_merge_request_pipeline_end_to_end(
    tmp_path: Path, fake_gitlab: FakeGitLab, fake_model: FakeModelServer
) -> None:
    mr = fake_gitlab.mrs[1]
    mr.diffs[0]["diff"] = mr.diffs[0]["diff"].replace(
        "+    print(sys.argv)\n", "+    breakpoint()\n"
    )
    fake_gitlab.files[(mr.base_sha, ".prbot.yml")] = CONFIG
    fake_model.responder = lambda req: json.dumps(
        {
            "summary": "",
            "findings": [
                {
                    "path": "src/app.py",
                    "line": 6,
                    "severity": "warning",
                    "message": "check the return code",
                }
            ],
        }
    )
    env = {
        **_env(fake_gitlab),
        "PRBOT_MODEL": "openai/gpt-4o-mini",
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": fake_model.base_url,
    }
    first = prbot(
        "run", "--json", "--codequality", "gl-code-quality-report.json", cwd=tmp_path, env=env
    )
    assert first.code == 0, first.err
    doc = first.json()
    assert any(f["rule"] == "debug/breakpoint" for f in doc["findings"])
    assert any(f["source"] == "openai/gpt-4o-mini" for f in doc["findings"])
    notes = fake_gitlab.mr_notes(1)
    assert any("<!-- prbot:summary -->" in n["body"] for n in notes)
    inline = [n for n in notes if n.get("position")]
    assert inline, "inline findings are discussions with a position"
    assert all(n["position"]["head_sha"] == mr.head_sha for n in inline)
    assert "docs" in mr.labels
    assert fake_gitlab.statuses and fake_gitlab.statuses[-1]["name"] == "prbot"
    cq = json.loads((tmp_path / "gl-code-quality-report.json").read_text())
    assert any(i["check_name"] == "debug/breakpoint" for i in cq)

    count = len(fake_gitlab.mr_notes(1))
    second = prbot("run", "--json", cwd=tmp_path, env=env)
    assert second.code == 0, second.err
    assert len(fake_gitlab.mr_notes(1)) == count, "second run must not add notes"
    assert sorted(mr.labels) == sorted(set(mr.labels))
    assert prbot("audit", "verify", cwd=tmp_path).code == 0


def test_job_token_only_still_reports(tmp_path: Path, fake_gitlab: FakeGitLab) -> None:
    env = _env(fake_gitlab)
    env.pop("PRBOT_GITLAB_TOKEN")
    env["CI_JOB_TOKEN"] = "glcbt-FAKEjobtoken98765"
    run = prbot("run", "--json", cwd=tmp_path, env=env)
    assert run.code in (0, 3), run.err
    text = run.out + run.err
    assert "PRBOT_GITLAB_TOKEN" in text
    assert not [n for n in fake_gitlab.mr_notes(1) if "prbot" in n["body"]]


def test_not_a_merge_request_pipeline(tmp_path: Path, fake_gitlab: FakeGitLab) -> None:
    env = _env(fake_gitlab)
    env.pop("CI_MERGE_REQUEST_IID")
    run = prbot("run", cwd=tmp_path, env=env)
    assert run.code == 2 and "merge_request_event" in run.err


def test_merge_when_pipeline_succeeds_at_the_reviewed_sha(
    tmp_path: Path, fake_gitlab: FakeGitLab
) -> None:
    mr = fake_gitlab.mrs[1]
    mr.pipeline_status = "running"
    fake_gitlab.files[(mr.base_sha, ".prbot.yml")] = (
        b"version: 1\nrules:\n  - name: automerge\n    if: ['#findings-error=0']\n"
        b"    do:\n      merge: {method: squash, when_pipeline_succeeds: true}\n"
    )
    run = prbot("run", "--json", cwd=tmp_path, env=_env(fake_gitlab))
    assert run.code == 0, run.err
    puts = fake_gitlab.calls("PUT", "/merge$")
    assert puts and puts[0].json["sha"] == mr.head_sha and puts[0].json["squash"] is True
    assert mr.auto_merge
