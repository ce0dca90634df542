"""Slack incoming webhooks: ``POST {"text": …}`` to the URL held in the channel's env var.

Slack reads ``&``, ``<`` and ``>`` as control characters in ``mrkdwn`` (``<!channel>`` pings a
whole channel, ``<url|text>`` disguises a link), so the message is escaped before it is sent. The
template layer already escaped the PR values it inserted; :func:`slack_escape` leaves those
entities alone instead of escaping them a second time, so ``&amp;`` never shows up as text.
"""

from __future__ import annotations

import re

from prbot.notify.webhook import Delivery, PostOptions, post_json

#: Slack truncates long messages anyway; keep well under its 40,000-character cap.
MAX_SLACK_CHARS = 3000
_BARE_AMP = re.compile(r"&(?!(?:amp|lt|gt);)")


def slack_escape(text: str) -> str:
    """``text`` with Slack's three control characters escaped; applying it twice changes nothing."""
    text = _BARE_AMP.sub("&amp;", text)
    return text.replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: str) -> dict[str, object]:
    text = slack_escape(message)
    if len(text) > MAX_SLACK_CHARS:
        cut = text[: MAX_SLACK_CHARS - 1]
        # Do not leave half an entity ("&am") at the cut.
        amp = cut.rfind("&")
        if amp != -1 and ";" not in cut[amp:]:
            cut = cut[:amp]
        text = cut + "…"
    return {"text": text}


def send_slack(url: str, message: str, *, options: PostOptions | None = None) -> Delivery:
    """One message to an incoming webhook (Slack answers ``200 ok`` or a 4xx with a reason)."""
    return post_json(url, slack_payload(message), {}, options=options)
