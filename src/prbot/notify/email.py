"""E-mail notifications through an SMTP server, with the standard library only.

The server is one URL held in the channel's env var (``smtp_env``, default ``PRBOT_SMTP_URL``),
because host, port, login and password change together and the password must stay out of the
committed config::

    smtp://user:password@mail.example.com:587?from=prbot@example.com&starttls=true
    smtps://user:password@mail.example.com          (TLS from the first byte, port 465)
    smtp://relay.internal:25?from=prbot@example.com (an unauthenticated internal relay)

``starttls`` defaults to on for port 587. A password is never sent over a connection that is not
encrypted, except to a loopback relay: a typo in the URL must not leak the mailbox.
"""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from prbot.notify.webhook import Delivery

MAX_SUBJECT_CHARS = 120
_TRUE = ("1", "true", "yes", "on")


class SmtpUrlError(ValueError):
    """The SMTP URL is malformed (the message never quotes the URL: it holds the password)."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    tls: bool  # implicit TLS (smtps)
    starttls: bool
    user: str
    password: str
    sender: str

    def __repr__(self) -> str:  # never show the password, even in a traceback
        return f"SmtpServer(host={self.host!r}, port={self.port}, user={self.user!r})"

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_smtp_url(url: str) -> SmtpServer:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise SmtpUrlError("the SMTP URL must start with smtp:// or smtps://")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise SmtpUrlError("the SMTP URL has an invalid port") from None
    if not host:
        raise SmtpUrlError("the SMTP URL has no host")
    tls = parts.scheme == "smtps"
    port = port or (465 if tls else 25)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    starttls = query.get("starttls", "true" if port == 587 else "false").lower() in _TRUE
    user = unquote(parts.username or "")
    sender = query.get("from") or (user if "@" in user else f"prbot@{host}")
    if "\n" in sender or "\r" in sender or "@" not in sender:
        raise SmtpUrlError("the SMTP URL's from= is not an e-mail address")
    return SmtpServer(
        host, port, tls, starttls and not tls, user, unquote(parts.password or ""), sender
    )


def build_message(sender: str, to: Sequence[str], subject: str, text: str) -> EmailMessage:
    msg = EmailMessage()
    flat = " ".join(subject.split())
    if len(flat) > MAX_SUBJECT_CHARS:
        flat = flat[: MAX_SUBJECT_CHARS - 1] + "…"
    msg["Subject"] = flat or "prbot notification"
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg.set_content(text)
    return msg


def send_email(
    url: str, to: Sequence[str], subject: str, text: str, *, timeout: float = 10.0
) -> Delivery:
    """Send one plain-text message; never raises, never repeats the URL or the password."""
    try:
        server = parse_smtp_url(url)
    except SmtpUrlError as exc:
        return Delivery(False, None, str(exc))
    encrypted = server.tls or server.starttls
    if server.password and not encrypted and not server.loopback:
        return Delivery(
            False,
            None,
            "refusing to send the SMTP password unencrypted: use smtps:// or starttls=true",
        )
    msg = build_message(server.sender, to, subject, text)
    context = ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if server.tls:
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if server.starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if server.user:
                smtp.login(server.user, server.password)
            refused = smtp.send_message(msg)
    except smtplib.SMTPResponseException as exc:
        return Delivery(False, exc.smtp_code, f"the SMTP server refused: {exc.smtp_code}")
    except smtplib.SMTPRecipientsRefused:
        return Delivery(False, None, "the SMTP server refused every recipient")
    except (smtplib.SMTPException, OSError) as exc:
        return Delivery(False, None, f"SMTP failed: {type(exc).__name__}")
    if refused:
        return Delivery(False, None, f"the SMTP server refused {len(refused)} recipient(s)")
    return Delivery(True, 250, f"sent to {len(to)} recipient(s)")
