"""The alert pipeline: anomalies in, alerts grouped and deduplicated, notifications routed and delivered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from aifinops.alerts.channels import Delivery, deliver
from aifinops.alerts.lifecycle import route
from aifinops.alerts.store import AlertStore
from aifinops.core.settings_alerts import AlertSettings

__all__ = ["AlertService"]


class AlertService:
    """Turns saved anomalies into alerts and notifications (one per alert event, never one per anomaly)."""

    def __init__(
        self, store: AlertStore, settings: AlertSettings, *, client: httpx.Client | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.client = client

    def process(self, anomalies: list[dict[str, Any]], now: datetime) -> dict[str, int]:
        """Save anomalies, group them into alerts, notify each alert event once, auto-resolve stale alerts."""
        new = updated = notified = 0
        events: dict[str, tuple[str, dict[str, Any]]] = {}
        for a in anomalies:
            if self.store.save_anomaly(a):
                new += 1
            else:
                updated += 1
            alert, event = self.store.attach(a, dict(self.settings.severity), now)
            if event is not None and (alert["alert_id"] not in events or event == "opened"):
                events[alert["alert_id"]] = (event, alert)
            elif alert["alert_id"] in events:  # keep the latest state for the grouped notification
                events[alert["alert_id"]] = (events[alert["alert_id"]][0], alert)
        for alert_id in self.store.stale(now, self.settings.auto_resolve_hours):
            alert = self.store.transition(alert_id, "resolve", "auto", now)
            events[alert_id] = ("resolved", alert)
        for event, alert in events.values():
            notified += self.notify(event, alert, now)
        return {"anomalies_new": new, "anomalies_updated": updated, "notifications": notified}

    def notify(self, event: str, alert: dict[str, Any], now: datetime) -> int:
        """Deliver one alert event to every routed channel; returns successful deliveries."""
        names = route(self.settings, alert["owner"], alert["kind"], alert["severity"])
        if not names:
            return 0
        anomalies = self.store.anomalies(alert_id=alert["alert_id"], limit=20)
        from aifinops.core.jsonable import jsonable

        body_alert, body_anomalies = jsonable(alert), jsonable(anomalies)
        ok = 0
        for name in names:
            channel = self.settings.channels[name]
            result: Delivery = deliver(channel, event, body_alert, body_anomalies, client=self.client)
            self.store.record_delivery(
                alert["alert_id"], name, channel.type, event, now, result.ok, result.status_code, result.error
            )
            ok += result.ok
        return ok
