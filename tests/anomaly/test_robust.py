"""Robustness of the spend detectors: heavy-tailed sparse owners, bursty owners, materiality, drivers."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from aifinops.anomaly import DetectorConfig, OwnerSeries, detect_series
from aifinops.anomaly.drivers import describe_drivers, top_drivers
from aifinops.anomaly.series import poisson_tail_z

START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
STEP = timedelta(minutes=5)
SPD = 288


def _series(cost: np.ndarray, requests: np.ndarray, owner: str = "team-a") -> OwnerSeries:
    zeros = np.zeros(len(cost))
    return OwnerSeries(owner, START, STEP, cost, requests, requests * 500.0, zeros, zeros)


def _traffic(seed: int, days: int, day_rate: float, night_rate: float) -> np.ndarray:
    """Poisson request counts: ``day_rate`` per slot from 08:00 to 20:00 UTC, ``night_rate`` otherwise."""
    rng = np.random.default_rng(seed)
    hour = (np.arange(days * SPD) % SPD) / 12
    lam = np.where((hour >= 8) & (hour < 20), day_rate, night_rate)
    return rng.poisson(lam).astype(float)


def _heavy_costs(rng: np.random.Generator, requests: np.ndarray) -> np.ndarray:
    """Each request costs 0.01, or 0.40 one time in twenty (an expensive model now and then)."""
    big = rng.binomial(requests.astype(int), 0.05)
    return (requests - big) * 0.01 + big * 0.40


def test_poisson_tail_score_matches_wilson_hilferty_by_hand() -> None:
    # k = 9, lam = 1: 3 * sqrt(9) * ((1 - 1/81) - (1/9) ** (1/3)) = 9 * (0.987654 - 0.480750) = 4.5621
    z = poisson_tail_z(np.array([9.0]), np.array([1.0]))[0]
    assert math.isclose(z, 9 * ((1 - 1 / 81) - (1 / 9) ** (1 / 3)), rel_tol=1e-9)
    assert math.isclose(z, 4.5621, abs_tol=1e-3)
    # at or below the mean there is no evidence of a surge; the score grows with the count
    assert poisson_tail_z(np.array([0.0, 2.0, 3.0]), np.array([3.0, 3.0, 3.0])).tolist() == [0.0, 0.0, 0.0]
    zs = poisson_tail_z(np.arange(4.0, 20.0), np.full(16, 3.0))
    assert np.all(np.diff(zs) > 0)


def test_a_surge_on_a_sparse_heavy_tailed_owner_is_caught_within_two_intervals() -> None:
    days = 21
    requests = _traffic(1, days, day_rate=3.0, night_rate=0.3)
    t0 = 17 * SPD + 14 * 12  # a Thursday, 14:00 (peak hours)
    requests[t0 : t0 + 24] += np.random.default_rng(2).poisson(12.0, 24)  # two hours, +12 requests a slot
    cost = _heavy_costs(np.random.default_rng(3), requests)
    found = [a for a in detect_series(_series(cost, requests)) if a.kind in ("spend_spike", "spend_shift")]
    hits = [a for a in found if a.detected_at >= START + t0 * STEP]
    assert hits, found
    first = min(hits, key=lambda a: a.detected_at)
    assert (first.detected_at - (START + t0 * STEP)) / STEP <= 2


def test_a_heavy_tailed_owner_without_incident_raises_no_spend_alert() -> None:
    days = 21
    requests = _traffic(4, days, day_rate=3.0, night_rate=0.3)
    cost = _heavy_costs(np.random.default_rng(5), requests)
    found = [a for a in detect_series(_series(cost, requests)) if a.kind in ("spend_spike", "spend_shift")]
    assert found == []


def test_materiality_short_slow_bursts_are_not_reported_fast_costly_spikes_are_at_once() -> None:
    days = 15
    requests = _traffic(6, days, day_rate=20.0, night_rate=20.0)  # flat: 0.20 a slot, 57.60 a day
    t0 = 13 * SPD + 12 * 12
    # the threshold is max(min_impact 1, 10 % of 57.60) = 5.76, or a pace that would reach it in an hour
    burst = requests.copy()
    burst[t0 : t0 + 2] += 30  # +0.30 a slot (3.60 an hour) for ten minutes: statistically clear, immaterial
    assert not [a for a in detect_series(_series(burst * 0.01, burst)) if a.detected_at >= START + t0 * STEP]
    spike = requests.copy()
    spike[t0 : t0 + 24] += 60  # +0.60 a slot (7.20 an hour) for two hours: material from its first slot
    hits = [a for a in detect_series(_series(spike * 0.01, spike)) if a.detected_at >= START + t0 * STEP]
    assert hits and min(a.detected_at for a in hits) <= START + (t0 + 2) * STEP
    assert sum(a.impact for a in hits) > 10


def test_top_drivers_rank_by_excess_with_hand_computed_shares() -> None:
    current = {"search": 120.0, "chat": 50.0, "batch": 11.0}
    usual = {"search": 40.0, "chat": 30.0, "batch": 10.0, "gone": 5.0}
    rows = top_drivers(current, usual)
    # excesses: search +80, chat +20, batch +1 (total positive 101); batch is under 10 % of it
    assert [r["key"] for r in rows] == ["search", "chat"]
    assert rows[0]["excess"] == 80.0 and math.isclose(rows[0]["share"], round(80 / 101, 4))
    assert math.isclose(rows[1]["share"], round(20 / 101, 4))
    assert describe_drivers("feature", rows[:1]) == "driven by feature search (+80.00, 79% of the excess)"
    assert top_drivers({"a": 1.0}, {"a": 2.0}) == [] and describe_drivers("model", []) == ""


def test_config_defaults_are_the_documented_ones() -> None:
    cfg = DetectorConfig()
    assert (cfg.materiality, cfg.burn_hours, cfg.burst_share) == (0.1, 1.0, 0.5)
    assert (cfg.count_z, cfg.count_slack, cfg.count_cusum) == (5.0, 0.3, 8.0)
