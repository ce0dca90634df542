"""A small, real OpenAI-compatible chat-completions server for tests.

LiteLLM is exercised over real HTTP on loopback instead of being mocked, so tests see the request
bodies LiteLLM really sends (delimiters, response_format, redaction) and the errors it really raises
for 401/500/timeouts. Responses are scripted with :meth:`FakeModelServer.enqueue`; when the queue is
empty a valid, empty review is returned (or whatever ``responder`` computes from the request).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

EMPTY_REVIEW = json.dumps({"summary": "", "findings": []})


@dataclass
class Reply:
    """One scripted answer. ``raw`` replaces the whole body (garbage, truncated JSON, …)."""

    content: str | None = EMPTY_REVIEW
    status: int = 200
    body: dict[str, Any] | None = None
    raw: bytes | None = None
    delay: float = 0.0
    finish_reason: str = "stop"
    prompt_tokens: int = 120
    completion_tokens: int = 30
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes

    @property
    def text(self) -> str:
        """The body as text: what "does this value appear in the request" assertions search."""
        return self.raw.decode("utf-8", "replace")

    @property
    def messages(self) -> list[dict[str, Any]]:
        if isinstance(self.body, dict):
            return list(self.body.get("messages") or [])
        return []


class FakeModelServer:
    """The server object the ``fake_model`` fixture yields."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._stop = threading.Event()
        self.requests: list[RecordedRequest] = []
        self.responder: Callable[[RecordedRequest], Reply | str | None] | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- scripting -------------------------------------------------------------------------------
    def enqueue(
        self,
        content: str | dict[str, Any] | None = None,
        *,
        status: int = 200,
        body: dict[str, Any] | None = None,
        raw: bytes | str | None = None,
        delay: float = 0.0,
        finish_reason: str = "stop",
        prompt_tokens: int = 120,
        completion_tokens: int = 30,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Queue one answer: content (a dict is JSON-encoded), an error status + body, raw bytes, a delay."""
        if isinstance(content, dict):
            content = json.dumps(content)
        if content is None and status == 200 and body is None and raw is None:
            content = EMPTY_REVIEW
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        reply = Reply(
            content=content,
            status=status,
            body=body,
            raw=raw,
            delay=delay,
            finish_reason=finish_reason,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            headers=dict(headers or {}),
        )
        with self._lock:
            self._queue.append(reply)

    def _next_reply(self, req: RecordedRequest) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            made = self.responder(req)
            if isinstance(made, Reply):
                return made
            if isinstance(made, str):
                return Reply(content=made)
        return Reply()

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> FakeModelServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- request handling (called from handler threads) ------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        req = RecordedRequest(
            path=handler.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=parsed,
            raw=raw,
        )
        with self._lock:
            self.requests.append(req)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if handler.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._send(
                    handler,
                    404,
                    json.dumps(
                        {"error": {"message": "not found", "type": "invalid_request_error"}}
                    ).encode(),
                    {},
                )
                return
            reply = self._next_reply(req)
            if reply.delay and self._stop.wait(reply.delay):
                return
            self._send(handler, reply.status, self._body_for(reply, parsed), reply.headers)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _body_for(self, reply: Reply, request: Any) -> bytes:
        if reply.raw is not None:
            return reply.raw
        if reply.body is not None:
            return json.dumps(reply.body).encode()
        if reply.status != 200:
            return json.dumps(
                {
                    "error": {
                        "message": f"scripted error {reply.status}",
                        "type": "server_error",
                        "code": None,
                    }
                }
            ).encode()
        model = request.get("model", "fake") if isinstance(request, dict) else "fake"
        return json.dumps(
            {
                "id": f"chatcmpl-fake{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.content},
                        "finish_reason": reply.finish_reason,
                    }
                ],
                "usage": {
                    "prompt_tokens": reply.prompt_tokens,
                    "completion_tokens": reply.completion_tokens,
                    "total_tokens": reply.prompt_tokens + reply.completion_tokens,
                },
            }
        ).encode()

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            handler.send_header(k, v)
        handler.end_headers()
        handler.wfile.write(body)


def _make_handler(server: FakeModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            server._handle(self)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def fake_model() -> Iterator[FakeModelServer]:
    """A running fake OpenAI-compatible endpoint; always shut down after the test."""
    server = FakeModelServer().start()
    try:
        yield server
    finally:
        server.close()
