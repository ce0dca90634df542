"""Signed webhooks and Slack against a loopback receiver: signature, retries, secrets kept out."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from prbot.notify import PostOptions, send, sign, verify
from prbot.notify.webhook import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER
from prbot.platforms.base import PullRequest
from prbot.rules.schema import SlackChannel, WebhookChannel

SECRET = "whsec-9f8e7d6c5b4a3210"
FAST = PostOptions(timeout=5, max_retries=2, sleep=lambda _s: None)
PR = PullRequest(forge="github", repo="octo/demo", number=7, title="Add feature",
                 url="https://github.example/octo/demo/pull/7", head_sha="a" * 40)  # fmt: skip


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A webhook receiver on 127.0.0.1 that records every request; ``statuses`` scripts answers."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append(Received(self.path, headers, raw))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                data = b"ok" if status < 300 else b"nope"
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{port}/hooks/T0SECRETPATH/B0/xyzzy"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def _channel() -> WebhookChannel:
    return WebhookChannel(type="webhook", url_env="HOOK_URL", secret_env="HOOK_SECRET")


def test_signature_verifies_with_the_secret_and_the_raw_body(receiver: Receiver) -> None:
    env = {"HOOK_URL": receiver.url, "HOOK_SECRET": SECRET}
    res = send("ops", _channel(), "rule fired on #7", env=env, pr=PR, rule="big", options=FAST)
    assert res.ok and res.action == "notify" and res.status == 200
    (req,) = receiver.requests
    assert verify(SECRET, req.body, req.headers[SIGNATURE_HEADER.lower()])
    assert not verify("another-secret", req.body, req.headers[SIGNATURE_HEADER.lower()])
    assert not verify(SECRET, req.body + b" ", req.headers[SIGNATURE_HEADER.lower()])
    assert req.headers[EVENT_HEADER.lower()] == "notify"
    delivery = req.headers[DELIVERY_HEADER.lower()]
    assert str(uuid.UUID(delivery)) == delivery and res.ids == (delivery,)
    doc = req.json()
    assert doc["message"] == "rule fired on #7" and doc["rule"] == "big" and doc["channel"] == "ops"
    assert doc["pull_request"]["number"] == 7 and doc["pull_request"]["repo"] == "octo/demo"
    assert req.path == "/hooks/T0SECRETPATH/B0/xyzzy"


def test_sign_is_hmac_sha256_hex() -> None:
    import hashlib
    import hmac

    body = b'{"a":1}'
    expected = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert sign("k", body) == f"sha256={expected}"


def test_unsigned_channel_sends_no_signature(receiver: Receiver) -> None:
    ch = WebhookChannel(type="webhook", url_env="HOOK_URL")
    assert send("ops", ch, "hi", env={"HOOK_URL": receiver.url}, pr=None, options=FAST).ok
    assert SIGNATURE_HEADER.lower() not in receiver.requests[0].headers


def test_retries_on_500_with_the_same_delivery_id(receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    env = {"HOOK_URL": receiver.url, "HOOK_SECRET": SECRET}
    res = send("ops", _channel(), "hello", env=env, pr=PR, options=FAST)
    assert res.ok, res.detail
    assert len(receiver.requests) == 3
    assert len({r.headers[DELIVERY_HEADER.lower()] for r in receiver.requests}) == 1
    assert all(verify(SECRET, r.body, r.headers["x-prbot-signature"]) for r in receiver.requests)


def test_failure_is_one_line_without_url_or_secret(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.statuses = [500, 500, 500]
    env = {"HOOK_URL": receiver.url, "HOOK_SECRET": SECRET}
    res = send("ops", _channel(), "hello", env=env, pr=PR, options=FAST)
    assert not res.ok and res.status == 500 and len(receiver.requests) == 3
    assert "\n" not in res.detail and res.detail.startswith("notify channel 'ops'")
    assert "T0SECRETPATH" not in res.detail and SECRET not in res.detail
    assert caplog.records, "the HTTP layer logs at debug level"
    logged = caplog.text
    # The path is the secret part of a webhook URL (the host is public, and httpcore's own
    # connection trace names it); neither the path nor the signing secret may be logged.
    assert "T0SECRETPATH" not in logged
    assert SECRET not in logged


def test_client_error_is_not_retried(receiver: Receiver) -> None:
    receiver.statuses = [404]
    res = send("ops", _channel(), "x", env={"HOOK_URL": receiver.url, "HOOK_SECRET": SECRET},
               pr=PR, options=FAST)  # fmt: skip
    assert not res.ok and res.status == 404 and len(receiver.requests) == 1


def test_unreachable_receiver_and_bad_url() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/secret-path-123"
    res = send("ops", _channel(), "x", env={"HOOK_URL": url, "HOOK_SECRET": SECRET}, pr=PR,
               options=FAST)  # fmt: skip
    assert not res.ok and "secret-path-123" not in res.detail and str(port) not in res.detail
    bad = send("ops", _channel(), "x", env={"HOOK_URL": "ftp://x/y", "HOOK_SECRET": SECRET},
               pr=PR, options=FAST)  # fmt: skip
    assert not bad.ok and "ftp" not in bad.detail and "http(s)" in bad.detail


def test_missing_environment_variables() -> None:
    res = send("ops", _channel(), "x", env={}, pr=PR, options=FAST)
    assert not res.ok
    assert res.detail == "notify channel 'ops': environment variable HOOK_URL is not set"
    res = send("ops", _channel(), "x", env={"HOOK_URL": "http://127.0.0.1:9/"}, pr=PR)
    assert res.detail == "notify channel 'ops': environment variable HOOK_SECRET is not set"
    slack = SlackChannel(type="slack", webhook_env="SLACK_URL")
    res = send("team", slack, "x", env={"SLACK_URL": "  "}, pr=PR)
    assert res.detail == "notify channel 'team': environment variable SLACK_URL is not set"


def test_secrets_in_the_message_are_redacted(receiver: Receiver) -> None:
    env = {"HOOK_URL": receiver.url, "HOOK_SECRET": SECRET}
    leaked = "key AKIAZ7QWERTY234ABCDE and the channel secret " + SECRET
    res = send("ops", _channel(), leaked, env=env, pr=PR, options=FAST)
    assert res.ok
    body = receiver.requests[0].body.decode()
    assert "AKIAZ7QWERTY234ABCDE" not in body and "[REDACTED:aws-access-key-id" in body
    assert SECRET not in body


# -- slack -------------------------------------------------------------------------------------


def test_slack_posts_escaped_text(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    slack = SlackChannel(type="slack", webhook_env="SLACK_URL")
    msg = "<!channel> a & b > c, already &lt;escaped&gt; &amp; fine"
    res = send("team", slack, msg, env={"SLACK_URL": receiver.url}, pr=PR, options=FAST)
    assert res.ok, res.detail
    (req,) = receiver.requests
    assert req.json() == {
        "text": "&lt;!channel&gt; a &amp; b &gt; c, already &lt;escaped&gt; &amp; fine"
    }
    assert SIGNATURE_HEADER.lower() not in req.headers
    assert "T0SECRETPATH" not in res.detail and "T0SECRETPATH" not in caplog.text


def test_slack_escape_is_idempotent_and_bounded() -> None:
    from prbot.notify.slack import MAX_SLACK_CHARS, slack_escape, slack_payload

    once = slack_escape("<a|b> & <@U123>")
    assert slack_escape(once) == once and "<" not in once and ">" not in once
    text = str(slack_payload("&" * 5000)["text"])
    assert len(text) <= MAX_SLACK_CHARS and text.endswith("&amp;…")
