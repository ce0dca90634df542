"""The one HTTP client factory every forge adapter and notifier uses.

Forge APIs fail in a handful of well-known ways (5xx blips, 429s, GitHub's 403 rate limits, dropped
connections), and every adapter must survive them the same way, so the policy lives here once:
capped retries with full-jitter backoff, server hints (``Retry-After``, ``x-ratelimit-reset``)
honoured but never past the run's deadline, writes paced apart, conditional GETs served from an
ETag cache (a 304 does not count against GitHub's quota), and errors that are one line and never
contain the token. It knows nothing about any forge's resources.

Writes are the subtle part: a POST that times out or gets a 5xx may still have been applied, so a
blind retry can post a duplicate comment. Such failures raise :class:`AmbiguousWrite` and the caller
reconciles (re-lists and looks for its hidden marker) before trying again.
"""

from __future__ import annotations

import email.utils
import functools
import logging
import re
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable, Container, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from prbot import __version__
from prbot.errors import PlatformError

log = logging.getLogger("prbot.http")

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_OK = range(200, 300)
#: Waits the server asks for beyond this are not worth it for a CI job (GitHub resets hourly).
_MAX_HINT = 3600.0
#: Secondary rate limit without a hint: GitHub says wait at least a minute.
_SECONDARY_MIN_WAIT = 60.0
_CACHE_ENTRIES = 256
_CACHE_MAX_BODY = 5 * 1024 * 1024
_MSG_LIMIT = 300
#: A reset header above this is a Unix time, below it a delay in seconds (2001-09-09).
_EPOCH_FLOOR = 1_000_000_000.0


class HttpError(PlatformError):
    """Any failure of an API request (after retries, where retries apply)."""


class HttpStatusError(HttpError):
    """The server answered with a status the caller did not accept."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        url: str,
        method: str,
        api_message: str = "",
        errors: list[Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.url = url
        self.method = method
        #: The ``message`` (plus ``errors`` details) from the JSON body, for callers to branch on.
        self.api_message = api_message
        self.errors = list(errors or [])
        self.headers = dict(headers or {})


class RateLimitError(HttpStatusError):
    """Still rate-limited after every retry the budget allowed."""


class NetworkError(HttpError):
    """The server could not be reached, or the connection failed mid-request."""


class AmbiguousWrite(HttpError):
    """A mutating request failed in a way that leaves unknown whether the server applied it.

    The caller must reconcile (list, find its marker) before sending it again.
    """

    def __init__(self, message: str, *, method: str, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.status = status


class DeadlineExceeded(HttpError):
    """Waiting for the API (rate limit, backoff) would run past the run's deadline."""


class _Retry(Exception):
    """Internal: a failed attempt worth retrying, with the error to raise if we give up."""

    def __init__(self, error: HttpError, hint: float | None = None, floor: float = 0.0) -> None:
        super().__init__(error.message)
        self.error = error
        self.hint = hint
        self.floor = floor


def _strip_query(url: str | httpx.URL) -> str:
    parts = urlsplit(str(url))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _one_line(text: str, limit: int = _MSG_LIMIT) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _api_message(resp: httpx.Response) -> tuple[str, list[Any]]:
    """The human part of an error body: GitHub/GitLab ``message``, Bitbucket ``error.message``."""
    try:
        data = resp.json()
    except ValueError:
        return _one_line(resp.text[:200]) if resp.text else "", []
    if not isinstance(data, dict):
        return "", []
    msg = data.get("message") or data.get("error_description") or data.get("error") or ""
    if isinstance(msg, dict):
        msg = msg.get("message") or ""
    if not isinstance(msg, str):
        msg = str(msg)
    errors = data.get("errors") if isinstance(data.get("errors"), list) else []
    details: list[str] = []
    for err in errors or []:
        if isinstance(err, str):
            details.append(err)
        elif isinstance(err, dict):
            detail = err.get("message") or err.get("code")
            if detail:
                details.append(str(detail))
    if details:
        msg = f"{msg}: {'; '.join(details)}" if msg else "; ".join(details)
    return msg, list(errors or [])


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), else ``None``."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def _rate_limit_hint(resp: httpx.Response) -> tuple[bool, float | None, float]:
    """(is a rate limit, seconds to wait if the server said, minimum wait)."""
    status = resp.status_code
    retry_after = parse_retry_after(resp.headers.get("retry-after"))
    # GitHub says ``x-ratelimit-*``; GitLab (and the IETF draft) say ``ratelimit-*``.
    remaining = resp.headers.get("x-ratelimit-remaining") or resp.headers.get("ratelimit-remaining")
    reset = resp.headers.get("x-ratelimit-reset") or resp.headers.get("ratelimit-reset")
    exhausted = remaining is not None and remaining.strip() == "0"
    secondary = False
    if status == 403:
        text = resp.text[:2000].lower() if resp.content else ""
        secondary = "secondary rate limit" in text or "abuse" in text
        if not (exhausted or secondary or retry_after is not None):
            return False, None, 0.0
    elif status != 429:
        return False, None, 0.0
    if retry_after is not None:
        return True, retry_after, 0.0
    if reset and reset.strip().isdigit() and (exhausted or status == 429):
        value = float(reset)
        # A Unix time (GitHub, GitLab) or, per the IETF draft, seconds from now.
        wait = value - time.time() if value > _EPOCH_FLOOR else value
        return True, max(0.0, wait) + 1.0, 0.0
    return True, None, _SECONDARY_MIN_WAIT if secondary else 0.0


class ApiClient:
    """An ``httpx.Client`` with prbot's retry, pacing, caching and redaction policy.

    ``calls`` counts requests actually sent (retries and 304s included): it is what the run reports
    and what a forge's quota sees.
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        token: str | None,
        max_retries: int = 4,
        write_interval: float = 1.0,
        deadline: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._token = token or None
        self._max_retries = max(0, max_retries)
        self._write_interval = max(0.0, write_interval)
        self._deadline = deadline
        self._sleep_fn = sleep
        self._started = time.monotonic()
        self._slept = 0.0
        self._last_write: dict[str, float] = {}
        self._etags: OrderedDict[tuple[str, str, str], tuple[str, bytes, dict[str, str]]] = (
            OrderedDict()
        )
        self._backoff = wait_random_exponential(multiplier=0.5, max=30)
        self.calls = 0

    # -- plumbing ---------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"ApiClient(base_url={str(self._client.base_url)!r}, calls={self.calls})"

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def redact(self, text: str) -> str:
        """``text`` with the token (if any) masked: for every message that leaves this module."""
        if self._token and self._token in text:
            text = text.replace(self._token, "[redacted]")
        return text

    def _elapsed(self) -> float:
        # With an injected (fake) sleep the clock does not move, so count what we "slept" too.
        return max(time.monotonic() - self._started, self._slept)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._slept += seconds
            self._sleep_fn(seconds)

    def _pace(self, host: str) -> None:
        last = self._last_write.get(host)
        if last is not None and self._write_interval > 0:
            gap = self._write_interval - (time.monotonic() - last)
            if gap > 0:
                self._sleep(gap)

    def _wait(self, retry_state: Any) -> float:
        exc = retry_state.outcome.exception()
        assert isinstance(exc, _Retry)
        wait = exc.hint if exc.hint is not None else self._backoff(retry_state)
        wait = min(max(wait, exc.floor), _MAX_HINT)
        if self._deadline is not None and self._elapsed() + wait > self._deadline:
            raise DeadlineExceeded(
                self.redact(
                    f"{exc.error.message}; gave up: waiting {wait:.0f}s more would pass "
                    f"the {self._deadline:.0f}s deadline"
                )
            )
        log.debug("retrying in %.1fs after: %s", wait, exc.error.message)
        return wait

    # -- requests ---------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        ok: Container[int] = _OK,
    ) -> httpx.Response:
        """Send one logical request (retrying per policy); return the response if its status is ``ok``.

        ``idempotent`` defaults from the method; pass ``True`` for set-style POST/PATCH calls (a
        label add, a body replace) that are safe to repeat.
        """
        method = method.upper()
        idem = method in _IDEMPOTENT if idempotent is None else idempotent
        retrying = Retrying(
            stop=stop_after_attempt(self._max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(_Retry),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, method, path, json, params, headers, idem, ok)
        except _Retry as final:
            raise final.error from None

    def _attempt(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        idem: bool,
        ok: Container[int],
    ) -> httpx.Response:
        if self._deadline is not None and self._elapsed() > self._deadline:
            raise DeadlineExceeded(
                f"{method} {path}: the {self._deadline:.0f}s deadline has passed"
            )
        req = self._client.build_request(method, path, json=json, params=params, headers=headers)
        url = _strip_query(req.url)
        host = req.url.host
        key = (host, str(req.url), req.headers.get("accept", ""))
        cached = self._etags.get(key) if method == "GET" else None
        if cached is not None:
            req.headers["If-None-Match"] = cached[0]
        mutating = method not in _SAFE
        if mutating:
            self._pace(host)
        self.calls += 1
        try:
            resp = self._client.send(req)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing reached the server: repeating is safe for every method.
            raise _Retry(
                NetworkError(self.redact(f"{method} {url}: cannot connect ({type(exc).__name__})"))
            ) from None
        except httpx.TransportError as exc:
            what = f"{method} {url}: {type(exc).__name__} ({_one_line(str(exc)) or 'no detail'})"
            if idem:
                raise _Retry(NetworkError(self.redact(what))) from None
            raise AmbiguousWrite(
                self.redact(f"{what}; the write may or may not have been applied"),
                method=method,
                url=url,
            ) from None
        finally:
            if mutating:
                self._last_write[host] = time.monotonic()
        status = resp.status_code
        log.debug("%s %s -> %s", method, url, status)
        if status == 304 and cached is not None:
            resp.read()
            return httpx.Response(200, headers=cached[2], content=cached[1], request=req)
        limited, hint, floor = _rate_limit_hint(resp)
        if limited:
            err = self._status_error(method, url, resp, RateLimitError)
            raise _Retry(err, hint, floor)
        if status in ok:
            if method == "GET" and status == 200:
                self._remember(key, resp)
            return resp
        err = self._status_error(method, url, resp, HttpStatusError)
        if status >= 500:
            if idem:
                raise _Retry(err, parse_retry_after(resp.headers.get("retry-after")))
            raise AmbiguousWrite(
                self.redact(f"{err.message}; the write may or may not have been applied"),
                method=method,
                url=url,
                status=status,
            )
        raise err

    def _remember(self, key: tuple[str, str, str], resp: httpx.Response) -> None:
        etag = resp.headers.get("etag")
        if not etag:
            return
        body = resp.read()
        if len(body) > _CACHE_MAX_BODY:
            return
        keep = {k: v for k, v in resp.headers.items() if k.lower() not in ("content-encoding",)}
        keep["content-length"] = str(len(body))
        self._etags[key] = (etag, body, keep)
        self._etags.move_to_end(key)
        while len(self._etags) > _CACHE_ENTRIES:
            self._etags.popitem(last=False)

    def _status_error(
        self, method: str, url: str, resp: httpx.Response, cls: type[HttpStatusError]
    ) -> HttpStatusError:
        api_message, errors = _api_message(resp)
        api_message = self.redact(api_message)
        reason = resp.reason_phrase or ""
        text = f"{method} {url} -> {resp.status_code} {reason}".rstrip()
        if api_message:
            text = f"{text}: {api_message}"
        return cls(
            self.redact(_one_line(text)),
            status=resp.status_code,
            url=url,
            method=method,
            api_message=api_message,
            errors=errors,
            headers={k.lower(): v for k, v in resp.headers.items() if k.lower() != "set-cookie"},
        )

    def get_json(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """GET and decode JSON; a non-JSON answer is an error, not a crash."""
        resp = self.request("GET", path, params=params, headers=headers)
        return self.json_of(resp)

    def json_of(self, resp: httpx.Response) -> Any:
        try:
            return resp.json()
        except ValueError:
            url = _strip_query(resp.request.url) if resp.request else "?"
            raise HttpError(self.redact(f"GET {url}: the answer is not JSON")) from None

    def paginate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        max_pages: int = 1000,
    ) -> Iterator[Any]:
        """Every item over all pages, following ``Link: <…>; rel="next"`` or ``x-next-page`` (100 per page).

        ``key`` names the list inside an object page (e.g. ``check_runs``). A ``next`` link to another
        host is refused: the token must never be sent anywhere but the API it was given for.
        """
        query: dict[str, Any] | None = {"per_page": 100, **(params or {})}
        url: str = path
        origin = self._client.base_url.host
        for _ in range(max_pages):
            resp = self.request("GET", url, params=query, headers=headers)
            data = self.json_of(resp)
            items = data.get(key, []) if key and isinstance(data, dict) else data
            if not isinstance(items, list):
                raise HttpError(f"GET {_strip_query(resp.request.url)}: expected a list")
            yield from items
            nxt = resp.links.get("next", {}).get("url")
            if not nxt:
                # Some APIs (GitLab) may send only ``x-next-page``: empty on the last page.
                page = (resp.headers.get("x-next-page") or "").strip()
                if not page.isdigit() or not items:
                    return
                nxt = str(resp.request.url.copy_set_param("page", page))
            if httpx.URL(nxt).host not in ("", origin):
                raise HttpError(f"pagination link points to another host ({httpx.URL(nxt).host})")
            url, query = nxt, None
        raise HttpError(f"GET {path}: more than {max_pages} pages; stopped")


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    # Building the CA bundle context costs ~0.1 s; one per process is enough.
    return httpx.create_ssl_context()


def make_client(
    base_url: str,
    *,
    token: str | None,
    auth_scheme: str = "Bearer",
    auth_header: str = "Authorization",
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    max_retries: int = 4,
    transport: httpx.BaseTransport | None = None,
    write_interval: float = 1.0,
    deadline: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ApiClient:
    """Build the client for one API base. ``deadline`` is a budget in seconds from now.

    ``auth_header`` other than ``Authorization`` (GitLab's ``PRIVATE-TOKEN``, ``JOB-TOKEN``) carries
    the bare token; either way the client knows the token, so it is redacted from every error.
    """
    base = base_url.rstrip("/") + "/"
    all_headers = {"User-Agent": f"prbot/{__version__}", **(headers or {})}
    if token:
        if auth_header.lower() == "authorization":
            all_headers["Authorization"] = f"{auth_scheme} {token}"
        else:
            all_headers[auth_header] = token
    client = httpx.Client(
        base_url=base,
        headers=all_headers,
        timeout=httpx.Timeout(timeout),
        transport=transport,
        follow_redirects=True,
        verify=_ssl_context(),
    )
    return ApiClient(
        client,
        token=token,
        max_retries=max_retries,
        write_interval=write_interval,
        deadline=deadline,
        sleep=sleep,
    )
