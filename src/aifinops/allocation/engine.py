"""Allocate aggregated spend rows: owners, shared pools, idle capacity (pure; rows in, rows out).

Order of work, per allocation period (a day, or an hour):

1. **Owners**: aliases, spelling normalization, then owner rules (:meth:`Plan.apply_owners`).
2. **Shared pools**, in config order. A pool's rows (``match``) are split among the owners (``among``) of
   its consumers' rows by their driver in the same period. A row is claimed by one pool at most; rows a
   pool hands out can be consumers of a later pool (a cascade), except idle rows.
3. **Idle**: with a capacity (``capacity`` per hour, or for ``gpu_seconds`` the pool's own provisioned
   GPU-seconds), the unused share ``(capacity - used) / capacity`` of the pool is idle and goes to the
   consumers (``proportional``), the pool's ``owner``, or the ``idle_bucket``. A period with no consumer is
   all idle: it goes to the owner (or the bucket), never vanishes; with neither it is unallocated.
4. Rows with no value on the owner dimension are labelled ``unallocated``.

Every additive metric (money, tokens, requests, GPU-hours, record counts) is split with the same weights by
:func:`split`, so each sums exactly to what it was. Rows carry an ``allocation`` label: ``direct``,
``shared:POOL``, ``idle:POOL`` or the ``unallocated`` label.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from aifinops.allocation.rules import Plan, Pool
from aifinops.allocation.split import as_fraction, integer_weights, split
from aifinops.core.money import MONEY_SCALE

__all__ = ["allocate", "aggregate", "ADDITIVE", "bucket"]

#: Additive metrics of a rollup row and the scale each is split at.
ADDITIVE: dict[str, int] = {
    "cost": MONEY_SCALE,
    "list_cost": MONEY_SCALE,
    "effective_cost": MONEY_SCALE,
    "billed_cost": MONEY_SCALE,
    "input_tokens": 0,
    "cached_input_tokens": 0,
    "cache_write_tokens": 0,
    "output_tokens": 0,
    "reasoning_tokens": 0,
    "requests": 0,
    "gpu_hours": 6,
    "records": 0,
    "unpriced_records": 0,
}
_HOUR_SECONDS = Decimal(3600)
_TOKENS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens")


def driver(row: dict[str, Any], split_by: str) -> Fraction:
    """A row's driver value (negative and missing count as zero)."""
    if split_by == "tokens":
        return as_fraction(sum(int(row.get(m) or 0) for m in _TOKENS))
    if split_by == "requests":
        return as_fraction(row.get("requests"))
    if split_by == "gpu_seconds":
        return as_fraction(Decimal(row.get("gpu_hours") or 0) * _HOUR_SECONDS)
    if split_by == "cost":
        return as_fraction(row.get("cost"))
    raise ValueError(f"unknown driver {split_by!r}")


def _hours(start: datetime, length: timedelta, window: tuple[datetime | None, datetime | None]) -> Fraction:
    lo, hi = window
    begin = max(start, lo) if lo is not None else start
    end = min(start + length, hi) if hi is not None else start + length
    seconds = max(0, int((end - begin).total_seconds()))
    return Fraction(seconds, 3600)


def _parts(row: dict[str, Any], weights: Sequence[Fraction]) -> list[dict[str, Any]]:
    """``row``'s additive metrics cut by ``weights``: one dict of metrics per weight."""
    out: list[dict[str, Any]] = [{} for _ in weights]
    weights = integer_weights(weights)
    for name, scale in ADDITIVE.items():
        if name not in row:
            continue
        for part, value in zip(out, split(row[name], weights, scale=scale), strict=True):
            part[name] = value
    return out


def _cut(row: dict[str, Any], weights: Sequence[Fraction]) -> list[dict[str, Any]]:
    """Copies of ``row`` whose additive metrics are cut by ``weights``."""
    return [{**row, **metrics} for metrics in _parts(row, weights)]


def _emit(
    row: dict[str, Any], among: str, owners: Sequence[Any], weights: Sequence[Fraction], label: str
) -> list[dict[str, Any]]:
    """``row`` cut by ``weights``, each part given to one of ``owners`` with the ``label``."""
    return [
        {**part, among: owner, "allocation": label}
        for owner, part in zip(owners, _cut(row, weights), strict=True)
    ]


def _apply_pool(
    rows: list[dict[str, Any]],
    pool: Pool,
    plan: Plan,
    length: timedelta,
    window: tuple[datetime | None, datetime | None],
) -> list[dict[str, Any]]:
    mine = [r for r in rows if r["allocation"] == "direct" and pool.match(r)]
    if not mine:
        return rows
    claimed = {id(r) for r in mine}
    rest = [r for r in rows if id(r) not in claimed]
    drivers: dict[Any, dict[Any, Fraction]] = defaultdict(lambda: defaultdict(Fraction))
    capacity: dict[Any, Fraction] = defaultdict(Fraction)
    if pool.split_by != "fixed":
        for r in rest:
            owner = r.get(pool.among)
            if owner is None or r["allocation"].startswith("idle:") or not pool.consumers(r):
                continue
            value = driver(r, pool.split_by)
            if value > 0:
                drivers[r["period"]][owner] += value
        if pool.capacity is not None:
            for period in {r["period"] for r in mine}:
                capacity[period] = Fraction(pool.capacity) * _hours(period, length, window)
        elif pool.split_by == "gpu_seconds":
            for r in mine:
                capacity[r["period"]] += driver(r, "gpu_seconds")
    out = rest
    for r in mine:
        if pool.split_by == "fixed":
            users = {k: as_fraction(v) for k, v in pool.ratios if as_fraction(v) > 0}
        else:
            users = dict(sorted(drivers[r["period"]].items(), key=lambda kv: str(kv[0])))
        out.extend(_split_row(r, pool, plan, users, capacity.get(r["period"])))
    return out


def _split_row(
    row: dict[str, Any], pool: Pool, plan: Plan, users: dict[Any, Fraction], capacity: Fraction | None
) -> list[dict[str, Any]]:
    used = sum(users.values(), Fraction(0))
    idle = Fraction(0) if not used else max(Fraction(0), (capacity or Fraction(0)) - used)
    owners, weights = list(users), list(users.values())
    shared_label, idle_label = f"shared:{pool.name}", f"idle:{pool.name}"
    used_part: dict[str, Any] | None = row
    idle_part: dict[str, Any] | None = None
    if not used:  # nobody used the pool in this period: all of it is idle
        used_part, idle_part = None, row
    elif idle:
        used_part, idle_part = _cut(row, [used, idle])
    out = _emit(used_part, pool.among, owners, weights, shared_label) if used_part is not None else []
    if idle_part is None:
        return out
    if pool.idle == "proportional" and used:
        return out + _emit(idle_part, pool.among, owners, weights, idle_label)
    if pool.idle == "bucket":
        target = plan.idle_bucket
    else:  # owner, or proportional with no consumer in the period
        target = pool.owner if pool.owner else None
    return out + [{**idle_part, pool.among: target, "allocation": idle_label}]


def allocate(
    rows: Iterable[dict[str, Any]],
    plan: Plan,
    *,
    window: tuple[datetime | None, datetime | None] = (None, None),
) -> list[dict[str, Any]]:
    """Allocate rollup rows (grouped by ``plan.inputs()`` and a ``period``); returns new rows.

    ``window`` is the report's ``[since, until)``: an explicit pool ``capacity`` counts only the hours of
    each period inside it.
    """
    length = timedelta(hours=1) if plan.period == "hour" else timedelta(days=1)
    out = []
    for row in rows:
        new = dict(row)
        plan.apply_owners(new)
        new["allocation"] = "direct"
        out.append(new)
    for pool in plan.pools:
        out = _apply_pool(out, pool, plan, length, window)
    for row in out:
        if row.get(plan.dimension) is None:
            row["allocation"] = plan.unallocated
    return out


def bucket(period: datetime, grain: str) -> datetime:
    """The start of the ``grain`` (hour, day, week starting Monday, month) that holds ``period``."""
    if grain == "hour":
        return period.replace(minute=0, second=0, microsecond=0)
    day = period.replace(hour=0, minute=0, second=0, microsecond=0)
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown grain {grain!r}")


def _add(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def aggregate(rows: Iterable[dict[str, Any]], by: Sequence[str], grain: str | None) -> list[dict[str, Any]]:
    """Sum rows by ``by`` dimensions, the ``grain`` period and the allocation label, ordered like a rollup."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    dims = [d for d in by if d != "allocation"]
    for row in rows:
        period = bucket(row["period"], grain) if grain else None
        key = (*(row.get(d) for d in dims), period, row["allocation"])
        acc = groups.get(key)
        if acc is None:
            acc = {d: row.get(d) for d in dims}
            if grain:
                acc["period"] = period
            acc["allocation"] = row["allocation"]
            acc.update({m: row[m] for m in ADDITIVE if m in row})
            groups[key] = acc
        else:
            for m in ADDITIVE:
                if m in row:
                    acc[m] = _add(acc.get(m), row[m])

    def order(r: dict[str, Any]) -> tuple[Any, ...]:
        cost = r.get("cost")
        return (
            r.get("period") or datetime.min,
            cost is None,
            -(cost or 0),
            *(str(r.get(d) or "") for d in dims),
            r["allocation"],
        )

    return sorted(groups.values(), key=order)
