"""Tag coverage: how much spend has an owner, per source, and what the untagged spend is.

Coverage is measured after aliases, spelling normalization and owner rules (the rules *are* how an
organisation tags spend it cannot tag at the source), but before shared-pool splits: a pool spreads cost
that already has an owner, it does not make tagging better.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from aifinops.allocation.rules import Plan

__all__ = ["coverage"]

_ZERO = Decimal(0)


def _line(name: str, cost: Decimal, owned: Decimal, records: int) -> dict[str, Any]:
    return {
        "source": name,
        "cost": cost,
        "allocated_cost": owned,
        "unallocated_cost": cost - owned,
        "allocated_share": float(owned / cost) if cost else None,
        "records": records,
    }


def coverage(
    rows: Iterable[dict[str, Any]], plan: Plan, *, drivers: Sequence[str], top: int = 10
) -> dict[str, Any]:
    """Coverage of ``plan.dimension`` from rollup rows grouped by ``source``, ``drivers`` and the rule inputs.

    Returns ``{"dimension", "sources": [per source], "total": {...}, "untagged": [top drivers]}``, where each
    coverage line has ``cost``, ``allocated_cost``, ``unallocated_cost``, ``allocated_share`` (0..1, or
    ``None`` when there is no spend) and ``records``; ``untagged`` lists the ``top`` unowned groups of
    ``source`` and ``drivers`` by cost.
    """
    cost: dict[str, Decimal] = defaultdict(lambda: _ZERO)
    owned: dict[str, Decimal] = defaultdict(lambda: _ZERO)
    records: dict[str, int] = defaultdict(int)
    untagged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for raw in rows:
        row = dict(raw)
        plan.apply_owners(row)
        source = str(row.get("source"))
        amount = row.get("cost") or _ZERO
        cost[source] += amount
        records[source] += int(row.get("records") or 0)
        if row.get(plan.dimension) is not None:
            owned[source] += amount
            continue
        key = (source, *(row.get(d) for d in drivers))
        line = untagged.setdefault(
            key,
            {"source": source, **{d: row.get(d) for d in drivers}, "cost": _ZERO, "records": 0},
        )
        line["cost"] += amount
        line["records"] += int(row.get("records") or 0)
    sources = [_line(s, cost[s], owned[s], records[s]) for s in sorted(cost, key=lambda s: (-cost[s], s))]
    total = _line("total", sum(cost.values(), _ZERO), sum(owned.values(), _ZERO), sum(records.values()))
    ranked = sorted(untagged.values(), key=lambda r: (-r["cost"], *(str(v) for v in r.values())))
    return {
        "dimension": plan.dimension,
        "sources": sources,
        "total": total,
        "untagged": [r for r in ranked if r["cost"] or r["records"]][:top],
    }
