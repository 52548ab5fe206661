"""Delivery channels: a JSON webhook, a Slack-compatible incoming webhook, and SMTP email.

Each ``deliver`` returns a :class:`Delivery` (never raises): a failed channel is recorded and the others
still get the alert. Secrets in the channel settings (``${SMTP_PASSWORD}``) are resolved only here.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from aifinops.alerts.lifecycle import email_message, slack_payload, webhook_payload
from aifinops.core.errors import ConfigError
from aifinops.core.serde import dumps
from aifinops.core.settings import resolve_secret
from aifinops.core.settings_alerts import ChannelSettings

__all__ = ["Delivery", "deliver"]

_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


def _expand(text: str | None) -> str:
    """Resolve every ``${ENV}`` reference inside a value (``Bearer ${HOOK_TOKEN}``)."""
    return _REF.sub(lambda m: resolve_secret(m.group(0)) or "", text or "")


@dataclass(frozen=True)
class Delivery:
    """What one delivery attempt did."""

    ok: bool
    status_code: int | None = None
    error: str | None = None


def _post(channel: ChannelSettings, body: dict[str, Any], client: httpx.Client | None) -> Delivery:
    url = _expand(channel.url)
    headers = {"content-type": "application/json", "user-agent": "aifinops-alerts"}
    headers.update({k: _expand(v) for k, v in channel.headers.items()})
    try:
        if client is not None:
            response = client.post(url, content=dumps(body), headers=headers, timeout=channel.timeout_seconds)
        else:
            with httpx.Client() as own:
                response = own.post(
                    url, content=dumps(body), headers=headers, timeout=channel.timeout_seconds
                )
    except httpx.HTTPError as exc:
        return Delivery(False, None, f"{type(exc).__name__}: {exc}")
    if response.status_code >= 300:
        return Delivery(False, response.status_code, f"HTTP {response.status_code}: {response.text[:200]}")
    return Delivery(True, response.status_code)


def _email(channel: ChannelSettings, subject: str, body: str) -> Delivery:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = channel.sender
    msg["To"] = ", ".join(channel.to)
    msg.set_content(body)
    try:
        if channel.ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                channel.smtp_host,
                channel.smtp_port,
                timeout=channel.timeout_seconds,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(channel.smtp_host, channel.smtp_port, timeout=channel.timeout_seconds)
        with smtp:
            if channel.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if channel.username:
                smtp.login(_expand(channel.username), _expand(channel.password))
            refused = smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        return Delivery(False, None, f"{type(exc).__name__}: {exc}")
    if refused:
        return Delivery(False, None, f"refused recipients: {', '.join(refused)}")
    return Delivery(True, 250)


def deliver(
    channel: ChannelSettings,
    event: str,
    alert: Mapping[str, Any],
    anomalies: list[Mapping[str, Any]],
    *,
    client: httpx.Client | None = None,
) -> Delivery:
    """Send one alert event (``opened``, ``escalated``, ``resolved``) on one channel."""
    try:
        if channel.type == "webhook":
            return _post(channel, webhook_payload(event, alert, anomalies), client)
        if channel.type == "slack":
            return _post(channel, slack_payload(event, alert, anomalies), client)
        subject, body = email_message(event, alert, anomalies)
        return _email(channel, subject, body)
    except ConfigError as exc:  # an unset ${ENV} secret
        return Delivery(False, None, exc.message)
