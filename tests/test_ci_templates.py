"""The GitLab template, the Bitbucket pipe and its image: parsed, cross-checked and the pipe script run."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from prbot import __version__
from tests.helpers import REPO

TEMPLATE = REPO / ".gitlab-ci-template.yml"
PIPE_YML = REPO / "bitbucket-pipe.yml"
PIPE_SH = REPO / "pipe" / "pipe.sh"
DOCKERFILE = REPO / "Dockerfile"
MR_RULE = '$CI_PIPELINE_SOURCE == "merge_request_event"'


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def resolved_job(doc: dict, name: str) -> dict:
    """The job after GitLab's ``extends`` (hashes merged deeply, the job's own keys win)."""

    def merge(base: dict, over: dict) -> dict:
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        return out

    job = doc[name]
    parents = job.get("extends", [])
    merged: dict = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        merged = merge(merged, resolved_job(doc, parent))
    return merge(merged, {k: v for k, v in job.items() if k != "extends"})


def script_text(job: dict) -> str:
    return "\n".join(job["script"])


# --- GitLab -------------------------------------------------------------------------------------


def test_gitlab_job_runs_only_in_merge_request_pipelines() -> None:
    doc = load(TEMPLATE)
    assert ".prbot" in doc
    job = resolved_job(doc, "prbot")
    assert job["rules"] == [{"if": MR_RULE}]
    assert job["image"] == "python:3.12-slim"
    assert job["interruptible"] is True
    # Only the hidden job and the job: a template must not add stages or global variables.
    assert set(doc) == {".prbot", "prbot"}


def test_gitlab_codequality_artifact_is_the_file_prbot_writes() -> None:
    job = resolved_job(load(TEMPLATE), "prbot")
    script = script_text(job)
    written = re.search(r"--codequality\s+(\S+)", script)
    sarif = re.search(r"--sarif\s+(\S+)", script)
    assert written and sarif
    artifacts = job["artifacts"]
    assert artifacts["reports"]["codequality"] == written.group(1)
    assert artifacts["when"] == "always"
    assert artifacts["expire_in"]
    assert {".prbot/", written.group(1), sarif.group(1)} <= set(artifacts["paths"])
    assert "prbot run" in script


def test_gitlab_install_uses_the_pip_spec_variable() -> None:
    job = resolved_job(load(TEMPLATE), "prbot")
    assert job["variables"]["PRBOT_PIP_SPEC"] == "prbot"
    assert '"$PRBOT_PIP_SPEC"' in script_text(job)
    text = TEMPLATE.read_text()
    for name in ("PRBOT_GITLAB_TOKEN", "PRBOT_MODEL", "masked", "api"):
        assert name in text


def test_gitlab_script_maps_variables_to_flags(tmp_path: Path) -> None:
    """The job's shell lines, run by sh with a stub prbot: flags, dry run, extra args unglobbed."""
    job = resolved_job(load(TEMPLATE), "prbot")
    run_lines = [line for line in job["script"] if "pip install" not in line]
    env = stub_env(tmp_path)
    (tmp_path / "work" / "keep.txt").parent.mkdir()
    (tmp_path / "work" / "keep.txt").write_text("")
    env.update(PRBOT_FAIL_ON="error", PRBOT_DRY_RUN="true", PRBOT_EXTRA_ARGS="--pr-number 7 *")
    out = subprocess.run(
        ["sh", "-euc", "\n".join(run_lines)],
        cwd=tmp_path / "work",
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert stub_args(out) == [
        "run",
        "--codequality",
        "gl-code-quality-report.json",
        "--sarif",
        "prbot.sarif",
        "--fail-on",
        "error",
        "--dry-run",
        "--pr-number",
        "7",
        "*",
    ]


def test_gitlab_example_includes_the_template() -> None:
    doc = load(REPO / "examples" / "gitlab" / ".gitlab-ci.yml")
    includes = doc["include"]
    assert any(i.get("file") == "/.gitlab-ci-template.yml" for i in includes)
    assert "PRBOT_MODEL" in doc["prbot"]["variables"]


# --- Bitbucket pipe -----------------------------------------------------------------------------


def pipe_variables() -> list[dict]:
    return load(PIPE_YML)["variables"]


def test_pipe_metadata_is_complete() -> None:
    meta = load(PIPE_YML)
    for key in ("name", "image", "description", "repository", "maintainer", "tags", "variables"):
        assert meta.get(key), key
    assert meta["image"].endswith(f":{__version__}")  # the image tag follows the release
    for var in meta["variables"]:
        assert set(var) >= {"name", "default", "description", "required"}, var
        assert isinstance(var["required"], bool)
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", var["name"])
    names = [v["name"] for v in meta["variables"]]
    assert len(names) == len(set(names))
    assert {"PRBOT_BITBUCKET_TOKEN", "MODEL", "FAIL_ON", "DRY_RUN", "EXTRA_ARGS"} <= set(names)


def test_every_pipe_variable_is_used_by_the_script() -> None:
    script = PIPE_SH.read_text()
    for var in pipe_variables():
        assert re.search(rf"\b{var['name']}\b", script), var["name"]
    assert "eval" not in re.sub(r"#.*", "", script)
    assert "set -euo pipefail" in script


def test_pipe_script_is_valid_shell() -> None:
    subprocess.run(["bash", "-n", str(PIPE_SH)], check=True, timeout=30)
    assert os.access(PIPE_SH, os.X_OK) or PIPE_SH.stat().st_mode & stat.S_IXUSR
    if shutil.which("shellcheck"):
        proc = subprocess.run(
            ["shellcheck", str(PIPE_SH)], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stdout


def stub_env(tmp_path: Path) -> dict[str, str]:
    """PATH with a fake ``prbot`` that prints each argument on its own line, NUL-framed."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    stub = bindir / "prbot"
    stub.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        "sys.stdout.write('\\0'.join(['ARGS', *sys.argv[1:]]) + '\\0END\\n')\n"
        "token = os.environ.get('PRBOT_BITBUCKET_TOKEN')\n"
        "sys.stdout.write('TOKEN=' + repr(token) + '\\n')\n"
    )
    stub.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("BITBUCKET_CLONE_DIR",)}
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    return env


def stub_args(out: str) -> list[str]:
    framed = out[out.index("ARGS\0") : out.index("\0END")]
    return framed.split("\0")[1:]


def run_pipe(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = stub_env(tmp_path)
    env.update(variables)
    work = tmp_path / "clone"
    work.mkdir(exist_ok=True)
    return subprocess.run(
        ["bash", str(PIPE_SH)], cwd=work, env=env, capture_output=True, text=True, timeout=30
    )


def test_pipe_defaults(tmp_path: Path) -> None:
    proc = run_pipe(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert stub_args(proc.stdout) == ["run", "--fail-on", "never"]
    assert "TOKEN=None" in proc.stdout


def test_pipe_maps_every_variable_with_spaces_and_quotes(tmp_path: Path) -> None:
    tricky = "my model 'x' \"y\" $(touch pwned) `id` ;"
    proc = run_pipe(
        tmp_path,
        PRBOT_BITBUCKET_TOKEN="tok en'\"",
        MODEL=tricky,
        API_BASE="http://127.0.0.1:9/v1",
        CONFIG="conf dir/.prbot.yml",
        FAIL_ON="warning",
        DRY_RUN="TRUE",
        SARIF_FILE="out dir/prbot.sarif",
        EXTRA_ARGS="  --pr-number   42\n'quoted arg' *  ",
        DEBUG="1",
    )
    assert proc.returncode == 0, proc.stderr
    assert stub_args(proc.stdout) == [
        "run",
        "--fail-on",
        "warning",
        "--model",
        tricky,
        "--api-base",
        "http://127.0.0.1:9/v1",
        "--config",
        "conf dir/.prbot.yml",
        "--sarif",
        "out dir/prbot.sarif",
        "--dry-run",
        "--verbose",
        "--pr-number",
        "42",
        "'quoted",
        "arg'",
        "*",
    ]
    # The token reaches prbot through the environment, intact, and never as a flag.
    assert "TOKEN='tok en\\'\"'" in proc.stdout
    assert not (tmp_path / "clone" / "pwned").exists()


def test_pipe_false_values_add_no_flags(tmp_path: Path) -> None:
    proc = run_pipe(tmp_path, DRY_RUN="false", DEBUG="0", MODEL="", EXTRA_ARGS="   ")
    assert proc.returncode == 0, proc.stderr
    assert stub_args(proc.stdout) == ["run", "--fail-on", "never"]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"FAIL_ON": "sometimes"}, "FAIL_ON must be error, warning or never"),
        ({"DRY_RUN": "maybe"}, "DRY_RUN must be true or false"),
        ({"DEBUG": "yes please"}, "DEBUG must be true or false"),
    ],
)
def test_pipe_rejects_bad_values(tmp_path: Path, variables: dict[str, str], message: str) -> None:
    proc = run_pipe(tmp_path, **variables)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "ARGS" not in proc.stdout  # prbot was not started


def test_pipe_runs_in_the_clone_dir(tmp_path: Path) -> None:
    clone = tmp_path / "the clone"
    clone.mkdir()
    env = stub_env(tmp_path)
    env["BITBUCKET_CLONE_DIR"] = str(clone)
    env["HOME"] = str(tmp_path / "home")
    (tmp_path / "home").mkdir()
    (tmp_path / "bin" / "prbot").write_text("#!/bin/sh\npwd\n")
    proc = subprocess.run(
        ["bash", str(PIPE_SH)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(clone)


def test_dockerfile_has_entrypoint_and_non_root_user() -> None:
    lines = [ln.strip() for ln in DOCKERFILE.read_text().splitlines() if ln.strip()]
    instructions = [ln for ln in lines if not ln.startswith("#")]
    assert instructions[0].startswith("FROM python:3.12-slim")
    users = [ln.split()[1] for ln in instructions if ln.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    entry = [ln for ln in instructions if ln.startswith("ENTRYPOINT")]
    assert entry == ['ENTRYPOINT ["/pipe/pipe.sh"]']
    assert any(ln.startswith("COPY pipe/pipe.sh /pipe/pipe.sh") for ln in instructions)
    # The last USER comes after every RUN (nothing installed as that user afterwards needs root).
    last_user = max(i for i, ln in enumerate(instructions) if ln.startswith("USER "))
    assert last_user > max(i for i, ln in enumerate(instructions) if ln.startswith("RUN "))


def test_bitbucket_example_uses_the_pipe() -> None:
    doc = load(REPO / "examples" / "bitbucket" / "bitbucket-pipelines.yml")
    steps = doc["pipelines"]["pull-requests"]["**"]
    step = steps[0]["step"]
    pipe = next(s for s in step["script"] if isinstance(s, dict) and "pipe" in s)
    image = load(PIPE_YML)["image"]
    assert pipe["pipe"] == f"docker://{image}"
    assert pipe["variables"]["PRBOT_BITBUCKET_TOKEN"] == "$PRBOT_BITBUCKET_TOKEN"
    known = {v["name"] for v in pipe_variables()}
    assert {k for k in pipe["variables"] if not k.endswith("_API_KEY")} <= known
    assert ".prbot/**" in step["artifacts"]
