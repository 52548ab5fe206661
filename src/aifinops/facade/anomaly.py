"""Facade part: Anomaly detection, forecasts and alerts (issue 8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aifinops.core.errors import InputError
from aifinops.core.timeutil import utcnow
from aifinops.facade._anomaly_forecast import ForecastMixin

__all__ = ["AnomalyMixin"]

_HARNESS_SEED = 20260101  # the KPI's harness run: small, fixed, cached per process
_harness_cache: dict[str, Any] = {}


class AnomalyMixin(ForecastMixin):
    """Anomaly detection, forecasts and alerts (issue 8)."""

    settings: Any
    ledger: Any

    def _alert_store(self) -> Any:
        from aifinops.alerts import AlertStore

        return AlertStore(self.ledger, self.settings.currency)

    def _detector_config(self) -> Any:
        from aifinops.anomaly import DetectorConfig

        s = self.settings.anomaly
        return DetectorConfig(
            sensitivity=s.sensitivity,
            min_history_days=s.min_history_days,
            min_impact=float(s.min_impact),
            materiality=s.materiality,
        )

    def find_anomalies(self, *, now: datetime | None = None, days: int | None = None) -> list[dict[str, Any]]:
        """Run every detector over the ledger's recent history (pure: nothing is stored)."""
        from aifinops.anomaly import (
            detect_idle_endpoints,
            detect_runaway_training,
            detect_runaway_workflows,
            detect_series,
        )
        from aifinops.facade import _anomaly_data as data

        s = self.settings.anomaly
        step = timedelta(seconds=s.resolution_seconds)
        now = (now or utcnow()).astimezone(UTC)
        until = datetime.fromtimestamp(
            int(now.timestamp()) // int(step.total_seconds()) * int(step.total_seconds()), UTC
        )
        since = until - timedelta(days=days or s.lookback_days)
        cfg = self._detector_config()
        col, owner_by = self.ledger.cost_column, s.owner_by
        found = []
        for series in data.read_series(self.ledger, col, owner_by, since, until, step):
            for a in detect_series(series, cfg):
                if a.owner.endswith(" (hourly)"):
                    a.owner = a.owner.removesuffix(" (hourly)")
                    a.subject = f"{a.owner} (hourly charges)"
                found.append(a)
        for a in found:
            if a.kind in ("spend_spike", "spend_shift"):
                self._explain_drivers(a, since)
        found += detect_runaway_workflows(
            data.read_workflows(self.ledger, col, owner_by, since, until), cfg, step=step
        )
        found += detect_idle_endpoints(
            data.read_endpoint_hours(self.ledger, col, owner_by, since, until), cfg
        )
        found += detect_runaway_training(
            data.read_training_runs(self.ledger, col, owner_by, since, until), cfg
        )
        rows = [a.to_dict() for a in found]
        rows.sort(key=lambda r: r["detected_at"])
        return rows

    def _explain_drivers(self, a: Any, since: datetime) -> None:
        """Name the features and models whose spend rose most in a spend anomaly (against the same hours of
        earlier weeks): ``details["drivers"]`` and a clause of the explanation."""
        from aifinops.anomaly.drivers import describe_drivers, top_drivers
        from aifinops.facade import _anomaly_data as data

        s = self.settings.anomaly
        current, usual = data.read_breakdown(
            self.ledger, self.ledger.cost_column, s.owner_by, a.owner, a.started_at, a.last_seen_at, since
        )
        drivers = {dim: top_drivers(current[dim], usual[dim]) for dim in ("feature", "model")}
        a.details["drivers"] = drivers
        words = [describe_drivers(dim, drivers[dim]) for dim in ("feature", "model") if drivers[dim]]
        if words:
            a.explanation += "; " + "; ".join(words)

    def detect_anomalies(self, *, now: datetime | None = None, notify: bool = True) -> dict[str, Any]:
        """One detector run: find anomalies (and budget alerts), store them, group them into alerts and
        deliver the notifications. Anomalies that ended long ago are stored without notifying anyone."""
        from aifinops.alerts import AlertService

        now = (now or utcnow()).astimezone(UTC)
        found = self.find_anomalies(now=now) + self.budget_anomalies(now=now)
        hours = self.settings.alerts.auto_resolve_hours
        fresh = [a for a in found if a["ongoing"] or a["last_seen_at"] >= now - timedelta(hours=hours)]
        stale = [a for a in found if a not in fresh]
        service = AlertService(self._alert_store(), self.settings.alerts)
        quiet = AlertService(self._alert_store(), self.settings.alerts.model_copy(update={"routes": []}))
        summary = quiet.process(stale, now)
        live = (service if notify else quiet).process(fresh, now)
        return {
            "ran_at": now,
            "found": len(found),
            "anomalies_new": summary["anomalies_new"] + live["anomalies_new"],
            "anomalies_updated": summary["anomalies_updated"] + live["anomalies_updated"],
            "notifications": live["notifications"],
        }

    def snapshot_forecasts(self, *, now: datetime | None = None) -> int:
        """Store today's day-ahead forecasts (the total and one per owner) unless already stored today, so
        that ``forecast_accuracy`` tracks MAPE against actuals without anyone asking; returns the number of
        forecast calls made (0 when today's snapshot exists). The server's runner calls it every run."""
        now = (now or utcnow()).astimezone(UTC)
        rows = self.ledger.query(
            "SELECT count(*) AS n FROM forecast_snapshots WHERE made_on = ? AND scope = 'total'", [now.date()]
        )
        if rows and rows[0]["n"]:
            return 0
        self.forecast(horizon=7, now=now, snapshot=True)
        self.forecast(by=self.settings.anomaly.owner_by, horizon=7, now=now, snapshot=True)
        return 2

    def list_anomalies(
        self,
        *,
        since: datetime | None = None,
        owner: str | None = None,
        kind: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Stored anomalies, newest detection first."""
        from aifinops.anomaly import KINDS

        if kind is not None and kind not in (*KINDS, "budget_threshold", "forecast_overrun"):
            raise InputError(
                f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}, budget_threshold, forecast_overrun"
            )
        return self._alert_store().anomalies(since=since, owner=owner, kind=kind, limit=limit)

    def list_alerts(
        self, *, status: str | None = None, owner: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Alerts (grouped anomalies), most recently updated first."""
        if status is not None and status not in ("open", "acknowledged", "resolved"):
            raise InputError("status must be open, acknowledged or resolved")
        return self._alert_store().alerts(status=status, owner=owner, limit=limit)

    def _alert_for(self, ident: str) -> str:
        """An alert id, or an anomaly id resolved to its alert."""
        if ident.startswith("an_"):
            rows = self.ledger.query("SELECT alert_id FROM anomalies WHERE anomaly_id = ?", [ident])
            if rows and rows[0]["alert_id"]:
                return rows[0]["alert_id"]
        return ident

    def ack_anomaly(self, ident: str, *, by: str | None = None) -> dict[str, Any]:
        """Acknowledge the alert of an anomaly (or an alert id); notifications for it stop escalating."""
        return self._alert_store().transition(self._alert_for(ident), "ack", by, utcnow())

    def resolve_anomaly(self, ident: str, *, by: str | None = None) -> dict[str, Any]:
        """Resolve the alert of an anomaly (or an alert id) and notify its channels."""
        from aifinops.alerts import AlertService

        store = self._alert_store()
        alert = store.transition(self._alert_for(ident), "resolve", by, utcnow())
        AlertService(store, self.settings.alerts).notify("resolved", alert, utcnow())
        return alert

    def alert_deliveries(self, alert_id: str) -> list[dict[str, Any]]:
        """Every delivery attempt of an alert."""
        self._alert_store().alert(alert_id)
        return self._alert_store().deliveries(alert_id)

    def evaluate_anomalies(self, *, seed: int = 7, owners: int = 28, weeks: int = 5) -> dict[str, Any]:
        """The evaluation harness on a generated world (see :mod:`aifinops.anomaly.evaluate`)."""
        from aifinops.anomaly.evaluate import evaluate

        if not 7 <= owners <= 500:
            raise InputError("owners must be between 7 and 500")
        if not 3 <= weeks <= 26:
            raise InputError("weeks must be between 3 and 26")
        return evaluate(seed, owners=owners, weeks=weeks, cfg=self._detector_config())

    def anomaly_kpis(self, *, since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
        """``detection_rate`` (0-1 float or None), ``mttd_minutes`` (float or None) and the counts behind them.

        Live data carries no labels, so the detection rate comes from the evaluation harness (a small fixed
        run, cached per process); ``mttd_minutes`` is measured on the anomalies detected in the period
        (detection time minus start time) when there are any, else taken from the harness.
        """
        store = self._alert_store()
        clauses, params = ["kind NOT IN ('budget_threshold', 'forecast_overrun')"], []
        if since is not None:
            clauses.append("detected_at >= ?")
            params.append(since)
        if until is not None:
            clauses.append("detected_at < ?")
            params.append(until)
        row = store.ledger.query(
            "SELECT count(*) AS n, avg(epoch(detected_at) - epoch(started_at)) / 60 AS mttd, "
            f"CAST(sum(impact) AS DECIMAL(38, 2)) AS impact FROM anomalies WHERE {' AND '.join(clauses)}",
            params,
        )[0]
        if "result" not in _harness_cache:
            from aifinops.anomaly.evaluate import evaluate

            _harness_cache["result"] = evaluate(
                _HARNESS_SEED, owners=14, weeks=4, cfg=self._detector_config(), forecast=False
            )
        h = _harness_cache["result"]
        step_min = self.settings.anomaly.resolution_seconds / 60
        harness_mttd = h["mttd_intervals"] * 5.0 if h["mttd_intervals"] is not None else None
        alerts = store.ledger.query("SELECT status, count(*) AS n FROM alerts GROUP BY 1")
        return {
            "detection_rate": h["detection_rate"],
            "mttd_minutes": float(row["mttd"]) if row["n"] else harness_mttd,
            "mttd_source": "live" if row["n"] else "harness",
            "anomalies": int(row["n"]),
            "impact": row["impact"] or Decimal(0),
            "alerts": {r["status"]: int(r["n"]) for r in alerts},
            "harness": {
                "seed": h["seed"],
                "scenarios": h["scenarios"],
                "detected": h["detected"],
                "false_alerts_per_owner_week": h["false_alerts_per_owner_week"],
                "spike_mttd_intervals": h["spike_mttd_intervals"],
            },
            "resolution_minutes": step_min,
        }
