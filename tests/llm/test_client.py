from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from prbot.errors import ExitCode, ModelError
from prbot.llm.client import LLMClient, ModelCallError
from prbot.llm.providers import key_var, missing_key
from prbot.review.model_output import REVIEW_JSON_SCHEMA
from tests.fakes.openai_server import FakeModelServer
from tests.llm.conftest import FAKE_KEY, MODEL, model_settings

AWS_KEY = "AKIA" + "Q3EGRTZNWX7KP4LD"
MESSAGES = [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "hi"}]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fail(client: LLMClient, **kw: object) -> ModelCallError:
    with pytest.raises(ModelError) as info:
        client.complete(MESSAGES, **kw)  # type: ignore[arg-type]
    err = info.value
    assert isinstance(err, ModelCallError)
    text = err.one_line()
    assert "\n" not in text and FAKE_KEY not in text and AWS_KEY not in text
    assert err.exit_code == ExitCode.UNAVAILABLE
    assert err.call.error == err.message
    return err


def test_litellm_is_imported_lazily_offline_and_quietly() -> None:
    code = (
        "import json, os, sys\n"
        "import prbot.llm.client as c, prbot.llm.providers, prbot.review.llm_reviewer\n"
        "before = 'litellm' in sys.modules\n"
        "lib = c.load_litellm()\n"
        "n = c.LLMClient(c.ModelSettings(), 'openai/gpt-4o-mini').count_tokens('hello world')\n"
        "print(json.dumps({'before': before, 'after': 'litellm' in sys.modules,\n"
        "  'cost_map': os.environ.get('LITELLM_LOCAL_MODEL_COST_MAP'),\n"
        "  'tiktoken': os.path.isdir(os.environ.get('TIKTOKEN_CACHE_DIR', '')),\n"
        "  'quiet': lib.suppress_debug_info, 'tokens': n}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITELLM_", "TIKTOKEN_"))}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    )
    report = json.loads(out.stdout)  # nothing but our line on stdout
    assert report == {
        "before": False,
        "after": True,
        "cost_map": "True",
        "tiktoken": True,
        "quiet": True,
        "tokens": 2,
    }
    assert "cost map" not in out.stderr  # no attempt to fetch it


# --- keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "var"),
    [
        ("openai/gpt-4o-mini", "OPENAI_API_KEY"),
        ("gpt-4o", "OPENAI_API_KEY"),
        ("anthropic/claude-3-5-sonnet-latest", "ANTHROPIC_API_KEY"),
        ("claude-3-haiku", "ANTHROPIC_API_KEY"),
        ("gemini/gemini-1.5-flash", "GEMINI_API_KEY"),
        ("azure/my-deployment", "AZURE_API_KEY"),
        ("mistral/mistral-large-latest", "MISTRAL_API_KEY"),
        ("groq/llama3-70b", "GROQ_API_KEY"),
    ],
)
def test_missing_key_names_the_provider_variable(model: str, var: str) -> None:
    assert key_var(model) == var
    assert missing_key(model) == var


def test_missing_key_is_none_when_set_or_self_hosted(monkeypatch: pytest.MonkeyPatch) -> None:
    assert missing_key("openai/gpt-4o-mini", api_base="http://127.0.0.1:8000/v1") is None
    assert missing_key("ollama/llama3") is None  # no key needed
    assert missing_key("bedrock/anthropic.claude-v2") is None  # credential chain, not one variable
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1")
    assert missing_key("openai/gpt-4o-mini") is None
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    assert missing_key("openai/gpt-4o-mini") is None
    monkeypatch.setenv("GOOGLE_API_KEY", "x" * 20)  # gemini's alternative variable
    assert missing_key("gemini/gemini-1.5-flash") is None


# --- successful calls ----------------------------------------------------------------------------


def test_complete_sends_schema_and_records_usage_and_cost(
    fake_model: FakeModelServer, openai_key: str
) -> None:
    fake_model.enqueue(
        '{"summary": "ok", "findings": []}', prompt_tokens=1000, completion_tokens=100
    )
    client = LLMClient(model_settings(fake_model), MODEL)
    result = client.complete(MESSAGES, json_schema=REVIEW_JSON_SCHEMA)
    assert result.text == '{"summary": "ok", "findings": []}'
    assert result.finish_reason == "stop"
    [req] = fake_model.requests
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == f"Bearer {FAKE_KEY}"
    body = req.body
    assert body["model"] == "gpt-4o-mini" and body["messages"] == MESSAGES
    assert body["temperature"] == 0.0
    assert body.get("max_tokens", body.get("max_completion_tokens")) == 512
    rf = body["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["strict"] is True
    assert rf["json_schema"]["schema"]["required"] == ["summary", "findings"]
    call = result.call
    assert (call.model, call.prompt_tokens, call.completion_tokens, call.purpose) == (
        MODEL,
        1000,
        100,
        "review",
    )
    assert call.error is None and call.latency_ms > 0 and call.cache_hit is False
    assert call.cost_usd is not None and 0 < call.cost_usd < 0.01


def test_unpriced_model_has_unknown_cost_and_json_mode(
    fake_model: FakeModelServer, openai_key: str
) -> None:
    client = LLMClient(model_settings(fake_model), "openai/prbot-unpriced-model")
    result = client.complete(MESSAGES, json_schema=REVIEW_JSON_SCHEMA, purpose="repair")
    assert result.call.cost_usd is None and result.call.purpose == "repair"
    assert result.call.prompt_tokens == 120
    body = fake_model.requests[0].body
    assert body["model"] == "prbot-unpriced-model"
    assert body["response_format"] == {"type": "json_object"}


def test_no_schema_means_no_response_format(fake_model: FakeModelServer, openai_key: str) -> None:
    LLMClient(model_settings(fake_model), MODEL).complete(MESSAGES)
    assert "response_format" not in fake_model.requests[0].body


def test_api_base_precedence(
    fake_model: FakeModelServer, openai_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"http://127.0.0.1:{_free_port()}/v1"
    # explicit argument beats the settings
    LLMClient(model_settings(api_base=dead), MODEL, api_base=fake_model.base_url).complete(MESSAGES)
    # settings beat the provider's environment variable
    monkeypatch.setenv("OPENAI_BASE_URL", dead)
    LLMClient(model_settings(fake_model), MODEL).complete(MESSAGES)
    # with neither, LiteLLM reads OPENAI_BASE_URL itself
    monkeypatch.setenv("OPENAI_BASE_URL", fake_model.base_url)
    LLMClient(model_settings(), MODEL).complete(MESSAGES)
    assert len(fake_model.requests) == 3


def test_fallback_model_answers_when_the_first_fails(
    fake_model: FakeModelServer, openai_key: str
) -> None:
    fake_model.enqueue(status=500)
    fake_model.enqueue('{"summary": "from fallback", "findings": []}')
    client = LLMClient(model_settings(fake_model, fallbacks=["openai/gpt-4o"]), MODEL)
    assert "from fallback" in client.complete(MESSAGES).text
    assert [r.body["model"] for r in fake_model.requests] == ["gpt-4o-mini", "gpt-4o"]


def test_context_window_and_token_counting() -> None:
    assert LLMClient(model_settings(context_tokens=4096), MODEL).context_window() == 4096
    assert LLMClient(model_settings(), MODEL).context_window() == 128000
    assert LLMClient(model_settings(), "openai/prbot-unpriced-model").context_window() == 8192
    client = LLMClient(model_settings(), MODEL)
    n = client.count_tokens("def add(a, b):\n    return a + b\n" * 10)
    assert 40 < n < 200
    assert LLMClient(model_settings(), "nonsense-provider/x").count_tokens("abcd" * 100) > 0
    assert client.estimate_cost(1_000_000, 0) == pytest.approx(0.15, rel=0.5)
    assert LLMClient(model_settings(), "openai/prbot-unpriced-model").estimate_cost(1000) is None


# --- errors ----------------------------------------------------------------------------------------


def test_refused_key_names_the_variable(fake_model: FakeModelServer, openai_key: str) -> None:
    fake_model.enqueue(
        status=401,
        body={
            "error": {
                "message": f"Incorrect API key provided: {FAKE_KEY}.",
                "type": "invalid_request_error",
            }
        },
    )
    err = _fail(LLMClient(model_settings(fake_model, max_retries=2), MODEL))
    assert err.message == f"model {MODEL} refused the API key: set OPENAI_API_KEY"
    assert err.kind == "auth"
    assert len(fake_model.requests) == 1  # a refused key is not retried


def test_server_error_is_retried_then_one_line(
    fake_model: FakeModelServer, openai_key: str
) -> None:
    leaky = {"error": {"message": f"upstream failed\nkey={FAKE_KEY} aws={AWS_KEY}\n" + "x" * 500}}
    fake_model.enqueue(status=500, body=leaky)
    fake_model.enqueue(status=500, body=leaky)
    started = time.monotonic()
    err = _fail(LLMClient(model_settings(fake_model, max_retries=1), MODEL))
    assert time.monotonic() - started < 4
    assert len(fake_model.requests) == 2
    assert "HTTP 500" in err.message and "after 1 retry" in err.message
    assert len(err.message) < 300
    assert err.kind == "server"


def test_timeout_message(fake_model: FakeModelServer, openai_key: str) -> None:
    fake_model.enqueue(delay=3)
    started = time.monotonic()
    err = _fail(LLMClient(model_settings(fake_model, timeout=0.5), MODEL))
    assert time.monotonic() - started < 2.9
    assert (
        err.message
        == f"model {MODEL} timed out after 0.5s (raise model.timeout or check the endpoint)"
    )


def test_unreachable_endpoint(openai_key: str) -> None:
    base = f"http://127.0.0.1:{_free_port()}/v1"
    err = _fail(LLMClient(model_settings(api_base=base, timeout=2), MODEL))
    assert err.message == f"cannot reach model endpoint {base}"
    assert err.kind == "connection"


@pytest.mark.parametrize(
    ("status", "expected", "kind"),
    [
        (404, f"unknown model {MODEL}", "not_found"),
        (429, f"model {MODEL} is rate limited", "rate_limit"),
    ],
)
def test_other_statuses(
    fake_model: FakeModelServer, openai_key: str, status: int, expected: str, kind: str
) -> None:
    fake_model.enqueue(status=status, body={"error": {"message": f"nope {FAKE_KEY}", "type": "x"}})
    err = _fail(LLMClient(model_settings(fake_model), MODEL))
    assert err.message == expected and err.kind == kind


def test_bad_request_for_unknown_model(fake_model: FakeModelServer, openai_key: str) -> None:
    fake_model.enqueue(
        status=400, body={"error": {"message": "The model `gpt-9` does not exist", "type": "x"}}
    )
    assert _fail(LLMClient(model_settings(fake_model), MODEL)).message == f"unknown model {MODEL}"


def test_garbage_body_is_a_model_error(fake_model: FakeModelServer, openai_key: str) -> None:
    fake_model.enqueue(raw=b"<html>502 Bad Gateway</html>")
    err = _fail(LLMClient(model_settings(fake_model), MODEL))
    assert err.message.startswith(f"model {MODEL} failed") or "endpoint" in err.message


def test_nothing_reaches_stdout_on_failure(
    fake_model: FakeModelServer, openai_key: str, capfd: pytest.CaptureFixture[str]
) -> None:
    fake_model.enqueue(status=500)
    fake_model.enqueue(status=500)
    with pytest.raises(ModelError):
        LLMClient(model_settings(fake_model, fallbacks=["openai/gpt-4o"]), MODEL).complete(MESSAGES)
    captured = capfd.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err and "Give Feedback" not in captured.err


def test_recorded_requests_are_json(fake_model: FakeModelServer, openai_key: str) -> None:
    LLMClient(model_settings(fake_model), MODEL).complete(MESSAGES)
    assert json.loads(fake_model.requests[0].raw) == fake_model.requests[0].body


def test_self_hosted_endpoint_needs_no_key(fake_model: FakeModelServer) -> None:
    result = LLMClient(model_settings(fake_model), "openai/local-llama").complete(MESSAGES)
    assert result.call.error is None
    assert fake_model.requests[0].headers["authorization"] == "Bearer no-key"


def test_absent_key_without_endpoint_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "OPENAI_BASE_URL", f"http://127.0.0.1:{_free_port()}/v1"
    )  # never the internet
    err = _fail(LLMClient(model_settings(), MODEL))
    assert err.message == f"model {MODEL} has no API key: set OPENAI_API_KEY"
