"""The loopback HTTP scaffolding shared by the fake forge servers (GitHub, GitLab, Bitbucket).

Each fake only describes its forge (routes, auth, error shapes, pagination); recording requests,
scripted faults, ids, the threaded server and the wire encoding live here once, so a fix to how
faults or responses behave applies to every forge the adapters are tested against.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, TypeVar

#: (status, body, extra headers): bytes/str bodies are sent as is, ``None`` as an empty body,
#: anything else as JSON.
Result = tuple[int, Any, dict[str, str]]

_S = TypeVar("_S", bound="FakeForgeServer")


@dataclass
class Fault:
    """A scripted answer for the next ``times`` requests matching ``method`` and ``pattern``."""

    method: str
    pattern: re.Pattern[str]
    status: int
    headers: dict[str, str]
    body: Any
    times: int
    after: bool

    @property
    def result(self) -> Result:
        return self.status, self.body, dict(self.headers)


@dataclass(frozen=True)
class Recorded:
    """One request as received; ``path`` is as sent (still URL-encoded), ``query`` as parsed."""

    method: str
    path: str
    query: dict[str, Any]
    headers: dict[str, str]
    json: Any


class FakeForgeServer:
    """Base of the fake forges: request log, fault injection, ids and the server's lifecycle.

    Subclasses implement ``handle`` (usually by parsing the request and calling
    ``record_and_route``) and ``default_fault_body`` (their forge's error shape).
    """

    #: Headers every response carries (e.g. rate-limit counters the adapters read).
    default_headers: ClassVar[dict[str, str]] = {}
    json_content_type: ClassVar[str] = "application/json; charset=utf-8"

    def __init__(self, first_id: int = 1000) -> None:
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self._ids = first_id
        self._lock = threading.RLock()
        self._httpd = ThreadingHTTPServer(
            ("127.0.0.1", 0), make_handler(self, dict(self.default_headers))
        )
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self.origin = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    # -- hooks --------------------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: dict[str, str], raw: bytes) -> Result:
        raise NotImplementedError

    def default_fault_body(self, status: int) -> Any:
        """The error body a fault injected without one answers with, in the forge's shape."""
        return {"message": f"scripted {status}"}

    def adjust_response(
        self, method: str, headers: dict[str, str], status: int, data: bytes, extra: dict[str, str]
    ) -> tuple[int, bytes]:
        """Last look at an encoded response (e.g. conditional requests); may edit ``extra``."""
        return status, data

    # -- scripting --------------------------------------------------------------------------------
    def inject(
        self,
        method: str,
        path: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
        times: int = 1,
        after: bool = False,
    ) -> None:
        """The next ``times`` requests whose (encoded) path matches the regex ``path`` get ``status``.

        ``after=True`` applies the request first, then answers with the fault (a lost response).
        """
        if body is None:
            body = self.default_fault_body(status)
        self.faults.append(
            Fault(method.upper(), re.compile(path), status, dict(headers or {}), body, times, after)
        )

    def calls(self, method: str | None = None, path: str = "") -> list[Recorded]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and re.search(path, r.path)
        ]

    def new_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self: _S) -> _S:
        self._thread.start()
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- dispatch ---------------------------------------------------------------------------------
    def record_and_route(
        self,
        method: str,
        path: str,
        query: dict[str, Any],
        headers: dict[str, str],
        body: Any,
        route: Callable[[], Result],
    ) -> Result:
        """Log the request, then answer it with a pending fault or ``route()`` (or both, ``after``)."""
        with self._lock:
            self.requests.append(Recorded(method, path, query, headers, body))
            fault = self._take_fault(method, path)
        if fault and not fault.after:
            return fault.result
        result = route()
        return fault.result if fault else result

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for f in self.faults:
            if f.times > 0 and f.method == method and f.pattern.search(path):
                f.times -= 1
                return f
        return None


def _encode(body: Any, extra: dict[str, str], json_type: str) -> tuple[bytes, str]:
    if isinstance(body, bytes):
        return body, extra.pop("Content-Type", "application/octet-stream")
    if isinstance(body, str):
        return body.encode(), extra.pop("Content-Type", "text/plain")
    if body is None:
        return b"", "application/json"
    return json.dumps(body).encode(), json_type


def make_handler(
    server: FakeForgeServer, default_headers: dict[str, str]
) -> type[BaseHTTPRequestHandler]:
    """A request handler class that feeds ``server.handle`` and writes its ``Result``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body, extra = server.handle(self.command, self.path, headers, raw)
            extra = dict(extra)
            data, ctype = _encode(body, extra, server.json_content_type)
            status, data = server.adjust_response(self.command, headers, status, data, extra)
            self.send_response(status)
            if status not in (204, 304):
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in default_headers.items():
                self.send_header(k, v)
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            if data:
                self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
