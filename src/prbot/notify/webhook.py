"""Generic JSON webhooks, signed so the receiver can tell prbot's deliveries from forgeries.

The signature is ``X-Prbot-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` under the
channel's secret (the scheme GitHub uses for its own webhooks, so receivers can reuse their code).
``X-Prbot-Delivery`` is a fresh UUID per notification and stays the same across retries, so a
receiver can drop a duplicate when a response was lost and the POST was repeated.

A webhook URL is itself a credential (Slack's embeds the token in its path), yet the shared HTTP
client writes request URLs into its log lines and error messages. So the client here only ever
sees a placeholder address; a small transport swaps in the real URL at the socket. Nothing this
module returns or logs can then contain the URL, whatever the HTTP layer does with it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from prbot.errors import PrbotError
from prbot.http import HttpStatusError, make_client

#: What the HTTP client sees instead of the secret URL (``.invalid`` never resolves).
PLACEHOLDER = "https://notify-target.invalid/"
SIGNATURE_HEADER = "X-Prbot-Signature"
EVENT_HEADER = "X-Prbot-Event"
DELIVERY_HEADER = "X-Prbot-Delivery"


@dataclass
class PostOptions:
    """Transport knobs; tests shorten the timeout and replace ``sleep`` so retries cost nothing."""

    timeout: float = 10.0
    max_retries: int = 2
    deadline: float | None = 60.0
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Delivery:
    """The outcome of one POST, already free of the URL and the secret."""

    ok: bool
    status: int | None
    detail: str
    delivery_id: str = ""


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), header.strip())


class _HiddenTarget(httpx.BaseTransport):
    """Sends requests addressed to :data:`PLACEHOLDER` to the real URL, signing the exact bytes.

    Signing here, on the body as it leaves, means the signature always matches what the receiver
    reads, whatever JSON encoding the HTTP layer chose.
    """

    def __init__(self, url: str, secret: str | None) -> None:
        self._url = httpx.URL(url)
        self._secret = secret
        self._inner = httpx.HTTPTransport(retries=0)
        self._placeholder_host = httpx.URL(PLACEHOLDER).host

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # A new request for the socket: the client's own request object keeps the placeholder,
        # so httpx's own log line ("HTTP Request: POST …") never shows the real address either.
        body = request.read()
        headers = httpx.Headers(request.headers)
        url = request.url
        if url.host == self._placeholder_host:
            url = self._url
            headers["Host"] = self._url.netloc.decode("ascii")
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(self._secret, body)
        outgoing = httpx.Request(
            request.method, url, headers=headers, content=body, extensions=request.extensions
        )
        try:
            resp = self._inner.handle_request(outgoing)
        except httpx.TransportError as exc:
            # httpx messages can quote the address; keep only the kind of failure.
            raise type(exc)(type(exc).__name__, request=request) from None
        return httpx.Response(
            resp.status_code, headers=resp.headers, stream=resp.stream, extensions=resp.extensions
        )

    def close(self) -> None:
        self._inner.close()


def post_json(
    url: str,
    payload: Mapping[str, Any],
    headers: Mapping[str, str],
    *,
    secret: str | None = None,
    options: PostOptions | None = None,
) -> Delivery:
    """POST ``payload`` as JSON with prbot's retry policy; never raises.

    The POST is marked idempotent: the delivery id in ``headers`` lets the receiver de-duplicate,
    which is what makes a retry after a 5xx or a dropped connection safe.
    """
    opts = options or PostOptions()
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        return Delivery(False, None, "the configured URL is not an http(s) address")
    client = make_client(
        PLACEHOLDER,
        token=None,
        headers=dict(headers),
        timeout=opts.timeout,
        max_retries=opts.max_retries,
        transport=_HiddenTarget(url, secret),
        write_interval=0.0,
        deadline=opts.deadline,
        sleep=opts.sleep,
    )
    try:
        with client:
            answer = client.request("POST", "", json=dict(payload), idempotent=True)
    except HttpStatusError as exc:
        return Delivery(False, exc.status, f"the receiver answered {exc.status}")
    except PrbotError as exc:
        return Delivery(False, None, _scrub(exc.message, url, secret))
    return Delivery(True, answer.status_code, f"delivered ({answer.status_code})")


def _scrub(message: str, url: str, secret: str | None) -> str:
    text = message.replace(url, "[url]")
    if secret:
        text = text.replace(secret, "[secret]")
    text = text.replace(PLACEHOLDER.rstrip("/"), "receiver").replace(PLACEHOLDER, "receiver")
    return text.split("; the write may")[0]


def send_webhook(
    url: str,
    secret: str | None,
    payload: Mapping[str, Any],
    *,
    event: str = "notify",
    options: PostOptions | None = None,
) -> Delivery:
    """Deliver one JSON payload, signed when the channel has a secret."""
    delivery = str(uuid.uuid4())
    headers = {EVENT_HEADER: event, DELIVERY_HEADER: delivery}
    out = post_json(url, payload, headers, secret=secret, options=options)
    return Delivery(out.ok, out.status, out.detail, delivery)
