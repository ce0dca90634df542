"""Notifications: Slack incoming webhooks, signed generic webhooks and e-mail.

Channels are configured under ``notify:`` with the *names* of the environment variables that hold
their secrets; :func:`send` resolves them at send time and reports every outcome as a
:class:`~prbot.platforms.base.WriteResult`, so notifications are audited like forge writes.
"""

from __future__ import annotations

from prbot.notify.send import send
from prbot.notify.webhook import PostOptions, sign, verify

__all__ = ["PostOptions", "send", "sign", "verify"]
