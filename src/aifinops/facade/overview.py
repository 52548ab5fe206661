"""Dashboard summaries: the overview (one rollup) and the models-and-providers table.

Both read the ledger through one :class:`RollupQuery` each, so they honour the authoritative-source rule and
the configured cost column like every other report. Functions of the :class:`~aifinops.app.App` facade.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aifinops.core.timeutil import utcnow
from aifinops.ledger import RollupQuery

if TYPE_CHECKING:
    from aifinops.app import App

__all__ = ["overview", "model_usage", "TRAINING", "INFERENCE"]

#: Categories counted as training and as inference in the overview's split.
TRAINING = frozenset({"training"})
INFERENCE = frozenset({"hosted_inference", "self_hosted_inference", "embedding"})
_ZERO = Decimal(0)
_MICRO = Decimal("0.000001")


def _day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _month_start(moment: datetime) -> datetime:
    return _day(moment).replace(day=1)


def _next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)


def overview(app: App, *, now: datetime | None = None, days: int = 30, movers: int = 5) -> dict[str, Any]:
    """Spend today, month to date, a run-rate forecast, by day and category, training vs inference, top
    teams and models, and the top movers (last 7 complete days against the 7 before), from ONE rollup."""
    now = (now or utcnow()).astimezone(UTC)
    today = _day(now)
    month = _month_start(now)
    first_day = min(month, today - timedelta(days=max(days, 15) - 1))
    rows = app.ledger.rollup(
        RollupQuery(
            by=("category", "team", "model"),
            grain="day",
            since=first_day,
            until=today + timedelta(days=1),
            metrics=("requests", "unpriced_records"),
        )
    )
    window_start = today - timedelta(days=days - 1)
    recent = (today - timedelta(days=7), today)  # last 7 complete days
    before = (today - timedelta(days=14), today - timedelta(days=7))
    daily: dict[datetime, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: _ZERO))
    groups: dict[str, dict[str, Decimal]] = {
        d: defaultdict(lambda: _ZERO) for d in ("category", "team", "model")
    }
    moves: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [_ZERO, _ZERO])
    total = mtd = today_cost = yesterday = _ZERO
    requests = unpriced = 0
    for row in rows:
        day, cost = row["period"].astimezone(UTC), row["cost"] or _ZERO
        if day >= month:
            mtd += cost
        if day == today:
            today_cost += cost
        elif day == today - timedelta(days=1):
            yesterday += cost
        for dim in ("team", "model"):
            if recent[0] <= day < recent[1]:
                moves[(dim, row[dim])][0] += cost
            elif before[0] <= day < before[1]:
                moves[(dim, row[dim])][1] += cost
        if day < window_start:
            continue
        total += cost
        requests += row["requests"] or 0
        unpriced += row["unpriced_records"] or 0
        daily[day][row["category"] or "other"] += cost
        for dim in groups:
            groups[dim][row[dim]] += cost
    last7 = sum((v for (dim, _), (v, _p) in moves.items() if dim == "team"), _ZERO)
    run_rate = (last7 / 7).quantize(_MICRO)
    month_end = _next_month(month)
    days_left = (month_end - today).days  # today included: it is not over yet
    split = {"training": _ZERO, "inference": _ZERO, "other": _ZERO}
    for category, cost in groups["category"].items():
        kind = "training" if category in TRAINING else "inference" if category in INFERENCE else "other"
        split[kind] += cost
    return {
        "currency": app.settings.currency,
        "as_of": now,
        "window": {"since": window_start, "until": today + timedelta(days=1), "days": days},
        "today": {"cost": today_cost, "start": today},
        "yesterday": {"cost": yesterday, "start": today - timedelta(days=1)},
        "month_to_date": {"cost": mtd, "start": month},
        "forecast": {
            "month_end_cost": mtd - today_cost + run_rate * days_left,
            "daily_run_rate": run_rate,
            "method": "run rate: this month's complete days, plus the average of the last 7 complete days "
            "for each day left (today included)",
            "month_end": month_end,
        },
        "total": {"cost": total, "requests": requests, "unpriced_records": unpriced},
        "daily": [
            {"day": day, "cost": sum(cats.values(), _ZERO), "by_category": dict(cats)}
            for day, cats in sorted(daily.items())
        ],
        "by_category": _ranked(groups["category"], "category", total),
        "training_vs_inference": split,
        "top_teams": _ranked(groups["team"], "team", total)[:10],
        "top_models": _ranked(groups["model"], "model", total)[:10],
        "top_movers": _movers(moves, movers),
        "movers_window": {"recent": list(recent), "previous": list(before)},
    }


def _ranked(costs: dict[Any, Decimal], dim: str, total: Decimal) -> list[dict[str, Any]]:
    rows = sorted(costs.items(), key=lambda kv: (-kv[1], str(kv[0])))
    return [{dim: key, "cost": cost, "share": float(cost / total) if total else None} for key, cost in rows]


def _movers(moves: dict[tuple[str, str], list[Decimal]], count: int) -> list[dict[str, Any]]:
    out = []
    for (dim, value), (recent, previous) in moves.items():
        change = recent - previous
        if change == 0:
            continue
        out.append(
            {
                "dimension": dim,
                "value": value,
                "cost_last_7d": recent,
                "cost_previous_7d": previous,
                "change": change,
                "change_ratio": float(change / previous) if previous else None,
            }
        )
    out.sort(key=lambda m: (-abs(m["change"]), m["dimension"], str(m["value"])))
    return out[:count]


def model_usage(
    app: App,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    where: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Per provider and model: cost, requests, tokens, cost per 1,000 requests and the cache hit rate
    (cached input tokens over all input tokens: plain, cached and cache writes)."""
    rows = app.report_costs(by=["provider", "model"], since=since, until=until, where=where)
    out = []
    for row in rows:
        requests = row["requests"] or 0
        cost = row["cost"]
        prompt = (
            (row["input_tokens"] or 0) + (row["cached_input_tokens"] or 0) + (row["cache_write_tokens"] or 0)
        )
        out.append(
            {
                "provider": row["provider"],
                "model": row["model"],
                "cost": cost,
                "requests": requests,
                "input_tokens": row["input_tokens"],
                "cached_input_tokens": row["cached_input_tokens"],
                "cache_write_tokens": row["cache_write_tokens"],
                "output_tokens": row["output_tokens"],
                "reasoning_tokens": row["reasoning_tokens"],
                "gpu_hours": row["gpu_hours"],
                "cost_per_1k_requests": (cost * 1000 / requests) if cost is not None and requests else None,
                "cache_hit_rate": (row["cached_input_tokens"] or 0) / prompt if prompt else None,
                "unpriced_records": row["unpriced_records"],
            }
        )
    return out
