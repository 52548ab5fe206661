"""The evaluation harness: generate labelled scenarios, run the detectors as they run live, score them.

Scores: detection rate (share of injected anomalies found by an anomaly of an accepted kind for that
owner, detected between the scenario's start and its end plus a grace period), false alerts per
owner-week (anomalies of the test period that match no scenario, including any on a weekend dip), mean
time to detect in intervals (all scenarios, and spikes alone), and the forecast MAPE on clean seasonal
traffic (7-day horizon). Targets: detection >= 95 %, false alerts <= 1 per owner-week, spike MTTD <= 2
intervals, forecast MAPE < 10 %.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import numpy as np

from aifinops.anomaly.model import Anomaly, DetectorConfig
from aifinops.anomaly.resources import detect_runaway_workflows
from aifinops.anomaly.scenarios import ACCEPTS, Scenario, World, generate_world
from aifinops.anomaly.series import detect_series

__all__ = ["TARGETS", "run_detectors", "score", "evaluate"]

TARGETS = {
    "detection_rate": 0.95,
    "false_alerts_per_owner_week": 1.0,
    "spike_mttd_intervals": 2.0,
    "forecast_mape": 0.10,
}
_GRACE = timedelta(hours=6)


def run_detectors(world: World, cfg: DetectorConfig) -> list[Anomaly]:
    """Every detector over the world, exactly as the server runs them on ledger data."""
    found: list[Anomaly] = []
    for s in world.series:
        found.extend(detect_series(s, cfg))
    step = world.series[0].step if world.series else timedelta(minutes=5)
    found.extend(detect_runaway_workflows(world.workflows, cfg, step=step))
    return [a for a in found if a.detected_at >= world.test_start]


def _match(a: Anomaly, sc: Scenario) -> bool:
    return a.owner == sc.owner and a.kind in ACCEPTS[sc.kind] and sc.start <= a.detected_at <= sc.end + _GRACE


def score(world: World, found: list[Anomaly]) -> dict[str, Any]:
    """Detection rate, false alerts per owner-week and mean time to detect for one world."""
    step = world.series[0].step
    positives = [sc for sc in world.scenarios if ACCEPTS[sc.kind]]
    detected, delays, spike_delays = 0, [], []
    per_kind: dict[str, list[int]] = {}
    for sc in positives:
        hits = [a for a in found if _match(a, sc)]
        per_kind.setdefault(sc.kind, [0, 0])[1] += 1
        if hits:
            detected += 1
            per_kind[sc.kind][0] += 1
            delay = (min(a.detected_at for a in hits) - sc.start) / step
            delays.append(delay)
            if sc.kind == "spike":
                spike_delays.append(delay)
    false = [
        a
        for a in found
        if not any(
            a.owner == sc.owner and sc.start - _GRACE <= a.detected_at <= sc.end + _GRACE and ACCEPTS[sc.kind]
            for sc in world.scenarios
        )
    ]
    owner_weeks = len(world.series) * (world.end - world.test_start) / timedelta(weeks=1)
    return {
        "scenarios": len(positives),
        "detected": detected,
        "detection_rate": detected / len(positives) if positives else None,
        "false_alerts": len(false),
        "owner_weeks": round(owner_weeks, 2),
        "false_alerts_per_owner_week": len(false) / owner_weeks if owner_weeks else None,
        "mttd_intervals": float(np.mean(delays)) if delays else None,
        "spike_mttd_intervals": float(np.mean(spike_delays)) if spike_delays else None,
        "spike_delay_median_intervals": float(np.median(spike_delays)) if spike_delays else None,
        "spike_delays_intervals": sorted(float(d) for d in spike_delays),
        "by_kind": {k: {"detected": v[0], "injected": v[1]} for k, v in sorted(per_kind.items())},
        "false_examples": [f"{a.kind} {a.owner} at {a.detected_at:%Y-%m-%d %H:%M}" for a in false[:10]],
    }


def forecast_mape(seed: int, *, owners: int = 8, horizon: int = 7) -> float:
    """Mean absolute percentage error of 7-day daily forecasts on clean seasonal traffic (rolling origins)."""
    from aifinops.forecast import forecast_daily

    world = generate_world(seed, owners=owners, weeks=10, test_weeks=2, step_minutes=60, inject=False)
    errors = []
    for daily in world.daily_cost.values():
        for cut in (len(daily) - 2 * horizon, len(daily) - horizon):
            fc = forecast_daily(daily[:cut], horizon=horizon, start_weekday=0)
            actual = daily[cut : cut + horizon]
            errors.extend(np.abs(fc.mean - actual) / np.maximum(actual, 1e-9))
    return float(np.mean(errors))


def evaluate(
    seed: int, *, owners: int = 28, weeks: int = 5, cfg: DetectorConfig | None = None, forecast: bool = True
) -> dict[str, Any]:
    """One full harness run on a seed: detection scores, forecast MAPE, and whether the targets are met."""
    cfg = cfg or DetectorConfig()
    began = time.perf_counter()
    world = generate_world(seed, owners=owners, weeks=weeks)
    generated = time.perf_counter()
    found = run_detectors(world, cfg)
    detected = time.perf_counter()
    result = score(world, found)
    result["forecast_mape"] = forecast_mape(seed, owners=max(4, owners // 7)) if forecast else None
    result["seed"] = seed
    result["owners"] = owners
    result["seconds"] = {
        "generate": round(generated - began, 2),
        "detect": round(detected - generated, 2),
        "forecast": round(time.perf_counter() - detected, 2),
    }
    result["targets"] = TARGETS
    result["meets_targets"] = _meets(result)
    return result


def _meets(r: dict[str, Any]) -> bool:
    spike = r["spike_mttd_intervals"]
    return (
        (r["detection_rate"] or 0) >= TARGETS["detection_rate"]
        and (r["false_alerts_per_owner_week"] or 0) <= TARGETS["false_alerts_per_owner_week"]
        and (spike is None or spike <= TARGETS["spike_mttd_intervals"])
        and (r["forecast_mape"] is None or r["forecast_mape"] < TARGETS["forecast_mape"])
    )
