"""What the MCP tools do, on a facade (already scoped to the caller): plain functions, JSON-able results.

Areas that are still being built may lack a facade method (or raise ``NotImplementedError``): such a tool
raises :class:`NotAvailable`, which the server turns into a clear tool error.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from aifinops.core.jsonable import jsonable
from aifinops.core.timeutil import parse_time, utcnow

__all__ = [
    "NotAvailable",
    "spend",
    "explain",
    "anomalies",
    "budgets",
    "recommendations",
    "kpis",
    "period",
]

_ZERO = Decimal(0)
_SHOWN = ("cost", "requests", "input_tokens", "output_tokens", "gpu_hours", "records", "unpriced_records")


class NotAvailable(Exception):
    """This aifinops does not offer the feature yet."""


def period(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """Parse ``since``/``until`` (``30d``, ``2026-01-01`` or ISO times)."""
    start = parse_time(since, name="since") if since else None
    end = parse_time(until, name="until") if until else None
    return start, end


def _dims(by: str | Sequence[str]) -> list[str]:
    items = by.split(",") if isinstance(by, str) else list(by)
    return [d.strip() for d in items if d and d.strip()]


def spend(
    app: Any,
    *,
    by: str | Sequence[str] = "team",
    since: str | None = "30d",
    until: str | None = None,
    where: dict[str, str] | None = None,
    grain: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Spend grouped by any dimensions (record columns or tag keys), optionally per time grain."""
    start, end = period(since, until)
    dims = _dims(by)
    rows = app.report_costs(
        by=dims, since=start, until=end, where=dict(where or {}), grain=grain, limit=limit
    )
    keep = [*dims, *(["period"] if grain else []), *_SHOWN]
    total = sum((r["cost"] or _ZERO for r in rows), _ZERO)
    return jsonable(
        {
            "by": dims,
            "since": start,
            "until": end,
            "currency": app.settings.currency,
            "total_cost_of_rows": total,
            "rows": [{k: r.get(k) for k in keep} for r in rows],
            "truncated": len(rows) >= limit,
        }
    )


def _grouped(app: Any, dim: str, start: datetime, end: datetime, where: dict[str, Any]) -> dict[Any, Decimal]:
    rows = app.report_costs(by=[dim], since=start, until=end, where=where, limit=10_000)
    return {r[dim]: r["cost"] or _ZERO for r in rows}


def explain(
    app: Any,
    *,
    since: str | None = "30d",
    until: str | None = None,
    by: str | Sequence[str] = "team,model,feature",
    where: dict[str, str] | None = None,
    top: int = 5,
) -> dict[str, Any]:
    """The top cost drivers of a period: biggest groups per dimension, and biggest movers against the
    previous period of the same length."""
    start, end = period(since or "30d", until)
    end = end or utcnow()
    if start is None or start >= end:
        raise ValueError("since must be before until")
    prev_start = start - (end - start)
    filters = dict(where or {})
    total = _total(app, start, end, filters)
    previous = _total(app, prev_start, start, filters)
    drivers: dict[str, Any] = {}
    for dim in _dims(by):
        now = _grouped(app, dim, start, end, filters)
        before = _grouped(app, dim, prev_start, start, filters)
        biggest = sorted(now.items(), key=lambda kv: kv[1], reverse=True)[:top]
        moves = []
        for key in set(now) | set(before):
            delta = now.get(key, _ZERO) - before.get(key, _ZERO)
            if delta:
                moves.append((key, now.get(key, _ZERO), before.get(key, _ZERO), delta))
        moves.sort(key=lambda m: abs(m[3]), reverse=True)
        drivers[dim] = {
            "biggest": [
                {dim: key, "cost": cost, "share": float(cost / total) if total else None}
                for key, cost in biggest
            ],
            "movers": [
                {
                    dim: key,
                    "cost": cost,
                    "previous_cost": prev,
                    "change": delta,
                    "change_pct": float(delta / prev * 100) if prev else None,
                }
                for key, cost, prev, delta in moves[:top]
            ],
        }
    return jsonable(
        {
            "period": {"since": start, "until": end},
            "previous_period": {"since": prev_start, "until": start},
            "currency": app.settings.currency,
            "total_cost": total,
            "previous_total_cost": previous,
            "change": total - previous,
            "change_pct": float((total - previous) / previous * 100) if previous else None,
            "drivers": drivers,
        }
    )


def _total(app: Any, start: datetime, end: datetime, where: dict[str, Any]) -> Decimal:
    rows = app.report_costs(by=[], since=start, until=end, where=where)
    return (rows[0]["cost"] if rows else None) or _ZERO


def _call(app: Any, methods: Sequence[str], what: str, /, **kwargs: Any) -> Any:
    """Call the first facade method of ``methods`` that exists, with the arguments it accepts."""
    for name in methods:
        method = getattr(app, name, None)
        if method is None:
            continue
        try:
            accepted = inspect.signature(method).parameters
            if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
                kwargs = {k: v for k, v in kwargs.items() if k in accepted}
        except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
            pass
        try:
            return method(**{k: v for k, v in kwargs.items() if v is not None})
        except NotImplementedError:
            break
    raise NotAvailable(f"{what} are not available yet in this aifinops version")


def anomalies(app: Any, *, since: str | None = "30d", kind: str | None = None, limit: int = 50) -> Any:
    """Detected cost anomalies (stored by the detector runs), newest first."""
    start, _ = period(since, None)
    rows = _call(
        app, ("list_anomalies", "anomalies"), "anomalies", since=start, kind=kind or None, limit=limit
    )
    return jsonable(rows)


def recommendations(app: Any, *, since: str | None = "30d", until: str | None = None) -> Any:
    """Savings recommendations, in money."""
    start, end = period(since, until)
    return jsonable(_call(app, ("recommendations", "recommend"), "recommendations", since=start, until=end))


def kpis(
    app: Any,
    *,
    by: str | Sequence[str] = "",
    since: str | None = "30d",
    until: str | None = None,
    names: Sequence[str] | None = None,
) -> Any:
    """Unit-economics KPIs per group."""
    start, end = period(since, until)
    return jsonable(_call(app, ("kpis",), "KPIs", by=_dims(by), since=start, until=end, names=names or None))


def budgets(app: Any) -> list[dict[str, Any]]:
    """Every budget the caller may see: period, amount, spend to date (by ``per`` value), share used."""
    from aifinops.budgets.policy import compile_policy
    from aifinops.gateway.spend import budget_filters

    settings = app.settings
    policy = compile_policy(settings.budgets, [], [], [], settings.guardrails)
    now = utcnow()
    out = []
    for budget in policy.budgets:
        rule = budget.rule
        start, end = budget.window(now)
        by = [rule.per.replace("key", "api_key")] if rule.per else []
        rows = app.report_costs(by=by, where=budget_filters(rule), since=start, until=end)
        status = []
        for row in rows:
            spent = row["cost"] or _ZERO
            status.append(
                {
                    "per_value": row[by[0]] if by else None,
                    "spent": spent,
                    "remaining": rule.amount - spent,
                    "used": float(spent / rule.amount) if rule.amount else None,
                }
            )
        out.append(
            {
                "name": rule.name,
                "scope": rule.scope,
                "per": rule.per,
                "period": rule.period,
                "amount": rule.amount,
                "hard": rule.hard,
                "period_start": start,
                "period_end": end,
                "status": status,
            }
        )
    return jsonable(out)
