"""End to end on Bitbucket Pipelines: PR pipeline variables, a fake Bitbucket and ``prbot run``, twice."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.bitbucket_server import APP_PASSWORD, TOKEN, USERNAME, FakeBitbucket
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


def _env(fake: FakeBitbucket, **auth: str) -> dict[str, str]:
    pr = fake.prs[1]
    return {
        "CI": "true",
        "BITBUCKET_BUILD_NUMBER": "12",
        "BITBUCKET_PR_ID": "1",
        "BITBUCKET_REPO_FULL_NAME": fake.repo,
        "BITBUCKET_WORKSPACE": fake.repo.split("/")[0],
        "BITBUCKET_REPO_SLUG": fake.repo.split("/")[1],
        "BITBUCKET_COMMIT": pr.head,
        "BITBUCKET_BRANCH": pr.source_branch,
        "PRBOT_BITBUCKET_API_URL": fake.api_url,
        **auth,
    }


def test_pull_request_pipeline_end_to_end(
    tmp_path: Path,
    fake_bitbucket: FakeBitbucket,
    fake_model: FakeModelServer,
) -> None:
    pr = fake_bitbucket.prs[1]
    pr.diff = pr.diff + (
        "diff --git a/src/debug.py b/src/debug.py\nnew file mode 100644\nindex 0000000..1111111\n"
        "--- /dev/null\n+++ b/src/debug.py\n@@ -0,0 +1,2 @@\n+def f():\n+    breakpoint()\n"
    )
    fake_model.responder = lambda req: json.dumps(
        {
            "summary": "",
            "findings": [
                {
                    "path": "src/debug.py",
                    "line": 1,
                    "severity": "info",
                    "message": "name f is vague",
                }
            ],
        }
    )
    env = _env(
        fake_bitbucket,
        PRBOT_BITBUCKET_TOKEN=TOKEN,
        PRBOT_MODEL="openai/gpt-4o-mini",
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=fake_model.base_url,
    )
    first = prbot("run", "--json", cwd=tmp_path, env=env)
    assert first.code == 0, first.err
    doc = first.json()
    assert any(f["rule"] == "debug/breakpoint" for f in doc["findings"])
    assert any(f["source"] == "openai/gpt-4o-mini" for f in doc["findings"])
    assert fake_model.requests and all(TOKEN not in r.text for r in fake_model.requests)
    ours = [c for c in fake_bitbucket.comments if "prbot" in c["content"]["raw"]]
    assert any(c.get("inline") for c in ours), "inline findings are comments with inline.path/to"
    assert fake_bitbucket.statuses and fake_bitbucket.reports
    count = (
        len(fake_bitbucket.comments),
        len(fake_bitbucket.statuses),
        len(fake_bitbucket.reports),
    )

    second = prbot("run", "--json", cwd=tmp_path, env=env)
    assert second.code == 0, second.err
    assert (
        len(fake_bitbucket.comments),
        len(fake_bitbucket.statuses),
        len(fake_bitbucket.reports),
    ) == count
    assert prbot("audit", "verify", cwd=tmp_path).code == 0


def test_app_password_auth(tmp_path: Path, fake_bitbucket: FakeBitbucket) -> None:
    env = _env(fake_bitbucket, BITBUCKET_USERNAME=USERNAME, BITBUCKET_APP_PASSWORD=APP_PASSWORD)
    run = prbot("run", "--json", cwd=tmp_path, env=env)
    assert run.code == 0, run.err
    assert APP_PASSWORD not in run.out + run.err


def test_not_a_pull_request_pipeline(tmp_path: Path, fake_bitbucket: FakeBitbucket) -> None:
    env = _env(fake_bitbucket, PRBOT_BITBUCKET_TOKEN=TOKEN)
    env.pop("BITBUCKET_PR_ID")
    run = prbot("run", cwd=tmp_path, env=env)
    assert run.code == 2 and "pull-request pipeline" in run.err
