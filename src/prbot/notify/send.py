"""Deliver one rendered notification to one configured channel, whatever its type.

A notification is a side effect of a run, never its purpose: every failure (a variable not set,
a receiver down, an SMTP refusal) becomes a :class:`WriteResult` with ``ok=False`` and one line
that names the channel, and the run carries on. Those lines reach logs, comments and the audit,
so they are built here from what is safe to show — the channel name, the variable *name*, the
HTTP status — and never from the URL, the secret or the SMTP password.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from prbot.notify.email import send_email
from prbot.notify.slack import send_slack
from prbot.notify.webhook import Delivery, PostOptions, send_webhook
from prbot.platforms.base import PullRequest, WriteResult
from prbot.review.secrets import redact
from prbot.rules.schema import EmailChannel, SlackChannel, WebhookChannel

ACTION = "notify"


def _clean(message: str, secrets: list[str]) -> str:
    """Defence in depth: no secret-looking text and none of this channel's own secrets."""
    text = redact(message)[0]
    for value in secrets:
        if value:
            text = text.replace(value, "[redacted]")
    return text


def _fail(name: str, detail: str, status: int | None = None) -> WriteResult:
    return WriteResult(ACTION, ok=False, status=status, detail=f"notify channel {name!r}: {detail}")


def _missing(name: str, var: str) -> WriteResult:
    return _fail(name, f"environment variable {var} is not set")


def webhook_payload(
    channel_name: str, message: str, pr: PullRequest | None, rule: str
) -> dict[str, Any]:
    """The JSON a generic webhook receives (documented; receivers parse it)."""
    return {
        "event": "notify",
        "channel": channel_name,
        "rule": rule,
        "message": message,
        "pull_request": None
        if pr is None
        else {
            "forge": pr.forge,
            "repo": pr.repo,
            "number": pr.number,
            "url": pr.url,
            "title": redact(pr.title)[0],
            "author": pr.author,
            "head_sha": pr.head_sha,
        },
    }


def send(
    channel_name: str,
    channel_cfg: SlackChannel | WebhookChannel | EmailChannel,
    message: str,
    *,
    env: Mapping[str, str],
    pr: PullRequest | None,
    rule: str = "",
    options: PostOptions | None = None,
) -> WriteResult:
    """Send ``message`` (already rendered) to one channel; never raises for delivery problems."""
    opts = options or PostOptions()
    if isinstance(channel_cfg, SlackChannel):
        url = env.get(channel_cfg.webhook_env, "").strip()
        if not url:
            return _missing(channel_name, channel_cfg.webhook_env)
        out = send_slack(url, _clean(message, [url]), options=opts)
        kind = "slack"
    elif isinstance(channel_cfg, WebhookChannel):
        url = env.get(channel_cfg.url_env, "").strip()
        if not url:
            return _missing(channel_name, channel_cfg.url_env)
        secret = None
        if channel_cfg.secret_env:
            secret = env.get(channel_cfg.secret_env, "")
            if not secret:
                return _missing(channel_name, channel_cfg.secret_env)
        text = _clean(message, [url, secret or ""])
        payload = webhook_payload(channel_name, text, pr, rule)
        out = send_webhook(url, secret, payload, options=opts)
        kind = "webhook"
    elif isinstance(channel_cfg, EmailChannel):
        url = env.get(channel_cfg.smtp_env, "").strip()
        if not url:
            return _missing(channel_name, channel_cfg.smtp_env)
        text = _clean(message, [url])
        where = f"{pr.repo}#{pr.number}" if pr is not None else "a pull request"
        subject = f"prbot: {rule or 'notification'} on {where}"
        out = send_email(url, channel_cfg.to, _clean(subject, [url]), text, timeout=opts.timeout)
        kind = "email"
    else:
        return _fail(channel_name, f"unknown channel type {type(channel_cfg).__name__}")
    return _result(channel_name, kind, out)


def _result(name: str, kind: str, out: Delivery) -> WriteResult:
    ids = (out.delivery_id,) if out.delivery_id else ()
    if not out.ok:
        return WriteResult(ACTION, ok=False, status=out.status, ids=ids,
                           detail=f"notify channel {name!r} ({kind}): {out.detail}")  # fmt: skip
    return WriteResult(ACTION, ok=True, status=out.status, ids=ids,
                       detail=f"notify channel {name!r} ({kind}): {out.detail}")  # fmt: skip


# --- not sending the same notification twice -------------------------------------------------
#
# A CI job has no memory between runs, so what was sent is remembered on the pull request itself:
# one prbot comment lists each notification with a hidden key. The key hashes the rule, the channel
# and the rendered message, so a re-run with the same outcome stays quiet while a changed message
# (new findings, a new verdict) is sent.

#: ``comment_marker`` key of the comment that lists the notifications already sent.
LOG_KEY = "notifications"
MAX_LOG_ENTRIES = 200
_ENTRY = re.compile(r"^- .* <!-- prbot:notified:([0-9a-f]{16}) -->$")


def notification_key(rule: str, channel_name: str, message: str) -> str:
    basis = "\x1f".join([rule, channel_name, message])
    return hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()[:16]


def log_entries(body: str) -> dict[str, str]:
    """Key → line of every notification listed in the log comment ``body``."""
    out: dict[str, str] = {}
    for line in (body or "").splitlines():
        m = _ENTRY.match(line.strip())
        if m:
            out[m.group(1)] = line.strip()
    return out


def log_entry(key: str, rule: str, channel_name: str) -> str:
    shown = " ".join(rule.split()).replace("`", "'").replace("@", "@\u200b")
    return f"- `{channel_name}` for rule `{shown}` <!-- prbot:notified:{key} -->"


def log_body(entries: Mapping[str, str]) -> str:
    """The log comment's text (the caller adds the marker); oldest entries drop off first."""
    kept = list(entries.values())[-MAX_LOG_ENTRIES:]
    head = "prbot sent these notifications for this pull request (re-runs do not repeat them):"
    return "\n".join([head, "", *kept])
