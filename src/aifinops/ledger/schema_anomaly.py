"""Ledger tables of the anomaly area: schema migration 4.

``anomalies`` (one row per anomaly, updated while it is under way), ``alerts`` (grouped anomalies with
their lifecycle: open, acknowledged, resolved), ``alert_deliveries`` (every attempt on every channel) and
``forecast_snapshots`` (each day's forecast, kept to measure accuracy against actuals).
"""

from __future__ import annotations

from aifinops.core.money import MONEY_SQL

__all__ = ["MIGRATIONS"]

#: ``(version, description, statements)`` entries; version 4 is this area's.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        4,
        "anomalies, alerts, alert deliveries and forecast snapshots",
        (
            f"""CREATE TABLE anomalies (
  anomaly_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, owner VARCHAR NOT NULL, subject VARCHAR NOT NULL,
  started_at TIMESTAMPTZ NOT NULL, detected_at TIMESTAMPTZ NOT NULL, last_seen_at TIMESTAMPTZ NOT NULL,
  expected DOUBLE, observed DOUBLE, unit VARCHAR, impact {MONEY_SQL}, currency VARCHAR NOT NULL,
  explanation VARCHAR, ongoing BOOLEAN NOT NULL, alert_id VARCHAR, details VARCHAR,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
            f"""CREATE TABLE alerts (
  alert_id VARCHAR PRIMARY KEY, group_key VARCHAR NOT NULL, kind VARCHAR NOT NULL, owner VARCHAR NOT NULL,
  severity VARCHAR NOT NULL, status VARCHAR NOT NULL, title VARCHAR NOT NULL, message VARCHAR,
  impact {MONEY_SQL}, currency VARCHAR NOT NULL, anomalies INTEGER NOT NULL DEFAULT 1,
  opened_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, acked_at TIMESTAMPTZ,
  acked_by VARCHAR, resolved_at TIMESTAMPTZ, resolved_by VARCHAR, last_seen_at TIMESTAMPTZ NOT NULL)""",
            """CREATE TABLE alert_deliveries (
  delivery_id VARCHAR PRIMARY KEY, alert_id VARCHAR NOT NULL, channel VARCHAR NOT NULL, channel_type VARCHAR,
  event VARCHAR NOT NULL, sent_at TIMESTAMPTZ NOT NULL, ok BOOLEAN NOT NULL, status_code INTEGER, error VARCHAR)""",
            f"""CREATE TABLE forecast_snapshots (
  snapshot_id VARCHAR PRIMARY KEY, made_on DATE NOT NULL, scope VARCHAR NOT NULL, day DATE NOT NULL,
  predicted {MONEY_SQL}, lower {MONEY_SQL}, upper {MONEY_SQL}, method VARCHAR,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
        ),
    ),
)
