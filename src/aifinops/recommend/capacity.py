"""Capacity recommendations: provisioned LLM throughput vs on-demand (REFERENCE §6), and GPU fleets.

GPU rows (one per resource: an inference endpoint or a training job) carry ``name``, ``kind``
(``endpoint``/``job``), ``pricing_mode``, ``category``, ``instances``, ``gpus`` (GPUs in use at once),
``hours`` (instance-hours billed), ``util`` (mean GPU utilisation 0-1 or None), ``cost`` and ``rows``
(the billing rows to re-price: ``day``, ``provider``, ``service``, ``gpu_type``, ``gpu_count``,
``gpu_seconds``, ``pricing_mode``, ``cost``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import ROUND_CEILING, Decimal
from typing import Any

from aifinops.core.money import ZERO, quantize
from aifinops.recommend.model import Recommendation, monthly, recommendation_id
from aifinops.recommend.tokens import cost_on, paid

__all__ = ["provisioned", "gpu", "HOURS_PER_MONTH", "TARGET_UTIL", "GPU_SIZES"]

HOURS_PER_MONTH = Decimal(730)
#: GPU rightsizing aims at this mean utilisation (headroom for peaks).
TARGET_UTIL = 0.6
#: GPUs per instance that clouds sell; a node shrinks to the next size that fits.
GPU_SIZES = (1, 2, 4, 8)


def _p95(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    index = max(0, math.ceil(0.95 * len(ordered)) - 1)
    return ordered[index] if ordered else ZERO


def provisioned(
    hours: Sequence[Mapping[str, Any]], offers: Sequence[Any], *, window_hours: int
) -> list[Recommendation]:
    """Compare each configured offer with the model's on-demand bill, hour by hour.

    ``hours``: per model and hour, ``model``, ``input_tokens`` (uncached, incl. cache writes),
    ``output_tokens`` and ``cost``; hours without traffic may be absent (they count as zero).
    Units = the 95th-percentile hourly TPM times ``headroom``, rounded up to the offer's increment; traffic
    above capacity spills over to on-demand at the hour's own price. Money is per 730-hour month.
    """
    out = []
    for offer in offers:
        mine = [h for h in hours if h["model"] == offer.model]
        if not mine or window_hours <= 0:
            continue
        tpm = [
            (Decimal(h["input_tokens"] or 0) + Decimal(h["output_tokens"] or 0) * offer.output_weight) / 60
            for h in mine
        ]
        cost = paid(mine)
        weighted = sum(tpm, ZERO) * 60
        if cost <= 0 or weighted <= 0:
            continue
        series = tpm + [ZERO] * max(0, window_hours - len(mine))
        need = _p95(series) * Decimal(str(offer.headroom)) / offer.tpm_per_unit
        units = int((need / offer.increment).to_integral_value(rounding=ROUND_CEILING)) * offer.increment
        units = max(units, offer.min_units)
        capacity = Decimal(units * offer.tpm_per_unit)
        spill = sum(
            (
                Decimal(h["cost"] or 0) * (t - capacity) / t
                for h, t in zip(mine, tpm, strict=True)
                if t > capacity
            ),
            ZERO,
        )
        scale = HOURS_PER_MONTH / window_hours
        on_demand_month = quantize(cost * scale)
        provisioned_month = quantize(units * offer.rate_per_unit_hour * HOURS_PER_MONTH)
        spill_month = quantize(spill * scale)
        price_per_token = cost / weighted
        full = capacity * 60 * HOURS_PER_MONTH * price_per_token
        break_even = float(provisioned_month / full) if full else None
        utilization = float(sum(tpm, ZERO) / len(series) / capacity)
        saving = on_demand_month - provisioned_month - spill_month
        scope = {"model": offer.model}
        unit_name = "PTU" if offer.kind == "azure_ptu" else "model units"
        out.append(
            Recommendation(
                id=recommendation_id("provisioned_throughput", scope, f"{offer.kind}:{units}"),
                kind="provisioned_throughput",
                title=f"{offer.model}: {units} {unit_name} of provisioned throughput instead of on-demand",
                scope=scope,
                monthly_saving=saving,
                current_monthly_cost=on_demand_month,
                confidence="medium" if utilization >= (break_even or 1) * 1.2 else "low",
                change=(
                    f"# provision {units} {unit_name} for {offer.model} ({offer.kind}); keep on-demand as spillover\n"
                ),
                evidence={
                    "units": units,
                    "capacity_tpm": capacity,
                    "p95_tpm": _p95(series),
                    "utilization": round(utilization, 4),
                    "break_even_utilization": round(break_even, 4) if break_even is not None else None,
                    "on_demand_monthly_cost": on_demand_month,
                    "provisioned_monthly_cost": provisioned_month,
                    "spillover_monthly_cost": spill_month,
                    "hours": window_hours,
                },
            )
        )
    return out


def _gpu_rec(
    kind: str,
    res: Mapping[str, Any],
    saving: Decimal,
    days: Decimal,
    level: str,
    title: str,
    change: str,
    **evidence: Any,
) -> Recommendation:
    scope = {res["kind"]: res["name"]}
    return Recommendation(
        id=recommendation_id(kind, scope),
        kind=kind,
        title=title,
        scope=scope,
        monthly_saving=monthly(saving, days),
        current_monthly_cost=monthly(Decimal(res["cost"]), days),
        confidence=level,
        change=change,
        evidence={"days": days, "saving_in_window": saving, **evidence},
        window_days=days,
    )


def gpu(resources: Sequence[Mapping[str, Any]], catalog: Any, *, days: Decimal) -> list[Recommendation]:
    """Spot for on-demand training, reservations for always-on endpoints, fewer GPUs for idle endpoints."""
    out = []
    for res in resources:
        rows, cost, mode = res["rows"], Decimal(res["cost"]), res["pricing_mode"]
        if res["kind"] == "job" and mode == "on_demand":
            spot, unpriced = cost_on(rows, catalog, pricing_mode="spot")
            if not unpriced and spot < cost:
                out.append(
                    _gpu_rec(
                        "gpu_spot",
                        res,
                        cost - spot,
                        days,
                        "medium",
                        f"training job {res['name']}: run on spot capacity",
                        f"# run {res['name']} on spot instances with checkpoints (resume after an interruption)\n",
                        cost=cost,
                        cost_at_spot=spot,
                        gpu_hours=res.get("gpu_hours"),
                    )
                )
        if res["kind"] != "endpoint":
            continue
        coverage = res["hours"] / (float(days) * 24 * max(1, res["instances"])) if days else 0.0
        if mode == "on_demand" and coverage >= 0.9:
            reserved, unpriced = cost_on(rows, catalog, pricing_mode="reserved")
            if not unpriced and reserved < cost:
                out.append(
                    _gpu_rec(
                        "gpu_reservation",
                        res,
                        cost - reserved,
                        days,
                        "high" if coverage >= 0.95 else "medium",
                        f"endpoint {res['name']}: reserve its {res['instances']} always-on instance(s)",
                        f"# buy a reservation (1 year) for {res['instances']} x {res.get('service') or res.get('gpu_type')}\n",
                        cost=cost,
                        cost_reserved=reserved,
                        hours_covered=round(coverage, 4),
                    )
                )
        util = res.get("util")
        gpus = int(res["gpus"])
        if util is None or gpus <= 0:
            continue
        needed = max(1, math.ceil(gpus * util / TARGET_UTIL))
        per_node = max(1, gpus // max(1, res["instances"]))
        if res["instances"] <= 1:
            needed = next((s for s in GPU_SIZES if s >= needed), gpus)
        else:
            needed = math.ceil(needed / per_node) * per_node
        if needed >= gpus:
            continue
        saving = quantize(cost * (gpus - needed) / gpus)
        out.append(
            _gpu_rec(
                "gpu_rightsizing",
                res,
                saving,
                days,
                "medium" if res["instances"] > 1 else "low",
                f"endpoint {res['name']}: {needed} GPUs instead of {gpus} (mean utilisation {util:.0%})",
                f"# scale {res['name']} to {needed} GPU(s) ({needed // per_node if res['instances'] > 1 else 1} instance(s))\n",
                mean_utilization=round(util, 4),
                gpus=gpus,
                gpus_needed=needed,
                cost=cost,
            )
        )
    return out
