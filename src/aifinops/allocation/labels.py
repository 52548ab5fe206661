"""Per-record allocation labels, for exports: the owner after the owner rules, and how the row is allocated.

A report splits shared pools among their consumers per period; an exported bill line cannot be split, so it
carries what allocation will do with it: ``direct`` (its own owner, after aliases, normalization and owner
rules), ``shared:POOL`` (the line is a shared pool's spend, split among its consumers in allocated reports)
or the ``unallocated`` label (nobody owns it). Rules are evaluated once per distinct combination of the
dimensions they read, so a batch of 50,000 records costs a few hundred rule evaluations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aifinops.allocation.rules import Plan

__all__ = ["record_labels"]


def record_labels(plan: Plan, columns: Mapping[str, Sequence[Any]], n: int) -> tuple[list[Any], list[str]]:
    """``(owners, labels)`` for ``n`` records given as ``columns``: dimension name -> values (one per record).

    ``columns`` must hold every name in ``plan.inputs()``; a missing one reads as null.
    """
    dims = plan.inputs()
    values = [columns.get(d) or [None] * n for d in dims]
    cache: dict[tuple[Any, ...], tuple[Any, str]] = {}
    owners: list[Any] = []
    labels: list[str] = []
    for key in zip(*values, strict=True) if dims else ((),) * n:
        hit = cache.get(key)
        if hit is None:
            row = dict(zip(dims, key, strict=True))
            plan.apply_owners(row)
            owner = row.get(plan.dimension)
            pool = next((p for p in plan.pools if p.match(row)), None)
            if pool is not None:
                label = f"shared:{pool.name}"
            else:
                label = "direct" if owner is not None else plan.unallocated
            hit = cache[key] = (owner, label)
        owners.append(hit[0])
        labels.append(hit[1])
    return owners, labels
