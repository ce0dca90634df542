"""E-mail notifications against a tiny loopback SMTP server (EHLO, AUTH, MAIL, RCPT, DATA, QUIT)."""

from __future__ import annotations

import base64
import socketserver
import threading
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest

from prbot.notify import send
from prbot.notify.email import SmtpUrlError, parse_smtp_url
from prbot.platforms.base import PullRequest
from prbot.rules.schema import EmailChannel

PR = PullRequest(forge="github", repo="octo/demo", number=3, title="T")
PASSWORD = "s3cr3t-mail-pass"


class FakeSmtp:
    """Speaks just enough SMTP; records envelopes, logins and raw messages."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.logins: list[tuple[str, str]] = []
        self.refuse_rcpt: set[str] = set()
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 5

            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 fake ESMTP")
                env: dict[str, Any] = {"rcpt": []}
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        return
                    line = raw.decode().rstrip("\r\n")
                    verb = line.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.wfile.write(b"250-fake\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n")
                    elif verb == "AUTH":
                        parts = line.split(" ")
                        _, user, pw = base64.b64decode(parts[2]).decode().split("\0")
                        fake.logins.append((user, pw))
                        self.reply("235 ok" if pw == PASSWORD else "535 bad credentials")
                    elif verb == "MAIL":
                        env = {"from": line[10:].strip("<> "), "rcpt": []}
                        self.reply("250 ok")
                    elif verb == "RCPT":
                        who = line[8:].strip("<> ")
                        if who in fake.refuse_rcpt:
                            self.reply("550 no such user")
                        else:
                            env["rcpt"].append(who)
                            self.reply("250 ok")
                    elif verb == "DATA":
                        self.reply("354 go ahead")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data += chunk
                        fake.messages.append({**env, "data": data})
                        self.reply("250 queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("250 ok")

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    s = FakeSmtp()
    try:
        yield s
    finally:
        s.close()


def _channel(*to: str) -> EmailChannel:
    return EmailChannel(type="email", to=list(to or ["dev@example.com"]))


def test_sends_a_plain_text_message(smtp: FakeSmtp) -> None:
    url = f"smtp://bot%40example.com:{PASSWORD}@127.0.0.1:{smtp.port}?from=prbot@example.com"
    res = send("mail", _channel("a@example.com", "b@example.com"), "3 findings on #3",
               env={"PRBOT_SMTP_URL": url}, pr=PR, rule="big change")  # fmt: skip
    assert res.ok and res.action == "notify", res.detail
    assert smtp.logins == [("bot@example.com", PASSWORD)]
    (msg,) = smtp.messages
    assert msg["from"] == "prbot@example.com" and msg["rcpt"] == ["a@example.com", "b@example.com"]
    parsed = message_from_bytes(msg["data"])
    assert parsed["Subject"] == "prbot: big change on octo/demo#3"
    assert parsed["To"] == "a@example.com, b@example.com"
    assert "3 findings on #3" in parsed.get_payload(decode=True).decode()
    assert PASSWORD not in res.detail


def test_refused_login_and_recipient_are_one_line(smtp: FakeSmtp) -> None:
    url = f"smtp://bot:wrong-password@127.0.0.1:{smtp.port}"
    res = send("mail", _channel(), "x", env={"PRBOT_SMTP_URL": url}, pr=PR)
    assert not res.ok and res.status == 535 and "wrong-password" not in res.detail
    smtp.refuse_rcpt = {"gone@example.com"}
    url = f"smtp://127.0.0.1:{smtp.port}?from=prbot@example.com"
    res = send("mail", _channel("gone@example.com"), "x", env={"PRBOT_SMTP_URL": url}, pr=PR)
    assert not res.ok and "refused" in res.detail and not smtp.messages


def test_secrets_in_the_message_are_redacted(smtp: FakeSmtp) -> None:
    url = f"smtp://127.0.0.1:{smtp.port}?from=prbot@example.com"
    res = send("mail", _channel(), "token ghp_0123456789abcdefghijABCDEFGHIJ012345 leaked",
               env={"PRBOT_SMTP_URL": url}, pr=PR)  # fmt: skip
    assert res.ok
    assert b"ghp_0123456789" not in smtp.messages[0]["data"]


def test_password_never_sent_unencrypted_to_a_remote_host() -> None:
    # Refused before any connection is made: nothing leaves the machine.
    url = f"smtp://bot:{PASSWORD}@mail.example.com:25"
    res = send("mail", _channel(), "x", env={"PRBOT_SMTP_URL": url}, pr=PR)
    assert not res.ok and "unencrypted" in res.detail and PASSWORD not in res.detail


def test_missing_variable_and_bad_urls() -> None:
    res = send("mail", _channel(), "x", env={}, pr=PR)
    assert res.detail == "notify channel 'mail': environment variable PRBOT_SMTP_URL is not set"
    bad = send("mail", _channel(), "x", env={"PRBOT_SMTP_URL": f"http://u:{PASSWORD}@h"}, pr=PR)
    assert not bad.ok and PASSWORD not in bad.detail and "smtp://" in bad.detail
    with pytest.raises(SmtpUrlError):
        parse_smtp_url("smtp://h:notaport")
    with pytest.raises(SmtpUrlError):
        parse_smtp_url("smtp://h?from=evil%0d%0aBcc:x@y")
    server = parse_smtp_url(f"smtp://u:{PASSWORD}@mail.example.com:587")
    assert server.starttls and not server.tls and server.sender == "prbot@mail.example.com"
    assert server.password == PASSWORD and PASSWORD not in repr(server)
    tls = parse_smtp_url("smtps://mail.example.com?starttls=true")
    assert tls.tls and tls.port == 465 and not tls.starttls
