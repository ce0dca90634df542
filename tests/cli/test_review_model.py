"""``prbot review`` with a LiteLLM model: a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.fakes.openai_server import FakeModelServer
from tests.helpers import EXAMPLE_DIFF, prbot

MODEL = "openai/gpt-4o-mini"
KEY = {"OPENAI_API_KEY": "sk-test-fake-key-0000"}
RAW_SECRETS = ("AKIAZ7QWERTY234ABCDE", "ghp_x9Kd83Jfq0ZpLm2Wn7Rt5Yv1Bc4Hs6Ue8Ga3")


def _answer(*findings: dict) -> dict:
    return {"summary": "Refund flow lacks a timeout.", "findings": list(findings)}


def test_model_review_end_to_end(tmp_path: Path, fake_model: FakeModelServer) -> None:
    fake_model.enqueue(
        _answer(
            {
                "path": "src/shop/payments.py",
                "line": 23,
                "severity": "warning",
                "rule": "missing-timeout",
                "message": "requests.post without timeout",
            },
            {
                "path": "src/shop/payments.py",
                "line": 3,
                "severity": "info",
                "message": "unused import?",
            },
        )
    )
    run = prbot(
        "review",
        "--diff",
        str(EXAMPLE_DIFF),
        "--json",
        "--model",
        MODEL,
        "--api-base",
        fake_model.base_url,
        cwd=tmp_path,
        env=KEY,
    )
    assert run.code == 0, run.err
    doc = run.json()  # stdout is pure JSON: no LiteLLM banner
    assert doc["model"] == MODEL
    model_findings = [f for f in doc["findings"] if f["source"] == MODEL]
    inline = {(f["line"], f["rule"]) for f in model_findings if f["inline"]}
    assert (23, "llm/missing-timeout") in inline
    # Line 3 is a context line of the diff: commentable. Builtin findings are still there.
    assert any(f["rule"] == "secret/aws-access-key-id" for f in doc["findings"])
    assert doc["usage"]["prompt_tokens"] == 120 and doc["usage"]["completion_tokens"] == 30
    assert doc["model_calls"] == 1
    # What the model was sent: delimited PR data, new-side line numbers, and no secret.
    assert len(fake_model.requests) == 1
    sent = fake_model.requests[0].text
    assert "untrusted-diff" in sent
    assert "   22 +    breakpoint()" in json.loads(sent)["messages"][-1]["content"]
    for secret in RAW_SECRETS:
        assert secret not in sent
    assert (
        fake_model.requests[0].headers.get(
            "Authorization", fake_model.requests[0].headers.get("authorization")
        )
        == "Bearer sk-test-fake-key-0000"
    )
    # The audit has the model call with tokens and latency.
    db = sqlite3.connect(tmp_path / ".prbot" / "audit.db")
    rows = db.execute(
        "select model, prompt_tokens, completion_tokens, latency_ms from model_calls"
    ).fetchall()
    assert len(rows) == 1 and rows[0][:3] == (MODEL, 120, 30) and rows[0][3] > 0


def test_prbot_model_env_and_openai_base_url(tmp_path: Path, fake_model: FakeModelServer) -> None:
    env = {**KEY, "PRBOT_MODEL": MODEL, "OPENAI_BASE_URL": fake_model.base_url}
    run = prbot("review", "--diff", str(EXAMPLE_DIFF), "--json", cwd=tmp_path, env=env)
    assert run.code == 0, run.err
    assert run.json()["model"] == MODEL
    assert len(fake_model.requests) == 1


def test_model_outage_keeps_builtin_findings_and_exits_3(
    tmp_path: Path, fake_model: FakeModelServer
) -> None:
    for _ in range(6):
        fake_model.enqueue(status=500, body={"error": {"message": "boom", "type": "server_error"}})
    (tmp_path / ".prbot.yml").write_text("version: 1\nmodel:\n  max_retries: 0\n  timeout: 5\n")
    run = prbot(
        "review",
        "--diff",
        str(EXAMPLE_DIFF),
        "--json",
        "--model",
        MODEL,
        "--api-base",
        fake_model.base_url,
        cwd=tmp_path,
        env=KEY,
    )
    assert run.code == 3
    doc = run.json()
    assert any(f["rule"].startswith("secret/") for f in doc["findings"])
    assert doc["error"] and "Traceback" not in run.err
    assert run.err.strip().startswith("prbot: error:")
    assert KEY["OPENAI_API_KEY"] not in run.err + run.out
    rec = json.loads(next((tmp_path / ".prbot" / "runs").glob("*.json")).read_text())
    assert rec["exit_code"] == 3


def test_garbage_model_output_degrades_with_warning(
    tmp_path: Path, fake_model: FakeModelServer
) -> None:
    fake_model.enqueue("I think the code is fine!")
    fake_model.enqueue("still not json")
    run = prbot(
        "review",
        "--diff",
        str(EXAMPLE_DIFF),
        "--json",
        "--model",
        MODEL,
        "--api-base",
        fake_model.base_url,
        cwd=tmp_path,
        env=KEY,
    )
    assert run.code == 0, run.err
    doc = run.json()
    assert len(fake_model.requests) == 2
    assert any("not valid JSON" in w or "repair" in w for w in doc["warnings"])
    assert any(f["rule"] == "debug/breakpoint" for f in doc["findings"])


def test_missing_key_explicit_model_is_exit_3(tmp_path: Path) -> None:
    run = prbot("review", "--diff", str(EXAMPLE_DIFF), "--model", MODEL, cwd=tmp_path)
    assert run.code == 3
    assert "OPENAI_API_KEY" in run.err


def test_missing_key_config_model_degrades_locally_but_not_in_ci(tmp_path: Path) -> None:
    (tmp_path / ".prbot.yml").write_text(f"version: 1\nmodel:\n  name: {MODEL}\n")
    local = prbot("review", "--diff", str(EXAMPLE_DIFF), "--json", cwd=tmp_path)
    assert local.code == 0, local.err
    doc = local.json()
    assert doc["model"] == "builtin"
    assert any("OPENAI_API_KEY" in w for w in doc["warnings"])
    ci = prbot("review", "--diff", str(EXAMPLE_DIFF), cwd=tmp_path, env={"CI": "true"})
    assert ci.code == 3 and "OPENAI_API_KEY" in ci.err


def test_unreachable_endpoint(tmp_path: Path) -> None:
    (tmp_path / ".prbot.yml").write_text("version: 1\nmodel:\n  max_retries: 0\n  timeout: 3\n")
    run = prbot(
        "review",
        "--diff",
        str(EXAMPLE_DIFF),
        "--model",
        MODEL,
        "--api-base",
        "http://127.0.0.1:9/v1",
        cwd=tmp_path,
        env=KEY,
    )
    assert run.code == 3
    assert "cannot reach" in run.err
