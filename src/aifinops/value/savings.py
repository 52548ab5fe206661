"""Realized savings: what an applied recommendation saved, measured from the ledger before and after."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aifinops.core.money import ZERO, quantize

__all__ = ["realized", "PER_DAY_KINDS"]

#: Recommendations measured per day of cost (capacity, and a retired zombie: no requests after); the
#: others per request (traffic varies).
PER_DAY_KINDS = (
    "gpu_rightsizing",
    "gpu_spot",
    "gpu_reservation",
    "provisioned_throughput",
    "zombie_retirement",
)


def realized(kind: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Monthly realized saving from ``{cost, requests, days}`` before and after the change.

    Per request: ``(cost/request before - cost/request after) x requests after``, scaled to 30 days.
    Per day (capacity): ``(cost/day before - cost/day after) x 30``. None until both sides have data.
    """
    b_cost, a_cost = Decimal(before.get("cost") or 0), Decimal(after.get("cost") or 0)
    b_days, a_days = Decimal(before.get("days") or 0), Decimal(after.get("days") or 0)
    b_req, a_req = int(before.get("requests") or 0), int(after.get("requests") or 0)
    out: dict[str, Any] = {"method": "per_day" if kind in PER_DAY_KINDS else "per_request"}
    if b_days <= 0 or a_days <= 0:
        return {**out, "realized_monthly_saving": None}
    if kind in PER_DAY_KINDS:
        saving = (b_cost / b_days - a_cost / a_days) * 30
    elif b_req and a_req:
        saving = (b_cost / b_req - a_cost / a_req) * a_req * 30 / a_days
    else:
        return {**out, "realized_monthly_saving": None}
    return {**out, "realized_monthly_saving": quantize(saving) if saving else ZERO}
