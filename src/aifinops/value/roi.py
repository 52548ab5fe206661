"""The value ledger's arithmetic: cost and outcomes per group in, ROI, cost per outcome and trend out.

- ``roi = (value - cost) / cost`` (float; None without cost or without valued outcomes)
- ``cost_per_outcome = cost / outcomes`` (Decimal at the ledger's precision; None without outcomes)
- ``value_per_dollar = value / cost`` (float; None without cost)
- ``time_to_value_days``: days from the group's first spend to its first outcome
- ``trend``: value per dollar in the second half of the period against the first half
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from aifinops.core.money import ZERO, quantize

__all__ = ["summarize", "ratio", "trend_of"]


def ratio(num: Decimal | None, den: Decimal | None) -> float | None:
    """``num / den`` as a float, None when the denominator is missing or zero."""
    if num is None or den is None or den == 0:
        return None
    return float(num / den)


def trend_of(first: float | None, second: float | None, *, tolerance: float = 0.1) -> str:
    """``rising``, ``falling`` or ``flat`` (within ``tolerance`` relative change); ``unknown`` without data."""
    if first is None or second is None:
        return "unknown"
    if first == 0:
        return "rising" if second > 0 else "flat"
    change = (second - first) / abs(first)
    if change > tolerance:
        return "rising"
    if change < -tolerance:
        return "falling"
    return "flat"


def _key(row: Mapping[str, Any], by: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row.get(d) for d in by)


def summarize(
    costs: Iterable[Mapping[str, Any]],
    outcomes: Iterable[Mapping[str, Any]],
    by: Sequence[str],
    *,
    midpoint: datetime | None = None,
) -> list[dict[str, Any]]:
    """One row per group seen in costs or outcomes, most expensive first.

    ``costs`` rows: the ``by`` keys, ``cost``, optional ``half`` (1 or 2: which half of the period) and
    ``first_spend``. ``outcomes`` rows: the ``by`` keys, ``outcomes`` (count), ``value``, optional ``half``
    and ``first_outcome``. ``midpoint`` only labels the two halves in the output.
    """
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}

    def slot(row: Mapping[str, Any]) -> dict[str, Any]:
        key = _key(row, by)
        if key not in groups:
            groups[key] = {
                **dict(zip(by, key, strict=True)),
                "cost": ZERO,
                "value": ZERO,
                "outcomes": 0,
                "valued_outcomes": 0,
                "halves": {1: [ZERO, ZERO], 2: [ZERO, ZERO]},
                "first_spend": None,
                "first_outcome": None,
            }
        return groups[key]

    for row in costs:
        g = slot(row)
        cost = Decimal(row.get("cost") or 0)
        g["cost"] += cost
        if row.get("half") in (1, 2):
            g["halves"][row["half"]][0] += cost
        first = row.get("first_spend")
        if first is not None and (g["first_spend"] is None or first < g["first_spend"]):
            g["first_spend"] = first
    for row in outcomes:
        g = slot(row)
        value = row.get("value")
        g["outcomes"] += int(row.get("outcomes") or 0)
        if value is not None:
            g["value"] += Decimal(value)
            g["valued_outcomes"] += int(row.get("valued_outcomes", row.get("outcomes")) or 0)
        if row.get("half") in (1, 2) and value is not None:
            g["halves"][row["half"]][1] += Decimal(value)
        first = row.get("first_outcome")
        if first is not None and (g["first_outcome"] is None or first < g["first_outcome"]):
            g["first_outcome"] = first
    out = []
    for g in groups.values():
        cost, value, count = g["cost"], g["value"], g["outcomes"]
        valued = g["valued_outcomes"] > 0
        (c1, v1), (c2, v2) = g["halves"][1], g["halves"][2]
        vpd1, vpd2 = ratio(v1, c1), ratio(v2, c2)
        ttv = None
        if g["first_spend"] is not None and g["first_outcome"] is not None:
            ttv = round(max(0.0, (g["first_outcome"] - g["first_spend"]).total_seconds() / 86400), 2)
        out.append(
            {
                **{d: g[d] for d in by},
                "cost": cost,
                "value": value if valued else None,
                "outcomes": count,
                "roi": ratio(value - cost, cost) if valued else None,
                "cost_per_outcome": quantize(cost / count) if count else None,
                "value_per_dollar": ratio(value, cost) if valued else None,
                "time_to_value_days": ttv,
                "value_per_dollar_first_half": vpd1 if valued else None,
                "value_per_dollar_second_half": vpd2 if valued else None,
                "trend": trend_of(vpd1, vpd2) if valued else "unknown",
                "midpoint": midpoint,
            }
        )
    out.sort(key=lambda r: (-r["cost"], tuple(str(r[d]) for d in by)))
    return out
