"""The detectors on hand-built series with known answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from aifinops.anomaly import (
    DetectorConfig,
    EndpointHour,
    OwnerSeries,
    TrainingRun,
    Workflow,
    detect_idle_endpoints,
    detect_mix,
    detect_prompt_bloat,
    detect_rates,
    detect_runaway_training,
    detect_runaway_workflows,
    detect_series,
    detect_spend,
)
from aifinops.anomaly.baseline import seasonal_baseline, segments, window_sum

T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
STEP = timedelta(minutes=5)
SPD = 288


def _series(days: int = 28, seed: int = 0, per_slot: float = 40.0) -> OwnerSeries:
    """Business-hours traffic with quiet weekends: Poisson requests at 1 cent each."""
    rng = np.random.default_rng(seed)
    n = days * SPD
    hours = (np.arange(n) % SPD) / 12
    weekday = (np.arange(n) // SPD) % 7
    rate = per_slot * (0.3 + np.exp(-0.5 * ((hours - 14) / 3) ** 2)) * np.where(weekday >= 5, 0.4, 1.0)
    reqs = rng.poisson(rate).astype(float)
    small = np.floor(reqs * 0.8)
    models = {"small": (small, small * 0.01), "large": (reqs - small, (reqs - small) * 0.01)}
    return OwnerSeries("search", T0, STEP, reqs * 0.01, reqs, reqs * 1000.0, reqs * 0.0, reqs * 0.0, models)


def test_clean_seasonal_traffic_with_weekends_has_no_anomaly() -> None:
    assert detect_series(_series()) == []


def test_a_spike_is_found_in_its_first_interval_with_expected_and_observed() -> None:
    s = _series()
    at = 26 * SPD + 12 * 12  # a Saturday of the fourth week, at noon
    s.cost[at : at + 6] += 2.0  # +$12 over 30 minutes (the owner spends ~$4 in such a half hour)
    found = detect_spend(s, DetectorConfig())
    assert len(found) == 1
    a = found[0]
    assert a.kind == "spend_spike" and a.owner == "search"
    assert a.detected_at == T0 + (at + 1) * STEP  # end of the first spiking interval
    assert a.started_at <= T0 + at * STEP
    assert a.observed - a.expected == pytest.approx(a.impact)
    assert 11 < a.impact < 13  # the injected $12, give or take the noise of the slots around it
    assert "spiked" in a.explanation


def test_detection_is_causal_a_prefix_gives_the_same_verdicts() -> None:
    s = _series()
    at = 23 * SPD + 10 * 12
    s.cost[at : at + 12] += 1.5
    full = detect_spend(s, DetectorConfig())
    cut = at + 24
    prefix = OwnerSeries(
        s.owner,
        s.start,
        s.step,
        s.cost[:cut],
        s.requests[:cut],
        s.input_tokens[:cut],
        s.errors[:cut],
        s.retries[:cut],
    )
    early = detect_spend(prefix, DetectorConfig())
    assert [a.detected_at for a in early] == [a.detected_at for a in full]
    assert [a.started_at for a in early] == [a.started_at for a in full]


def test_baseline_uses_the_same_hour_of_past_weeks() -> None:
    y = np.tile(np.r_[np.full(SPD * 5, 10.0), np.full(SPD * 2, 2.0)], 3)  # weekdays 10, weekends 2
    base = seasonal_baseline(y, SPD)
    saturday = 2 * 7 * SPD + 5 * SPD + 100
    assert base.expected[saturday] == pytest.approx(2.0, rel=0.01)
    assert base.expected[saturday - SPD] == pytest.approx(10.0, rel=0.01)
    assert not base.ready[SPD]  # a day of history is not enough


def test_window_sum_and_segments() -> None:
    assert window_sum(np.array([1.0, 2, 3, 4]), 2).tolist() == [1, 3, 5, 7]
    flags = np.array([0, 1, 1, 0, 0, 1, 0, 0, 0, 1], dtype=bool)
    assert segments(flags, gap=2) == [(1, 5), (9, 9)]


def test_prompt_bloat_is_tokens_per_request() -> None:
    s = _series()
    at = 24 * SPD + 9 * 12
    s.input_tokens[at:] *= 3  # same requests, three times the tokens
    s.cost[at:] *= 2
    found = detect_prompt_bloat(s, DetectorConfig())
    assert found and found[0].kind == "prompt_bloat"
    assert found[0].expected == pytest.approx(1000, rel=0.01)
    assert found[0].observed == pytest.approx(3000, rel=0.01)
    # a slow-burn kind: reported once the extra tokens cost 10 % of a usual day (4 x 2.5 % materiality)
    daily = s.cost[at - 7 * SPD : at].sum() / 7
    extra = np.cumsum(s.cost[at:] * (1 - 1000 / 3000))
    material = at + int(np.argmax(extra >= 0.1 * daily))
    assert T0 + material * STEP <= found[0].detected_at <= T0 + (material + 13) * STEP


def test_error_surge_against_the_usual_rate() -> None:
    s = _series()
    rng = np.random.default_rng(3)
    s.errors = rng.binomial(s.requests.astype(int), 0.005).astype(float)
    at = 22 * SPD + 10 * 12
    s.errors[at : at + 24] = np.floor(s.requests[at : at + 24] * 0.4)
    found = [a for a in detect_rates(s, DetectorConfig()) if a.kind == "error_surge"]
    assert len(found) == 1
    assert found[0].observed > 0.3 and found[0].expected < 0.02


def test_model_mix_shift_names_the_models() -> None:
    s = _series()
    at = 24 * SPD + 9 * 12
    small, small_cost = s.models["small"]
    large, large_cost = s.models["large"]
    large[at:] += small[at:]
    small[at:] = 0
    large_cost[at:] = large[at:] * 0.2  # the expensive tier
    small_cost[at:] = 0
    s.cost = small_cost + large_cost
    found = detect_mix(s, DetectorConfig())
    a = found[0]
    assert (a.details["from_model"], a.details["to_model"]) == ("small", "large")
    assert a.details["distance"] >= 0.35  # total variation distance of request shares when it fired
    assert a.expected == pytest.approx(0.01, rel=0.01)  # cost per request before: 1 cent
    assert a.observed == pytest.approx(0.2, rel=0.01)  # after: every request on the 20-cent tier
    assert a.detected_at - (T0 + at * STEP) <= timedelta(hours=1)


def test_runaway_workflow_against_the_agents_usual_calls() -> None:
    flows = [
        Workflow(f"w{i}", "research", "agent", T0, T0 + timedelta(minutes=5), 8 + i % 5, 0.5)
        for i in range(40)
    ]
    flows.append(Workflow("loop", "research", "agent", T0, T0 + timedelta(hours=2), 400, 40.0))
    found = detect_runaway_workflows(flows, DetectorConfig())
    assert [a.subject for a in found] == ["loop"]
    # the limit is max(50, 5 x p95 of 12) = 60 calls: reached 60/400 of the way into two hours = 18 min
    assert found[0].detected_at == T0 + timedelta(minutes=20)
    assert found[0].impact == pytest.approx((400 - 10) * 0.1)


def test_idle_endpoint_needs_a_busy_week_before() -> None:
    hours = []
    for h in range(24 * 10):
        at = T0 + timedelta(hours=h)
        util = 0.01 if h >= 24 * 8 else 0.5
        hours.append(EndpointHour("llm-8b", "platform", at, util, 2.0, 0))
    found = detect_idle_endpoints(hours, DetectorConfig())
    assert len(found) == 1
    assert found[0].started_at == T0 + timedelta(days=8)
    assert found[0].detected_at == T0 + timedelta(days=8, hours=12)
    assert found[0].impact == pytest.approx(48 * 2.0)


def test_runaway_training_against_earlier_runs() -> None:
    runs = [
        TrainingRun(
            f"r{i}", "ft", "ds", T0 + timedelta(days=10 * i), T0 + timedelta(days=10 * i, hours=8), 80.0
        )
        for i in range(3)
    ]
    runs.append(
        TrainingRun("r3", "ft", "ds", T0 + timedelta(days=30), T0 + timedelta(days=30, hours=40), 400.0)
    )
    found = detect_runaway_training(runs, DetectorConfig())
    assert [a.subject for a in found] == ["r3"]
    assert found[0].detected_at == T0 + timedelta(days=30, hours=12)  # max(8 x 1.5, 8 + 2) = 12 h
    assert found[0].impact == pytest.approx(400 * (1 - 8 / 40))
