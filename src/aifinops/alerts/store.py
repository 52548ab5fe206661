"""Anomalies and alerts in the ledger's own tables (schema migration 4): save, group, list, transition."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from aifinops.alerts.lifecycle import check_transition, group_key, severity_of, title_of
from aifinops.core.errors import Conflict, InputError, NotFound

__all__ = ["AlertStore"]

_ANOMALY_COLS = (
    "anomaly_id, kind, owner, subject, started_at, detected_at, last_seen_at, expected, observed, unit, "
    "impact, currency, explanation, ongoing, alert_id, details"
)
_ALERT_COLS = (
    "alert_id, group_key, kind, owner, severity, status, title, message, impact, currency, anomalies, "
    "opened_at, updated_at, acked_at, acked_by, resolved_at, resolved_by, last_seen_at"
)


def _money(value: float | Decimal) -> Decimal:
    return Decimal(str(round(float(value), 2))) if not isinstance(value, Decimal) else value


class AlertStore:
    """Reads and writes the anomaly tables of one ledger."""

    def __init__(self, ledger: Any, currency: str = "USD") -> None:
        self.ledger = ledger
        self.currency = currency

    # -- anomalies ------------------------------------------------------------------------------
    def save_anomaly(self, a: dict[str, Any]) -> bool:
        """Insert a new anomaly or refresh one under way; returns whether it is new."""
        known = self.ledger.query("SELECT anomaly_id FROM anomalies WHERE anomaly_id = ?", [a["anomaly_id"]])
        details = json.dumps(a.get("details") or {}, default=str)
        if known:
            self.ledger.execute(
                "UPDATE anomalies SET last_seen_at = ?, expected = ?, observed = ?, impact = ?, explanation = ?, "
                "ongoing = ?, details = ? WHERE anomaly_id = ?",
                [
                    a["last_seen_at"],
                    a["expected"],
                    a["observed"],
                    _money(a["impact"]),
                    a["explanation"],
                    a["ongoing"],
                    details,
                    a["anomaly_id"],
                ],
            )
            return False
        self.ledger.execute(
            f"INSERT INTO anomalies ({_ANOMALY_COLS}) VALUES ({', '.join('?' * 16)})",
            [
                a["anomaly_id"],
                a["kind"],
                a["owner"],
                a["subject"],
                a["started_at"],
                a["detected_at"],
                a["last_seen_at"],
                a["expected"],
                a["observed"],
                a["unit"],
                _money(a["impact"]),
                self.currency,
                a["explanation"],
                a["ongoing"],
                None,
                details,
            ],
        )
        return True

    def anomalies(
        self,
        *,
        since: datetime | None = None,
        owner: str | None = None,
        kind: str | None = None,
        alert_id: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        clauses, params = ["1 = 1"], []
        for col, value in (("owner", owner), ("kind", kind), ("alert_id", alert_id)):
            if value is not None:
                clauses.append(f"{col} = ?")
                params.append(value)
        if since is not None:
            clauses.append("detected_at >= ?")
            params.append(since)
        rows = self.ledger.query(
            f"SELECT {_ANOMALY_COLS} FROM anomalies WHERE {' AND '.join(clauses)} "
            "ORDER BY detected_at DESC, anomaly_id LIMIT ?",
            [*params, int(limit)],
        )
        for r in rows:
            r["details"] = json.loads(r["details"]) if r.get("details") else {}
        return rows

    # -- alerts ---------------------------------------------------------------------------------
    def attach(
        self, a: dict[str, Any], thresholds: dict[str, Decimal], now: datetime
    ) -> tuple[dict[str, Any], str | None]:
        """Group an anomaly into its owner's open alert of that kind, or open a new one.

        Returns the alert and the event to notify (``opened``, ``escalated``) or None (deduplicated).
        """
        key = group_key(a["kind"], a["owner"], a["subject"])
        impact = _money(a["impact"])
        rows = self.ledger.query(
            f"SELECT {_ALERT_COLS} FROM alerts WHERE group_key = ? AND status <> 'resolved' "
            "ORDER BY opened_at DESC LIMIT 1",
            [key],
        )
        if rows:
            alert = rows[0]
            self.ledger.execute(
                "UPDATE anomalies SET alert_id = ? WHERE anomaly_id = ?", [alert["alert_id"], a["anomaly_id"]]
            )
            agg = self.ledger.query(
                "SELECT count(*) AS n, sum(impact) AS total FROM anomalies WHERE alert_id = ?",
                [alert["alert_id"]],
            )[0]
            total, count = agg["total"] or Decimal(0), int(agg["n"])
            severity = max(severity_of(total, thresholds), a.get("severity") or "low", key=_rank)
            event = "escalated" if _rank(severity) > _rank(alert["severity"]) else None
            last = max(alert["last_seen_at"], a["last_seen_at"])
            alert.update(impact=total, anomalies=count, severity=severity, updated_at=now, last_seen_at=last)
            alert["title"] = title_of(alert)
            self.ledger.execute(
                "UPDATE alerts SET impact = ?, anomalies = ?, severity = ?, title = ?, updated_at = ?, "
                "last_seen_at = ? WHERE alert_id = ?",
                [total, count, severity, alert["title"], now, last, alert["alert_id"]],
            )
        else:
            alert_id = "al_" + hashlib.sha256(f"{key}|{a['anomaly_id']}".encode()).hexdigest()[:16]
            alert = {
                "alert_id": alert_id,
                "group_key": key,
                "kind": a["kind"],
                "owner": a["owner"],
                "severity": max(severity_of(impact, thresholds), a.get("severity") or "low", key=_rank),
                "status": "open",
                "message": a["explanation"],
                "impact": impact,
                "currency": self.currency,
                "anomalies": 1,
                "opened_at": now,
                "updated_at": now,
                "acked_at": None,
                "acked_by": None,
                "resolved_at": None,
                "resolved_by": None,
                "last_seen_at": a["last_seen_at"],
            }
            alert["title"] = title_of(alert)
            self.ledger.execute(
                f"INSERT INTO alerts ({_ALERT_COLS}) VALUES ({', '.join('?' * 18)})",
                [alert[c.strip()] for c in _ALERT_COLS.split(",")],
            )
            event = "opened"
        self.ledger.execute(
            "UPDATE anomalies SET alert_id = ? WHERE anomaly_id = ?", [alert["alert_id"], a["anomaly_id"]]
        )
        return alert, event

    def alerts(
        self, *, status: str | None = None, owner: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        clauses, params = ["1 = 1"], []
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if owner is not None:
            clauses.append("owner = ?")
            params.append(owner)
        return self.ledger.query(
            f"SELECT {_ALERT_COLS} FROM alerts WHERE {' AND '.join(clauses)} "
            "ORDER BY updated_at DESC, opened_at DESC, alert_id LIMIT ?",
            [*params, int(limit)],
        )

    def alert(self, alert_id: str) -> dict[str, Any]:
        rows = self.ledger.query(f"SELECT {_ALERT_COLS} FROM alerts WHERE alert_id = ?", [alert_id])
        if not rows:
            raise NotFound(f"no alert with id {alert_id!r}")
        return rows[0]

    def transition(self, alert_id: str, action: str, by: str | None, now: datetime) -> dict[str, Any]:
        """Acknowledge or resolve an alert (409 when its status does not allow it)."""
        if action not in ("ack", "resolve"):
            raise InputError("action must be ack or resolve")
        alert = self.alert(alert_id)
        target = check_transition(alert["status"], action)
        if target is None:
            raise Conflict(
                f"alert {alert_id} is {alert['status']}; it cannot be {action}ed".replace(
                    "acked", "acknowledged"
                )
            )
        column = "acked" if action == "ack" else "resolved"
        self.ledger.execute(
            f"UPDATE alerts SET status = ?, {column}_at = ?, {column}_by = ?, updated_at = ? WHERE alert_id = ?",
            [target, now, by, now, alert_id],
        )
        if action == "resolve":
            self.ledger.execute("UPDATE anomalies SET ongoing = false WHERE alert_id = ?", [alert_id])
        return self.alert(alert_id)

    def stale(self, now: datetime, hours: float) -> list[str]:
        """Unresolved alerts with nothing new (no ongoing anomaly, last seen long enough ago)."""
        rows = self.ledger.query(
            "SELECT a.alert_id FROM alerts a WHERE a.status <> 'resolved' AND a.last_seen_at < ? AND NOT EXISTS "
            "(SELECT 1 FROM anomalies n WHERE n.alert_id = a.alert_id AND n.ongoing)",
            [now - timedelta(hours=hours)],
        )
        return [r["alert_id"] for r in rows]

    def record_delivery(
        self,
        alert_id: str,
        channel: str,
        channel_type: str,
        event: str,
        at: datetime,
        ok: bool,
        code: int | None,
        error: str | None,
    ) -> None:
        delivery_id = hashlib.sha256(f"{alert_id}|{channel}|{event}|{at.isoformat()}".encode()).hexdigest()[
            :24
        ]
        self.ledger.execute(
            "INSERT OR IGNORE INTO alert_deliveries (delivery_id, alert_id, channel, channel_type, event, sent_at, ok, "
            "status_code, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [delivery_id, alert_id, channel, channel_type, event, at, ok, code, error],
        )

    def deliveries(self, alert_id: str) -> list[dict[str, Any]]:
        return self.ledger.query(
            "SELECT channel, channel_type, event, sent_at, ok, status_code, error FROM alert_deliveries "
            "WHERE alert_id = ? ORDER BY sent_at",
            [alert_id],
        )


def _rank(severity: str) -> int:
    return ("low", "medium", "high", "critical").index(severity)
