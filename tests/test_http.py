"""The HTTP client factory: retries, rate limits, write safety, pagination, ETags, redaction.

Unit cases use ``httpx.MockTransport``; the retry/limit behaviour is also exercised over a real
loopback server, because header parsing and connection handling differ from the mock.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from prbot.errors import ExitCode, PlatformError
from prbot.http import (
    AmbiguousWrite,
    ApiClient,
    DeadlineExceeded,
    HttpStatusError,
    NetworkError,
    RateLimitError,
    make_client,
    parse_retry_after,
)

TOKEN = "ghp_SECRETtoken1234567890"


@dataclass
class Canned:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class ScriptServer:
    """A loopback server answering from a queue (then 200 ``{}``), recording every request."""

    def __init__(self) -> None:
        self.queue: deque[Canned] = deque()
        self.seen: list[Seen] = []
        self.routes: dict[str, Canned] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _any(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                owner.seen.append(
                    Seen(
                        self.command,
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        raw,
                    )
                )
                canned = owner.routes.get(self.path) or (
                    owner.queue.popleft() if owner.queue else Canned(200, {})
                )
                data = b"" if canned.body is None else json.dumps(canned.body).encode()
                self.send_response(canned.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in canned.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[ScriptServer]:
    srv = ScriptServer()
    try:
        yield srv
    finally:
        srv.close()


class Sleeps(list):
    """An injected sleep that records instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(url: str, sleeps: Sleeps, **kw: Any) -> ApiClient:
    kw.setdefault("write_interval", 0)
    kw.setdefault("timeout", 5)
    return make_client(url, token=TOKEN, sleep=sleeps, **kw)


# -- loopback: retries and rate limits ---------------------------------------------------------


def test_retry_on_500_then_success(server: ScriptServer) -> None:
    server.queue.extend([Canned(500, {"message": "boom"}), Canned(200, {"ok": True})])
    sleeps = Sleeps()
    with client_for(server.url, sleeps) as c:
        assert c.get_json("/thing") == {"ok": True}
        assert c.calls == 2
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.5  # first full-jitter window is [0, 0.5]
    assert server.seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert server.seen[0].headers["user-agent"].startswith("prbot/")


def test_500_forever_gives_up_after_max_retries(server: ScriptServer) -> None:
    server.routes["/down"] = Canned(503, {"message": "unavailable"})
    sleeps = Sleeps()
    with client_for(server.url, sleeps, max_retries=2) as c, pytest.raises(HttpStatusError) as ei:
        c.get_json("/down")
    assert ei.value.status == 503 and c.calls == 3 and len(sleeps) == 2
    assert ei.value.exit_code == ExitCode.UNAVAILABLE
    assert "503" in str(ei.value) and "\n" not in str(ei.value)


def test_429_retry_after_seconds_honoured(server: ScriptServer) -> None:
    server.queue.extend(
        [Canned(429, {"message": "slow down"}, {"Retry-After": "7"}), Canned(200, [])]
    )
    sleeps = Sleeps()
    with client_for(server.url, sleeps) as c:
        assert c.get_json("/x") == []
    assert sleeps == [7.0]


def test_429_retry_after_http_date_honoured(server: ScriptServer) -> None:
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    server.queue.extend([Canned(429, {}, {"Retry-After": when}), Canned(200, {})])
    sleeps = Sleeps()
    with client_for(server.url, sleeps) as c:
        c.get_json("/x")
    assert len(sleeps) == 1 and 15 <= sleeps[0] <= 21


def test_403_secondary_rate_limit_is_retried(server: ScriptServer) -> None:
    body = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
    server.queue.extend([Canned(403, body), Canned(200, {"fine": 1})])
    sleeps = Sleeps()
    with client_for(server.url, sleeps) as c:
        assert c.get_json("/x") == {"fine": 1}
    assert len(sleeps) == 1 and sleeps[0] >= 60  # "wait at least a minute" without a hint


def test_403_primary_limit_waits_until_reset(server: ScriptServer) -> None:
    reset = int(time.time()) + 30
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}
    server.queue.extend(
        [Canned(403, {"message": "API rate limit exceeded"}, headers), Canned(200, {})]
    )
    sleeps = Sleeps()
    with client_for(server.url, sleeps) as c:
        c.get_json("/x")
    assert len(sleeps) == 1 and 25 <= sleeps[0] <= 32


def test_plain_403_is_not_retried(server: ScriptServer) -> None:
    server.queue.append(Canned(403, {"message": "Resource not accessible by integration"}))
    sleeps = Sleeps()
    with client_for(server.url, sleeps) as c, pytest.raises(HttpStatusError) as ei:
        c.get_json("/x")
    assert not isinstance(ei.value, RateLimitError)
    assert ei.value.status == 403 and c.calls == 1 and sleeps == []
    assert "Resource not accessible by integration" in ei.value.api_message


def test_rate_limit_exhausted_raises_rate_limit_error(server: ScriptServer) -> None:
    server.routes["/x"] = Canned(429, {"message": "no"}, {"Retry-After": "1"})
    sleeps = Sleeps()
    with client_for(server.url, sleeps, max_retries=3) as c, pytest.raises(RateLimitError):
        c.get_json("/x")
    assert sleeps == [1.0, 1.0, 1.0]


def test_post_502_is_not_retried_and_is_ambiguous(server: ScriptServer) -> None:
    server.queue.append(Canned(502, {"message": "Bad gateway"}))
    sleeps = Sleeps()
    with client_for(server.url, sleeps) as c, pytest.raises(AmbiguousWrite) as ei:
        c.request("POST", "/comments", json={"body": "hi"})
    assert c.calls == 1 and len(server.seen) == 1 and sleeps == []
    assert ei.value.status == 502 and isinstance(ei.value, PlatformError)


def test_post_429_is_retried_because_it_was_refused(server: ScriptServer) -> None:
    server.queue.extend([Canned(429, {}, {"Retry-After": "2"}), Canned(201, {"id": 1})])
    sleeps = Sleeps()
    with client_for(server.url, sleeps) as c:
        r = c.request("POST", "/comments", json={"body": "hi"})
    assert r.status_code == 201 and sleeps == [2.0]
    assert [s.method for s in server.seen] == ["POST", "POST"]


def test_idempotent_override_lets_a_set_style_post_retry_on_5xx(server: ScriptServer) -> None:
    server.queue.extend([Canned(502, {}), Canned(200, [])])
    with client_for(server.url, Sleeps()) as c:
        assert (
            c.request("POST", "/labels", json={"labels": ["a"]}, idempotent=True).status_code == 200
        )


def test_deadline_exceeded_raises_without_sleeping(server: ScriptServer) -> None:
    server.routes["/x"] = Canned(429, {"message": "later"}, {"Retry-After": "120"})
    sleeps = Sleeps()
    with client_for(server.url, sleeps, deadline=10) as c, pytest.raises(DeadlineExceeded) as ei:
        c.get_json("/x")
    assert sleeps == [] and c.calls == 1
    assert isinstance(ei.value, PlatformError) and "deadline" in str(ei.value)


def test_deadline_counts_accumulated_backoff(server: ScriptServer) -> None:
    server.routes["/x"] = Canned(429, {}, {"Retry-After": "4"})
    sleeps = Sleeps()
    with (
        client_for(server.url, sleeps, deadline=10, max_retries=10) as c,
        pytest.raises(DeadlineExceeded),
    ):
        c.get_json("/x")
    assert sleeps == [4.0, 4.0]  # a third wait would end at 12 s > 10 s


def test_pagination_follows_link_over_three_pages(server: ScriptServer) -> None:
    u = server.url
    server.routes["/items?per_page=100"] = Canned(
        200, [1, 2], {"Link": f'<{u}/items?page=2>; rel="next", <{u}/items?page=3>; rel="last"'}
    )
    server.routes["/items?page=2"] = Canned(200, [3], {"Link": f'<{u}/items?page=3>; rel="next"'})
    server.routes["/items?page=3"] = Canned(
        200, [4, 5], {"Link": f'<{u}/items?page=1>; rel="first"'}
    )
    with client_for(u, Sleeps()) as c:
        assert list(c.paginate("/items")) == [1, 2, 3, 4, 5]
        assert c.calls == 3


def test_pagination_refuses_a_link_to_another_host(server: ScriptServer) -> None:
    server.routes["/items?per_page=100"] = Canned(
        200, [1], {"Link": '<http://evil.invalid/steal?page=2>; rel="next"'}
    )
    with client_for(server.url, Sleeps()) as c, pytest.raises(PlatformError, match="another host"):
        list(c.paginate("/items"))
    assert len(server.seen) == 1


def test_etag_304_is_served_from_cache(server: ScriptServer) -> None:
    server.queue.extend(
        [Canned(200, {"v": 1}, {"ETag": '"abc"'}), Canned(304, None, {"ETag": '"abc"'})]
    )
    with client_for(server.url, Sleeps()) as c:
        assert c.get_json("/pr") == {"v": 1}
        assert c.get_json("/pr") == {"v": 1}
        assert c.calls == 2
    assert "if-none-match" not in server.seen[0].headers
    assert server.seen[1].headers["if-none-match"] == '"abc"'


def test_etag_cache_is_keyed_by_accept_header(server: ScriptServer) -> None:
    server.queue.extend([Canned(200, {"v": 1}, {"ETag": '"abc"'}), Canned(200, {"v": 2})])
    with client_for(server.url, Sleeps()) as c:
        c.get_json("/pr")
        assert c.get_json("/pr", headers={"Accept": "text/x-diff"}) == {"v": 2}
    assert "if-none-match" not in server.seen[1].headers


def test_token_absent_from_errors_and_repr(server: ScriptServer) -> None:
    server.routes["/x"] = Canned(404, {"message": f"no such thing for {TOKEN}"})
    with client_for(server.url, Sleeps()) as c:
        with pytest.raises(HttpStatusError) as ei:
            c.get_json("/x")
        assert TOKEN not in repr(c)
    err = ei.value
    for text in (str(err), err.one_line(), err.api_message, repr(err), repr(err.headers)):
        assert TOKEN not in text
    assert "[redacted]" in str(err)


# -- MockTransport unit cases ------------------------------------------------------------------


def mock_client(handler: Any, sleeps: Sleeps | None = None, **kw: Any) -> ApiClient:
    kw.setdefault("write_interval", 0)
    return make_client(
        "https://api.example.test/api/v3",
        token=TOKEN,
        transport=httpx.MockTransport(handler),
        sleep=sleeps if sleeps is not None else Sleeps(),
        **kw,
    )


def test_base_url_path_prefix_is_kept() -> None:
    seen: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req.url.path)
        return httpx.Response(200, json={})

    with mock_client(handler) as c:
        c.get_json("/repos/o/r")
        c.get_json("repos/o/r/pulls")
    assert seen == ["/api/v3/repos/o/r", "/api/v3/repos/o/r/pulls"]


def test_get_timeout_is_retried_but_post_timeout_is_ambiguous() -> None:
    attempts: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        attempts.append(req.method)
        if len(attempts) == 1 or req.method == "POST":
            raise httpx.ReadTimeout("read timed out", request=req)
        return httpx.Response(200, json={"ok": 1})

    with mock_client(handler) as c:
        assert c.get_json("/a") == {"ok": 1}
        with pytest.raises(AmbiguousWrite) as ei:
            c.request("POST", "/b", json={})
    assert attempts == ["GET", "GET", "POST"]
    assert ei.value.status is None and "ReadTimeout" in str(ei.value)


def test_connect_error_is_retried_even_for_post_then_reported() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=req)

    sleeps = Sleeps()
    with mock_client(handler, sleeps, max_retries=2) as c, pytest.raises(NetworkError) as ei:
        c.request("POST", "/b", json={})
    assert c.calls == 3 and len(sleeps) == 2
    assert "cannot connect" in str(ei.value) and TOKEN not in str(ei.value)


def test_writes_are_paced() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={})

    sleeps = Sleeps()
    with mock_client(handler, sleeps, write_interval=5.0) as c:
        c.request("GET", "/a")
        c.request("POST", "/a", json={})
        c.request("GET", "/a")
        c.request("PATCH", "/a", json={})
    assert len(sleeps) == 1 and 4.5 < sleeps[0] <= 5.0


def test_error_message_includes_422_details_on_one_line() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        body = {
            "message": "Unprocessable Entity",
            "errors": ["Can not approve\nyour own pull request"],
        }
        return httpx.Response(422, json=body)

    with mock_client(handler) as c, pytest.raises(HttpStatusError) as ei:
        c.request("POST", "/reviews?x=1", json={})
    e = ei.value
    assert e.status == 422 and "Can not approve" in e.api_message
    assert "\n" not in str(e) and "x=1" not in str(e) and e.url.endswith("/api/v3/reviews")


def test_ok_statuses_are_returned_not_raised() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"message": "Not Found"})

    with mock_client(handler) as c:
        assert c.request("GET", "/x", ok={200, 404}).status_code == 404


def test_non_json_answer_is_a_platform_error() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>proxy login</html>")

    with mock_client(handler) as c, pytest.raises(PlatformError, match="not JSON"):
        c.get_json("/x")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5", 5.0), ("0", 0.0), (None, None), ("soon", None), ("-3", None), ("", None)],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_date_in_the_past_is_zero() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_token_absent_from_debug_logs(
    server: ScriptServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.queue.extend([Canned(500, {"message": TOKEN}), Canned(401, {"message": "Bad " + TOKEN})])
    caplog.set_level("DEBUG")
    with client_for(server.url, Sleeps()) as c, pytest.raises(HttpStatusError):
        c.get_json("/x", params={"q": "1"})
    assert caplog.records and TOKEN not in caplog.text


# -- forge-neutral header conventions (GitLab's ``RateLimit-*``, ``x-next-page``, token headers) -----


def test_429_without_retry_after_waits_until_ratelimit_reset(server: ScriptServer) -> None:
    reset = int(time.time()) + 40
    headers = {"RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)}
    server.queue.extend([Canned(429, {"message": "Retry later"}, headers), Canned(200, {})])
    sleeps = Sleeps()
    with client_for(server.url, sleeps) as c:
        c.get_json("/x")
    assert len(sleeps) == 1 and 35 <= sleeps[0] <= 42


def test_429_ratelimit_reset_as_delay_seconds(server: ScriptServer) -> None:
    server.queue.extend([Canned(429, {}, {"RateLimit-Reset": "12"}), Canned(200, {})])
    sleeps = Sleeps()
    with client_for(server.url, sleeps) as c:
        c.get_json("/x")
    assert sleeps == [13.0]


def test_retry_after_wins_over_ratelimit_reset(server: ScriptServer) -> None:
    reset = str(int(time.time()) + 500)
    headers = {"Retry-After": "3", "RateLimit-Reset": reset, "RateLimit-Remaining": "0"}
    server.queue.extend([Canned(429, {}, headers), Canned(200, {})])
    sleeps = Sleeps()
    with client_for(server.url, sleeps) as c:
        c.get_json("/x")
    assert sleeps == [3.0]


def test_ratelimit_headers_on_a_200_are_not_a_limit(server: ScriptServer) -> None:
    headers = {"RateLimit-Remaining": "0", "RateLimit-Reset": str(int(time.time()) + 60)}
    server.queue.append(Canned(200, {"ok": True}, headers))
    sleeps = Sleeps()
    with client_for(server.url, sleeps) as c:
        assert c.get_json("/x") == {"ok": True}
    assert sleeps == [] and len(server.seen) == 1


def test_pagination_follows_x_next_page_without_link(server: ScriptServer) -> None:
    server.routes["/items?per_page=100"] = Canned(200, [1, 2], {"x-next-page": "2"})
    server.routes["/items?per_page=100&page=2"] = Canned(200, [3], {"x-next-page": "3"})
    server.routes["/items?per_page=100&page=3"] = Canned(200, [4], {"x-next-page": ""})
    with client_for(server.url, Sleeps()) as c:
        assert list(c.paginate("/items")) == [1, 2, 3, 4]
        assert c.calls == 3


def test_pagination_x_next_page_stops_on_an_empty_page(server: ScriptServer) -> None:
    server.routes["/items?per_page=100"] = Canned(200, [], {"x-next-page": "2"})
    with client_for(server.url, Sleeps()) as c:
        assert list(c.paginate("/items")) == []
    assert len(server.seen) == 1


def test_token_in_a_custom_header_is_sent_bare_and_redacted(server: ScriptServer) -> None:
    server.routes["/x"] = Canned(404, {"message": f"404 Project Not Found {TOKEN}"})
    client = make_client(
        server.url, token=TOKEN, auth_header="PRIVATE-TOKEN", sleep=Sleeps(), write_interval=0
    )
    with client as c, pytest.raises(HttpStatusError) as ei:
        c.get_json("/x")
    assert server.seen[0].headers["private-token"] == TOKEN
    assert "authorization" not in server.seen[0].headers
    assert TOKEN not in str(ei.value) and "[redacted]" in str(ei.value)
