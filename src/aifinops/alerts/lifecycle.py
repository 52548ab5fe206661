"""Alert rules without I/O: severity by dollar impact, grouping keys, routing, and the messages sent.

An alert groups the anomalies of one owner and kind (``group_key``): a second spend spike for the same
team while the first alert is still open updates that alert instead of opening a new one. Its lifecycle
is ``open`` -> ``acknowledged`` -> ``resolved`` (acknowledging is optional; resolving is manual or
automatic once nothing new arrived for ``auto_resolve_hours``). A notification goes out when an alert
opens, when its severity rises, and when it resolves.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aifinops.core.settings_alerts import SEVERITIES, AlertSettings

__all__ = [
    "STATUSES",
    "TRANSITIONS",
    "severity_of",
    "group_key",
    "route",
    "title_of",
    "webhook_payload",
    "slack_payload",
    "email_message",
    "check_transition",
]

STATUSES = ("open", "acknowledged", "resolved")
#: allowed status changes: (from, action) -> to
TRANSITIONS = {
    ("open", "ack"): "acknowledged",
    ("open", "resolve"): "resolved",
    ("acknowledged", "resolve"): "resolved",
}
_LABELS = {
    "spend_spike": "spend spike",
    "spend_shift": "spend level shift",
    "prompt_bloat": "prompt bloat",
    "model_mix_shift": "model-tier mix shift",
    "error_surge": "error surge",
    "retry_surge": "retry surge",
    "runaway_workflow": "runaway agent workflow",
    "idle_endpoint": "idle inference endpoint",
    "runaway_training": "runaway training run",
    "budget_threshold": "budget threshold",
    "forecast_overrun": "forecast budget overrun",
}


def check_transition(status: str, action: str) -> str | None:
    """The status after ``action`` (``ack`` or ``resolve``), or None when it is not allowed."""
    return TRANSITIONS.get((status, action))


def severity_of(impact: Decimal, thresholds: Mapping[str, Decimal]) -> str:
    """``low``, ``medium``, ``high`` or ``critical`` by estimated dollar impact."""
    level = "low"
    for name in ("medium", "high", "critical"):
        if name in thresholds and impact >= thresholds[name]:
            level = name
    return level


def group_key(kind: str, owner: str, subject: str = "") -> str:
    """Anomalies of one owner and kind share an alert while it is open; each budget threshold and each
    budget's overrun forecast is an alert of its own (every crossing is news)."""
    if kind in ("budget_threshold", "forecast_overrun"):
        return f"{owner}|{kind}|{subject}"
    return f"{owner}|{kind}"


def route(settings: AlertSettings, owner: str, kind: str, severity: str) -> list[str]:
    """Channel names an alert goes to: every matching route at or above its ``min_severity`` (no duplicates)."""
    rank = SEVERITIES.index(severity)
    out: list[str] = []
    for r in settings.routes:
        if not fnmatch.fnmatchcase(owner, r.owner):
            continue
        if r.kinds and kind not in r.kinds:
            continue
        if rank < SEVERITIES.index(r.min_severity):
            continue
        out.extend(c for c in r.channels if c not in out)
    return out


def title_of(alert: Mapping[str, Any]) -> str:
    """One line: severity, what, whose, how much."""
    label = _LABELS.get(alert["kind"], alert["kind"].replace("_", " "))
    impact = Decimal(str(alert.get("impact") or 0))
    money = f" (~{alert.get('currency', 'USD')} {impact:,.2f})" if impact > 0 else ""
    return f"[{alert['severity'].upper()}] {label} for {alert['owner']}{money}"


def webhook_payload(
    event: str, alert: Mapping[str, Any], anomalies: list[Mapping[str, Any]]
) -> dict[str, Any]:
    """The JSON body of a webhook delivery."""
    return {"event": f"alert.{event}", "alert": dict(alert), "anomalies": [dict(a) for a in anomalies]}


def slack_payload(event: str, alert: Mapping[str, Any], anomalies: list[Mapping[str, Any]]) -> dict[str, Any]:
    """A Slack incoming-webhook message (``text`` plus ``blocks``)."""
    head = ("Resolved: " if event == "resolved" else "") + title_of(alert)
    lines = [f"• {a['explanation']}" for a in anomalies[:5]]
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{head}*"}}]
    if lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"alert `{alert['alert_id']}` · status {alert['status']}"}
            ],
        }
    )
    return {"text": head, "blocks": blocks}


def email_message(
    event: str, alert: Mapping[str, Any], anomalies: list[Mapping[str, Any]]
) -> tuple[str, str]:
    """Subject and plain-text body of an email delivery."""
    subject = ("Resolved: " if event == "resolved" else "") + title_of(alert)
    body = [subject, "", f"Alert {alert['alert_id']} is {alert['status']}.", ""]
    for a in anomalies[:20]:
        body.append(f"- {a['explanation']}")
        body.append(f"  started {a['started_at']}, detected {a['detected_at']}")
    body += ["", "Acknowledge: aifinops anomalies ack " + str(alert["alert_id"])]
    return subject, "\n".join(body) + "\n"
