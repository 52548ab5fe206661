"""The injected incidents and the business outcomes are visible in the generated data."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

from aifinops.demo import INCIDENTS, ZOMBIE_INITIATIVE, generate
from aifinops.demo.company import FEATURES, RUNAWAY_AGENT_CALLS, TRAINING_JOBS

from .conftest import DAYS, END, Generated


def _inside(r, window) -> bool:  # noqa: ANN001
    return window[0] <= r.charge_period_start < window[1]


def _prompt(r) -> int:  # noqa: ANN001
    return r.input_tokens + r.cached_input_tokens + r.cache_write_5m_tokens + r.cache_write_1h_tokens


def test_incidents_are_documented_and_in_the_window(demo: Generated) -> None:
    kinds = {i.kind for i in INCIDENTS}
    assert {"prompt_bloat", "agent_loop", "retry_storm", "idle_resource", "model_shift"} <= kinds
    assert set(demo.incidents) == {i.name for i in INCIDENTS}
    for incident in INCIDENTS:
        lo, hi = demo.incidents[incident.name]
        assert demo.start <= lo < hi <= demo.end
        assert incident.description and incident.team and incident.feature


def test_incidents_outside_a_short_window_are_left_out() -> None:
    data = generate(1, days=1, end=END, scale=0.01)
    assert "prompt-bloat" not in data.incidents


def test_prompt_bloat_triples_input_tokens(gateway: list, demo: Generated) -> None:
    window = demo.incidents["prompt-bloat"]
    ok = [r for r in gateway if r.feature == "search-answers" and r.status == "ok"]
    during = [_prompt(r) for r in ok if _inside(r, window)]
    before = [_prompt(r) for r in ok if r.charge_period_start < window[0]]
    assert len(during) > 20
    ratio = statistics.median(during) / statistics.median(before)
    assert 2.2 < ratio < 4.2


def test_model_tier_shift(gateway: list, demo: Generated) -> None:
    window = demo.incidents["model-tier-shift"]
    copy = [r for r in gateway if r.feature == "copy-generation"]
    before = Counter(r.model for r in copy if r.charge_period_start < window[0])
    after = Counter(r.model for r in copy if _inside(r, window))
    assert before and "claude-opus-4-1" not in before
    assert after and set(after) == {"claude-opus-4-1"}


def test_retry_storm_is_an_error_surge(gateway: list, demo: Generated) -> None:
    window = demo.incidents["retry-storm"]
    triage = [r for r in gateway if r.feature == "ticket-triage"]
    during = [r for r in triage if _inside(r, window)]
    outside = [r for r in triage if not _inside(r, window)]
    rate_during = sum(r.status == "error" for r in during) / len(during)
    rate_outside = sum(r.status == "error" for r in outside) / len(outside)
    assert rate_during > 0.3 and rate_outside < 0.05
    assert any("overloaded" in (r.error or "") for r in during)
    assert max(r.attempt for r in during) >= 3
    fallbacks = [r for r in during if r.model != r.model_requested]
    assert fallbacks and all(r.provider == "openai" and r.attempt >= 3 for r in fallbacks)


def test_runaway_agent_loop(gateway: list, demo: Generated) -> None:
    window = demo.incidents["runaway-agent-loop"]
    calls = Counter(r.trace_id for r in gateway if r.workflow == "research-agent")
    (runaway, n), (_, runner_up) = calls.most_common(2)
    assert n == RUNAWAY_AGENT_CALLS and runner_up < 50
    assert all(_inside(r, window) for r in gateway if r.trace_id == runaway)


def test_idle_gpu_endpoint(demo: Generated) -> None:
    window = demo.incidents["idle-gpu-endpoint"]
    l4 = [r for r in demo.records if r.source == "gpu" and r.tags["endpoint"] == "llm-8b"]
    idle = [float(r.tags["gpu_util"]) for r in l4 if _inside(r, window)]
    busy = [float(r.tags["gpu_util"]) for r in l4 if not _inside(r, window)]
    assert len(idle) == 2 * 24 * 5 and max(idle) < 0.03
    assert max(busy) > 0.5
    served = [r for r in demo.records if r.tags.get("endpoint") == "llm-8b" and r.source == "gateway"]
    assert served and not [r for r in served if _inside(r, window)]
    moved = [
        r
        for r in demo.records
        if r.feature == "pii-redaction" and r.source == "gateway" and _inside(r, window)
    ]
    assert moved and all(r.provider == "openai" for r in moved)


def test_gpu_utilisation_idles_at_night(demo: Generated) -> None:
    h100 = [r for r in demo.records if r.source == "gpu" and r.tags["endpoint"] == "llm-70b"]
    by_hour = defaultdict(list)
    for r in h100:
        if r.charge_period_start.weekday() < 5:
            by_hour[r.charge_period_start.hour].append(float(r.tags["gpu_util"]))
    assert statistics.mean(by_hour[3]) < 0.15 < statistics.mean(by_hour[14])


def test_runaway_training_job(demo: Generated) -> None:
    usual = {j.name: j.hours for j in TRAINING_JOBS}
    hours = Counter()
    for r in demo.records:
        if r.source == "jobs" and r.tags["node"] == "node-0":
            hours[(r.tags["job"], r.tags["run_id"])] += 1
    window = demo.incidents["runaway-training"]
    runaway = [(job, run) for (job, run), n in hours.items() if n > 3 * usual[job]]
    assert [job for job, _ in runaway] == ["churn-llm-ft"]
    assert hours[runaway[0]] == (window[1] - window[0]) / timedelta(hours=1)
    spot = {r.tags["job"] for r in demo.records if r.source == "jobs" and r.pricing_mode == "spot"}
    assert spot and {r.gpu_type for r in demo.records if r.source == "jobs"} == {"H100", "A100"}


def test_outcomes_per_feature_and_none_for_the_zombie(demo: Generated) -> None:
    data = generate(5, days=DAYS, end=END, scale=0.5)  # outcomes are computed without the records
    with_outcomes = {f.name for f in FEATURES if f.outcome}
    assert {o.feature for o in data.outcomes} == with_outcomes
    assert not [o for o in data.outcomes if o.initiative == ZOMBIE_INITIATIVE]
    specs = {f.name: f.outcome for f in FEATURES if f.outcome}
    for o in data.outcomes:
        spec = specs[o.feature]
        assert o.outcome_type == spec.outcome_type and o.count >= 1
        assert data.start <= o.occurred_at < data.end and o.occurred_at.utcoffset() == timedelta(0)
        assert o.value == (Decimal(spec.value) * o.count if spec.value else None)
        assert o.team and o.project and o.initiative and o.environment == "prod"
    assert {o.customer for o in data.outcomes if o.feature == "support-agent"} - {None}
    # the zombie initiative does spend money
    zombie = [r for r in demo.records if r.tags.get("initiative") == ZOMBIE_INITIATIVE]
    assert len(zombie) > 10 and all(r.cost_status == "unpriced" for r in zombie)


def test_outcomes_track_traffic(demo: Generated) -> None:
    triaged = sum(o.count for o in demo.outcomes if o.outcome_type == "ticket_triaged")
    first_attempts = sum(
        1 for r in demo.records if r.feature == "ticket-triage" and r.attempt == 1 and r.environment == "prod"
    )
    assert 0.75 * first_attempts < triaged < 1.15 * first_attempts
