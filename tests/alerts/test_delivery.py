"""Alerts reach a real local HTTP receiver (webhook JSON and Slack payloads) and a real SMTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from aifinops.alerts import deliver
from aifinops.app import App
from aifinops.core.settings import Settings
from aifinops.core.settings_alerts import ChannelSettings
from tests.factories import rec

END = datetime(2026, 3, 20, 12, tzinfo=UTC)


class _Receiver:
    """A local HTTP server that records every POST (path, headers, JSON body); ``/fail`` answers 500."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["content-length"]))
                posts.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                self.send_response(500 if self.path == "/fail" else 200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture
def smtp() -> Iterator[tuple[_Mailbox, int]]:
    import socket

    with socket.socket() as probe:  # a free port (aiosmtpd checks readiness by connecting, so not port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = _Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


ALERT = {
    "alert_id": "al_1",
    "kind": "spend_spike",
    "owner": "search",
    "severity": "high",
    "impact": "300",
    "currency": "USD",
    "status": "open",
}


def test_webhook_posts_json_with_configured_headers(
    receiver: _Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_TOKEN", "s3cret")
    channel = ChannelSettings(
        type="webhook", url=f"{receiver.url}/hook", headers={"authorization": "Bearer ${HOOK_TOKEN}"}
    )
    result = deliver(channel, "opened", ALERT, [{"explanation": "spend of search spiked"}])
    assert result.ok and result.status_code == 200
    [post] = receiver.posts
    assert post["path"] == "/hook"
    assert post["headers"]["authorization"] == "Bearer s3cret"
    assert post["body"]["event"] == "alert.opened" and post["body"]["alert"]["alert_id"] == "al_1"


def test_failed_and_unreachable_channels_are_reported_not_raised(receiver: _Receiver) -> None:
    bad = deliver(ChannelSettings(type="slack", url=f"{receiver.url}/fail"), "opened", ALERT, [])
    assert not bad.ok and bad.status_code == 500
    gone = deliver(
        ChannelSettings(type="webhook", url="http://127.0.0.1:9/x", timeout_seconds=1), "opened", ALERT, []
    )
    assert not gone.ok and gone.status_code is None and gone.error
    unset = deliver(ChannelSettings(type="webhook", url="${NOT_SET_ANYWHERE_42}"), "opened", ALERT, [])
    assert not unset.ok and "NOT_SET_ANYWHERE_42" in (unset.error or "")


def _history(spike: bool) -> list[Any]:
    """Two weeks of flat traffic for team search (two 1-cent calls every 5 minutes), plus a spike at the end."""
    out = []
    start = END - timedelta(days=14)
    for i in range(14 * 288):
        at = start + timedelta(minutes=5 * i)
        for j in range(2):
            out.append(
                rec(
                    f"h{i}-{j}",
                    at=at + timedelta(seconds=30 * j),
                    team="search",
                    effective_cost=Decimal("0.01"),
                    list_cost=Decimal("0.01"),
                    billed_cost=Decimal("0.01"),
                )
            )
    if spike:  # $300 in the last 20 minutes
        for k in range(60):
            at = END - timedelta(minutes=20) + timedelta(seconds=20 * k)
            out.append(
                rec(
                    f"s{k}",
                    at=at,
                    team="search",
                    effective_cost=Decimal(5),
                    list_cost=Decimal(5),
                    billed_cost=Decimal(5),
                )
            )
    return out


def test_a_detected_spike_reaches_webhook_slack_and_email(
    receiver: _Receiver, smtp: tuple[_Mailbox, int]
) -> None:
    box, port = smtp
    settings = Settings.model_validate(
        {
            "alerts": {
                "channels": {
                    "hook": {"type": "webhook", "url": f"{receiver.url}/hook"},
                    "chat": {"type": "slack", "url": f"{receiver.url}/slack"},
                    "mail": {
                        "type": "email",
                        "to": ["finops@example.com"],
                        "smtp_host": "127.0.0.1",
                        "smtp_port": port,
                    },
                },
                "routes": [
                    {"owner": "search", "channels": ["hook", "chat"]},
                    {"owner": "*", "channels": ["mail"], "min_severity": "high"},
                ],
            }
        }
    )
    app = App(settings, None)
    app.append(_history(spike=True))
    summary = app.detect_anomalies(now=END)
    assert summary["anomalies_new"] == 1 and summary["notifications"] == 3
    hook = next(p for p in receiver.posts if p["path"] == "/hook")["body"]
    assert hook["event"] == "alert.opened"
    assert hook["alert"]["severity"] == "high" and hook["alert"]["owner"] == "search"
    [anomaly] = hook["anomalies"]
    assert anomaly["kind"] == "spend_spike"
    assert 295 <= float(anomaly["impact"]) <= 301  # $300 of calls against ~$0.08 expected
    slack = next(p for p in receiver.posts if p["path"] == "/slack")["body"]
    assert slack["text"].startswith("[HIGH] spend spike for search")
    [(rcpt, msg)] = box.messages
    assert rcpt == ["finops@example.com"]
    assert msg["Subject"].startswith("[HIGH] spend spike for search")
    assert "spiked" in msg.get_payload()
    # the next run sees the same anomaly: no second notification
    assert app.detect_anomalies(now=END)["notifications"] == 0
    assert len(receiver.posts) == 2
    [alert] = app.list_alerts()
    deliveries = app.alert_deliveries(alert["alert_id"])
    assert sorted((d["channel"], d["ok"]) for d in deliveries) == [
        ("chat", True),
        ("hook", True),
        ("mail", True),
    ]
    # resolving notifies the channels again
    app.resolve_anomaly(anomaly["anomaly_id"], by="ana")
    assert (
        receiver.posts[-1]["body"]["text"].startswith("Resolved:")
        or receiver.posts[-1]["body"]["event"] == "alert.resolved"
    )


def test_quiet_history_raises_nothing(receiver: _Receiver) -> None:
    settings = Settings.model_validate(
        {
            "alerts": {
                "channels": {"hook": {"type": "webhook", "url": receiver.url}},
                "routes": [{"channels": ["hook"]}],
            }
        }
    )
    app = App(settings, None)
    app.append(_history(spike=False))
    assert app.detect_anomalies(now=END)["anomalies_new"] == 0
    assert receiver.posts == []
