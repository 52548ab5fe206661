"""Facade part: forecasts per owner, model and budget; month-end projections; budget run-out and alerts;
forecast accuracy against actuals; the scenario planner."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from aifinops.core.errors import InputError, NotFound
from aifinops.core.timeutil import utcnow
from aifinops.ledger import RollupQuery

__all__ = ["ForecastMixin"]

_HISTORY_DAYS = 120
_MAX_SERIES = 25


def _money(x: float) -> Decimal:
    return Decimal(str(round(float(x), 2)))


def _active(y: np.ndarray) -> np.ndarray:
    """The days from the first with spend on, without that first day when it is likely partial."""
    first = int(np.argmax(y != 0)) if np.any(y) else len(y)
    return y[first + 1 :] if len(y) - first > 15 else y[first:]


def _today(now: datetime | None) -> tuple[datetime, date]:
    now = (now or utcnow()).astimezone(UTC)
    return now, now.date()


class ForecastMixin:
    """Forecasts and scenario planning (issue 8)."""

    settings: Any
    ledger: Any
    catalog: Any

    def _daily(
        self, by: str | None, where: dict[str, Any], since: datetime, until: datetime
    ) -> dict[tuple, np.ndarray]:
        rows = self.ledger.rollup(
            RollupQuery(
                by=(by,) if by else (), grain="day", since=since, until=until, where=where, metrics=("cost",)
            )
        )
        days = (until - since).days
        out: dict[tuple, np.ndarray] = {}
        for r in rows:
            key = (r[by],) if by else ()
            i = (r["period"].astimezone(UTC).date() - since.date()).days
            if 0 <= i < days:
                out.setdefault(key, np.zeros(days))[i] += float(r["cost"] or 0)
        return out

    def forecast(
        self,
        *,
        by: str | None = None,
        budget: str | None = None,
        horizon: int = 30,
        level: float = 0.8,
        now: datetime | None = None,
        snapshot: bool = True,
    ) -> dict[str, Any]:
        """Daily forecasts with prediction intervals, the month-end projection and (for a budget) its run-out date.

        ``by`` splits by a dimension (``team``, ``model``, ...; the largest 25); ``budget`` forecasts one
        budget of ``aifinops.yaml`` over its scope and period. Tomorrow's forecast of each series is kept
        (``snapshot``) so that accuracy can be measured against actuals (:meth:`forecast_accuracy`).
        """
        from aifinops.forecast import forecast_daily, mape, project_total, runout_date

        if not 1 <= horizon <= 366:
            raise InputError("horizon must be between 1 and 366 days")
        if not 0.5 <= level < 1:
            raise InputError("level must be between 0.5 and 0.99")
        now, today = _today(now)
        start = datetime(today.year, today.month, today.day, tzinfo=UTC)
        since = start - timedelta(days=_HISTORY_DAYS)
        rule, where = None, {}
        if budget is not None:
            rule = self._budget(budget)
            from aifinops.gateway.spend import budget_filters

            where = budget_filters(rule)
        series = self._daily(by, where, since, start)
        keys = sorted(series, key=lambda k: -series[k][-30:].sum())[:_MAX_SERIES]
        month_end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        out = []
        for key in keys:
            y = series[key]
            y = _active(y)
            fc = forecast_daily(y, horizon=max(horizon, (month_end - start).days), level=level)
            closed = float(self._spent(where, by, key, start.replace(day=1), start))  # month up to today
            mtd = self._spent(where, by, key, start.replace(day=1), now)
            remaining = (month_end - start).days
            row: dict[str, Any] = {
                "key": dict(zip([by] if by else [], key, strict=True)),
                "method": fc.method,
                "history_days": len(y),
                "days": [
                    {
                        "day": d["day"],
                        "mean": _money(d["mean"]),
                        "lower": _money(d["lower"]),
                        "upper": _money(d["upper"]),
                    }
                    for d in fc.to_rows(today)[:horizon]
                ],
                "month_to_date": mtd,
                "month_end": {k: _money(v) for k, v in project_total(closed, fc, remaining).items()},
            }
            if len(y) >= 35:  # backtest: forecast the last 7 known days from the history before them
                back = forecast_daily(y[:-7], horizon=7, level=level)
                row["backtest_mape"] = mape(y[-7:], back.mean)
            if rule is not None:
                p_start, p_end = self._period(rule, now)
                spent = float(self._spent(where, None, (), p_start, now))
                closed_b = float(self._spent(where, None, (), p_start, max(p_start, start)))
                left = max(0, (p_end - start).days)
                fc_b = fc if left <= len(fc.mean) else forecast_daily(y, horizon=left, level=level)
                row["budget"] = {
                    "name": rule.name,
                    "amount": rule.amount,
                    "period_start": p_start,
                    "period_end": p_end,
                    "spent": _money(spent),
                    "projected": {k: _money(v) for k, v in project_total(closed_b, fc_b, left).items()},
                    **runout_date(closed_b, float(rule.amount), fc_b, today, left),
                }
            if snapshot:
                self._snapshot(by, key, budget, today, fc)
            out.append(row)
        return {
            "generated_at": now,
            "currency": self.settings.currency,
            "by": by,
            "budget": budget,
            "level": level,
            "horizon": horizon,
            "series": out,
        }

    def _budget(self, name: str) -> Any:
        for rule in self.settings.budgets:
            if rule.name == name:
                return rule
        names = ", ".join(r.name for r in self.settings.budgets) or "none configured"
        raise NotFound(f"no budget named {name!r} (budgets: {names})")

    def _period(self, rule: Any, now: datetime) -> tuple[datetime, datetime]:
        from aifinops.budgets.periods import period_window

        return period_window(rule.period, now, rule.start, rule.end)

    def _spent(
        self, where: dict[str, Any], by: str | None, key: tuple, since: datetime, until: datetime
    ) -> Decimal:
        filters = dict(where)
        if by:
            filters[by] = key[0]
        rows = self.ledger.rollup(RollupQuery(since=since, until=until, where=filters, metrics=("cost",)))
        return (rows[0]["cost"] if rows else None) or Decimal(0)

    def _snapshot(self, by: str | None, key: tuple, budget: str | None, today: date, fc: Any) -> None:
        import hashlib

        scope = f"budget:{budget}" if budget else (f"{by}={key[0]}" if by else "total")
        sid = hashlib.sha256(f"{scope}|{today}".encode()).hexdigest()[:24]
        self.ledger.execute(
            "INSERT OR IGNORE INTO forecast_snapshots (snapshot_id, made_on, scope, day, predicted, lower, upper, method) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                sid,
                today,
                scope,
                today,
                _money(fc.mean[0]),
                _money(fc.lower[0]),
                _money(fc.upper[0]),
                fc.method,
            ],
        )

    def forecast_accuracy(self, *, now: datetime | None = None) -> list[dict[str, Any]]:
        """MAPE of the stored day-ahead forecasts against the actual spend of each finished day, per scope."""
        from aifinops.forecast import mape

        _, today = _today(now)
        snaps = self.ledger.query(
            "SELECT scope, day, CAST(predicted AS DOUBLE) AS predicted FROM forecast_snapshots WHERE day < ? ORDER BY scope, day",
            [today],
        )
        out: dict[str, dict[str, list[float]]] = {}
        for s in snaps:
            scope = s["scope"]
            where: dict[str, Any] = {}
            if scope.startswith("budget:"):
                from aifinops.gateway.spend import budget_filters

                try:
                    where = budget_filters(self._budget(scope[7:]))
                except NotFound:
                    continue
            elif "=" in scope:
                dim, value = scope.split("=", 1)
                where = {dim: value}
            day0 = datetime(s["day"].year, s["day"].month, s["day"].day, tzinfo=UTC)
            actual = float(self._spent(where, None, (), day0, day0 + timedelta(days=1)))
            acc = out.setdefault(scope, {"a": [], "p": []})
            acc["a"].append(actual)
            acc["p"].append(s["predicted"])
        return [
            {"scope": k, "days": len(v["a"]), "mape": mape(v["a"], v["p"])} for k, v in sorted(out.items())
        ]

    def budget_anomalies(self, *, now: datetime | None = None) -> list[dict[str, Any]]:
        """Budget threshold crossings and forecast overruns, shaped as anomalies so they share the alert path."""
        from aifinops.anomaly import anomaly_id
        from aifinops.forecast import forecast_daily, runout_date
        from aifinops.gateway.spend import budget_filters

        if not self.settings.alerts.budget_alerts:
            return []
        now, today = _today(now)
        out: list[dict[str, Any]] = []
        for rule in self.settings.budgets:
            p_start, p_end = self._period(rule, now)
            where = budget_filters(rule)
            spent = self._spent(where, None, (), p_start, now)
            owner = str(rule.scope.get("team") or rule.name)
            crossed = [t for t in rule.alert_at if spent >= rule.amount * Decimal(str(t))]
            if crossed:
                t = max(crossed)
                out.append(
                    self._budget_row(
                        anomaly_id("budget_threshold", owner, f"{rule.name}@{t}", p_start),
                        "budget_threshold",
                        owner,
                        f"{rule.name}@{t}",
                        p_start,
                        now,
                        float(rule.amount) * t,
                        float(spent),
                        max(Decimal(0), spent - rule.amount),
                        f"budget {rule.name} has spent {spent:,.2f} of {rule.amount:,.2f} ({float(spent / rule.amount):.0%}) "
                        f"this {rule.period}, past its {t:.0%} alert threshold",
                        "high" if t >= 1 else "medium",
                    )
                )
            start = datetime(today.year, today.month, today.day, tzinfo=UTC)
            left = (p_end - start).days
            if left <= 0 or spent >= rule.amount:
                continue
            closed = self._spent(where, None, (), p_start, max(p_start, start))
            y = next(iter(self._daily(None, where, start - timedelta(days=90), start).values()), np.zeros(0))
            if not np.any(y):
                continue
            y = _active(y)
            fc = forecast_daily(y, horizon=left)
            ro = runout_date(float(closed), float(rule.amount), fc, today, left)
            prob = ro["overrun_probability"]
            if prob >= self.settings.alerts.forecast_overrun_probability:
                projected = float(closed) + float(fc.mean[:left].sum())
                out.append(
                    self._budget_row(
                        anomaly_id("forecast_overrun", owner, rule.name, p_start),
                        "forecast_overrun",
                        owner,
                        rule.name,
                        p_start,
                        now,
                        float(rule.amount),
                        projected,
                        _money(max(0.0, projected - float(rule.amount))),
                        f"budget {rule.name} is forecast to reach {projected:,.2f} against {rule.amount:,.2f} by "
                        f"{p_end:%Y-%m-%d} (overrun probability {prob:.0%}); it runs out around {ro['runs_out']}",
                    )
                )
        return out

    def _budget_row(
        self,
        aid: str,
        kind: str,
        owner: str,
        subject: str,
        start: datetime,
        now: datetime,
        expected: float,
        observed: float,
        impact: Decimal,
        text: str,
        severity: str = "medium",
    ) -> dict[str, Any]:
        return {
            "anomaly_id": aid,
            "kind": kind,
            "owner": owner,
            "subject": subject,
            "started_at": start,
            "detected_at": now,
            "last_seen_at": now,
            "expected": expected,
            "observed": observed,
            "unit": "cost",
            "impact": float(impact),
            "explanation": text,
            "ongoing": True,
            "details": {},
            # a budget crossing matters whatever its overspend: at least medium, high once the budget is spent
            "severity": severity,
        }

    def forecast_scenario(
        self,
        *,
        model: str,
        requests_per_day: float,
        input_tokens: float,
        output_tokens: float,
        provider: str | None = None,
        cached_share: float = 0.0,
        ramp_days: float = 30.0,
        days: int = 30,
        percentile: float = 80.0,
        uncertainty: float = 0.3,
    ) -> dict[str, Any]:
        """What a proposed workload costs at a percentile of its adoption curve, priced from the catalog."""
        from aifinops.forecast import Workload, plan_scenario

        prices = self._token_prices(model, provider)
        try:
            workload = Workload(
                requests_per_day=requests_per_day,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                input_price=prices["input"],
                output_price=prices["output"],
                cached_share=cached_share,
                cached_price=prices["cached"],
                ramp_days=ramp_days,
                days=days,
                uncertainty=uncertainty,
            )
            result = plan_scenario(workload, percentile=percentile)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        return {"model": model, "provider": prices["provider"], "currency": self.settings.currency, **result}

    def _token_prices(self, model: str, provider: str | None) -> dict[str, Any]:
        """Price per token (input, cached input, output) of a model: a probe record priced by the catalog."""
        from aifinops.core.records import UsageRecord
        from aifinops.pricing import price_record, suggest

        now = utcnow()
        out: dict[str, Any] = {}
        for name, field in (
            ("input", "input_tokens"),
            ("cached", "cached_input_tokens"),
            ("output", "output_tokens"),
        ):
            rec = UsageRecord(
                record_id=f"probe-{name}",
                source="scenario",
                charge_period_start=now,
                charge_period_end=now + timedelta(seconds=1),
                provider=provider,
                model=model,
                requests=1,
                **{field: 1_000_000},
            )
            price_record(rec, self.catalog)
            if rec.cost_status == "unpriced" or rec.list_cost is None:
                hints = suggest(model, self.catalog)
                raise InputError(
                    f"no price for model {model!r}" + (f"; did you mean {', '.join(hints)}?" if hints else "")
                )
            out[name] = (rec.effective_cost if rec.effective_cost is not None else rec.list_cost) / Decimal(
                1_000_000
            )
            out["provider"] = rec.provider
        return out
