"""Busy and idle GPU hours, their cost, energy and CO2e, grouped by owner, host or endpoint.

Definitions (per GPU-interval; a shared GPU counts by its ``share``):

- **provisioned** GPU hours: every hour a GPU was there, busy or not;
- **idle**: utilization under the threshold (``gpus.idle_threshold``, 15 % by default); **busy**: the rest;
  **unmeasured**: provisioned hours with no utilization reading (a bill line without telemetry);
- ``utilization`` = busy / (busy + idle) hours, the share of measured GPU time that was used;
  ``mean_gpu_util`` = the time-weighted mean utilization reading;
- ``gpu_cost`` = GPU-hours x the catalog rate for the GPU type and pricing mode; ``idle_cost`` its idle part;
  hours with no known rate are ``unpriced_gpu_hours`` (never $0);
- ``energy_kwh`` = sum of power x time; ``co2e_kg`` = energy x grid intensity (gCO2e/kWh) / 1000.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aifinops.core.money import ZERO, quantize

__all__ = ["UsageSlice", "GpuUsage", "summarize", "slice_from_interval"]


@dataclass(slots=True)
class UsageSlice:
    """Aggregated GPU time of one group of dimensions (hours are GPU-hours)."""

    dims: Mapping[str, Any]
    provisioned_h: float = 0.0
    busy_h: float = 0.0
    idle_h: float = 0.0
    util_h: float = 0.0  # sum of utilization x measured hours
    energy_kwh: float = 0.0
    cost: Decimal = ZERO
    idle_cost: Decimal = ZERO
    unpriced_h: float = 0.0


def slice_from_interval(
    dims: Mapping[str, Any],
    *,
    gpu_hours: float,
    util: float | None,
    threshold: float,
    rate: Decimal | None,
    energy_kwh: float = 0.0,
) -> UsageSlice:
    """One GPU-interval (``gpu_hours`` already weighted by its share) at ``rate`` per GPU-hour."""
    s = UsageSlice(dims=dims, provisioned_h=gpu_hours, energy_kwh=energy_kwh)
    if util is not None:
        s.util_h = util * gpu_hours
        if util < threshold:
            s.idle_h = gpu_hours
        else:
            s.busy_h = gpu_hours
    if rate is None:
        s.unpriced_h = gpu_hours
    else:
        s.cost = rate * Decimal(repr(gpu_hours))
        if s.idle_h:
            s.idle_cost = s.cost
    return s


@dataclass(slots=True)
class GpuUsage:
    """The running totals of one report row."""

    dims: dict[str, Any]
    provisioned_h: float = 0.0
    busy_h: float = 0.0
    idle_h: float = 0.0
    util_h: float = 0.0
    energy_kwh: float = 0.0
    cost: Decimal = ZERO
    idle_cost: Decimal = ZERO
    unpriced_h: float = 0.0

    def add(self, s: UsageSlice) -> None:
        self.provisioned_h += s.provisioned_h
        self.busy_h += s.busy_h
        self.idle_h += s.idle_h
        self.util_h += s.util_h
        self.energy_kwh += s.energy_kwh
        self.cost += s.cost
        self.idle_cost += s.idle_cost
        self.unpriced_h += s.unpriced_h

    def row(self, grid_intensity: float | None) -> dict[str, Any]:
        measured = self.busy_h + self.idle_h
        return {
            **self.dims,
            "provisioned_gpu_hours": round(self.provisioned_h, 6),
            "busy_gpu_hours": round(self.busy_h, 6),
            "idle_gpu_hours": round(self.idle_h, 6),
            "unmeasured_gpu_hours": round(max(self.provisioned_h - measured, 0.0), 6),
            "utilization": round(self.busy_h / measured, 6) if measured > 0 else None,
            "mean_gpu_util": round(self.util_h / measured, 6) if measured > 0 else None,
            "gpu_cost": quantize(self.cost),
            "idle_cost": quantize(self.idle_cost),
            "idle_cost_share": float(self.idle_cost / self.cost) if self.cost else None,
            "unpriced_gpu_hours": round(self.unpriced_h, 6),
            "energy_kwh": round(self.energy_kwh, 6),
            "co2e_kg": round(self.energy_kwh * grid_intensity / 1000, 6)
            if grid_intensity is not None
            else None,
        }


def summarize(
    slices: Iterable[UsageSlice], by: Sequence[str], *, grid_intensity: float | None = None
) -> list[dict[str, Any]]:
    """Report rows grouped by ``by`` (dimension names of the slices), most expensive first."""
    groups: dict[tuple[Any, ...], GpuUsage] = {}
    for s in slices:
        key = tuple(s.dims.get(d) for d in by)
        usage = groups.get(key)
        if usage is None:
            usage = groups[key] = GpuUsage(dims=dict(zip(by, key, strict=True)))
        usage.add(s)
    rows = [u.row(grid_intensity) for u in groups.values()]
    rows.sort(key=lambda r: (-r["gpu_cost"], -r["provisioned_gpu_hours"], tuple(str(r[d]) for d in by)))
    return rows
