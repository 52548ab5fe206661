"""Zombie projects: initiatives that keep spending and produce nothing (or less and less)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from aifinops.core.money import quantize

__all__ = ["find_zombies"]


def find_zombies(
    rows: Iterable[Mapping[str, Any]],
    *,
    window_days: int,
    min_cost: Decimal,
    min_value_ratio: float = 1.0,
    falling_below: float = 0.5,
) -> list[dict[str, Any]]:
    """Initiatives (rows from :func:`aifinops.value.roi.summarize` by ``initiative``) to review.

    A zombie spent at least ``min_cost`` in the window and either recorded no outcome at all, or its value
    per dollar fell (the window's second half below ``falling_below`` times the first half's) to under
    ``min_value_ratio`` (by default: it now returns less than it costs). ``monthly_cost`` is the window's
    cost scaled to 30 days.
    """
    out = []
    for row in rows:
        cost = Decimal(row.get("cost") or 0)
        if cost < min_cost or cost <= 0:
            continue
        first, second = row.get("value_per_dollar_first_half"), row.get("value_per_dollar_second_half")
        if not row.get("outcomes"):
            reason = f"no outcomes in {window_days} days"
        elif first and second is not None and second < first * falling_below and second < min_value_ratio:
            reason = f"value per dollar fell from {first:.2f} to {second:.2f}"
        else:
            continue
        out.append(
            {
                "initiative": row.get("initiative"),
                "reason": reason,
                "cost": cost,
                "monthly_cost": quantize(cost * 30 / Decimal(window_days)),
                "outcomes": row.get("outcomes") or 0,
                "value": row.get("value"),
                "value_per_dollar": row.get("value_per_dollar"),
            }
        )
    out.sort(key=lambda r: -r["monthly_cost"])
    return out
