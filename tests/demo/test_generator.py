"""The demo generator: determinism, record validity, coverage of the company, batching."""

from __future__ import annotations

import gc
import inspect
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources

import pytest

from aifinops.core.records import CATEGORIES, COST_STATUSES, PRICING_MODES, TOKEN_FIELDS
from aifinops.demo import generate, generator
from aifinops.demo.company import MODELS, TEAMS

from .conftest import END, Generated, build


def _fingerprint(g: Generated) -> list[dict]:
    return [r.to_dict() for r in g.records]


def test_same_seed_gives_identical_records_and_outcomes(demo: Generated) -> None:
    again = build()
    assert _fingerprint(again) == _fingerprint(demo)
    assert again.outcomes == demo.outcomes


def test_different_seed_gives_different_data(demo: Generated) -> None:
    other = build(seed=8)
    ids = {r.record_id for r in demo.records}
    assert not ids & {r.record_id for r in other.records}
    tokens = [r.input_tokens for r in demo.records if r.source == "gateway"][:200]
    assert tokens != [r.input_tokens for r in other.records if r.source == "gateway"][:200]


def test_record_ids_are_unique(demo: Generated) -> None:
    ids = [r.record_id for r in demo.records]
    assert len(ids) == len(set(ids))
    assert len({o.outcome_id for o in demo.outcomes}) == len(demo.outcomes)


def test_every_record_is_valid(demo: Generated) -> None:
    assert demo.end == END and demo.start == END - timedelta(days=14)
    for r in demo.records:
        assert r.charge_period_start.utcoffset() == timedelta(0)
        assert r.charge_period_end.utcoffset() == timedelta(0)
        assert demo.start <= r.charge_period_start < demo.end
        assert r.charge_period_start <= r.charge_period_end
        for name in TOKEN_FIELDS:
            value = getattr(r, name)
            assert isinstance(value, int) and value >= 0, (name, r)
        assert r.reasoning_tokens <= r.output_tokens
        assert r.category in CATEGORIES and r.pricing_mode in PRICING_MODES
        assert r.cost_status in COST_STATUSES
        for owner in ("team", "project", "feature", "environment", "use_case"):
            assert getattr(r, owner), (owner, r)
        assert r.environment in ("prod", "staging", "dev")
        assert r.provider == r.provider.lower()


def test_gateway_request_fields(gateway: list) -> None:
    for r in gateway:
        assert r.requests == 1 and r.attempt >= 1
        assert r.model in MODELS and r.model_requested in MODELS
        assert r.operation in ("chat", "embeddings", "responses", "batch")
        assert r.category in ("hosted_inference", "embedding", "evaluation", "self_hosted_inference")
        assert (r.category == "self_hosted_inference") == (r.provider == "self-hosted")
        assert r.api_key == f"{r.team}-{r.environment}"
        assert r.trace_id and r.span_id and r.latency_ms is not None and r.latency_ms >= 0
        assert r.status in ("ok", "error")
        if r.status == "error":
            assert r.error and r.output_tokens == 0
        if r.operation == "embeddings":
            assert r.output_tokens == 0 and r.category == "embedding"
    statuses = Counter(r.status for r in gateway)
    assert statuses["error"] / len(gateway) < 0.1


def test_records_are_unpriced_except_self_hosted(demo: Generated) -> None:
    self_hosted = 0
    for r in demo.records:
        if r.provider == "self-hosted":
            self_hosted += 1
            assert r.cost_status == "reported" and r.tags["cost_in"] == "gpu"
            assert r.list_cost == r.effective_cost == r.billed_cost == Decimal(0)
            assert r.tags["endpoint"] in ("llm-70b", "llm-8b")
        else:
            assert r.cost_status == "unpriced"
            assert r.list_cost is None and r.effective_cost is None and r.billed_cost is None
    assert self_hosted > 100


def test_company_coverage(demo: Generated) -> None:
    records = demo.records
    teams = {r.team for r in records}
    assert len(teams) >= 6 and teams <= {t.name for t in TEAMS}
    assert {r.source for r in records} == {"gateway", "gpu", "jobs"}
    assert {"hosted_inference", "embedding", "self_hosted_inference", "training", "evaluation"} <= {
        r.category for r in records
    }
    assert {"on_demand", "batch", "reserved", "spot"} <= {r.pricing_mode for r in records}
    assert {"chat", "embeddings", "responses", "batch", "train", "infer"} <= {r.operation for r in records}
    providers = {r.provider for r in records}
    assert {"openai", "anthropic", "google", "mistral", "deepseek", "self-hosted", "aws", "gcp"} <= providers
    assert any(r.customer for r in records) and any(r.user for r in records)
    assert {r.environment for r in records} == {"prod", "staging", "dev"}


def test_caching_and_reasoning_tokens(gateway: list) -> None:
    by_provider: dict[str, Counter] = {}
    for r in gateway:
        c = by_provider.setdefault(r.provider, Counter())
        c["read"] += r.cached_input_tokens > 0
        c["w5"] += r.cache_write_5m_tokens > 0
        c["w1"] += r.cache_write_1h_tokens > 0
        assert r.cache_hit is None or r.cache_hit == (r.cached_input_tokens > 0)
        if r.reasoning_tokens:
            assert MODELS[r.model].reasoning
    assert (
        by_provider["anthropic"]["read"] and by_provider["anthropic"]["w5"] and by_provider["anthropic"]["w1"]
    )
    assert by_provider["openai"]["read"] and not by_provider["openai"]["w5"]
    reasoning_models = {r.model for r in gateway if r.reasoning_tokens > 0}
    assert {"gpt-5", "o4-mini"} <= reasoning_models


def test_batch_jobs_run_at_night(gateway: list) -> None:
    batch = [r for r in gateway if r.pricing_mode == "batch"]
    assert batch and all(r.operation == "batch" and r.tags.get("batch_id") for r in batch)
    assert all(1 <= r.charge_period_start.hour < 5 for r in batch)


def test_retries_follow_errors_in_the_same_trace(gateway: list) -> None:
    by_trace: dict[str, list] = {}
    for r in gateway:
        by_trace.setdefault(r.trace_id, []).append(r)
    retries = [r for r in gateway if r.attempt > 1]
    assert retries
    for r in retries:
        earlier = [x for x in by_trace[r.trace_id] if x.attempt == r.attempt - 1]
        assert len(earlier) == 1 and earlier[0].status == "error"
        assert earlier[0].charge_period_end <= r.charge_period_start


def test_agent_workflows_form_trace_trees(gateway: list) -> None:
    agent = [r for r in gateway if r.workflow]
    assert {r.workflow for r in agent} == {"support-agent", "research-agent"}
    spans = {(r.trace_id, r.span_id): r for r in agent}
    fan_out: Counter = Counter()
    for r in agent:
        if r.parent_span_id is None:
            assert r.depth == 0
        else:
            parent = spans[(r.trace_id, r.parent_span_id)]
            assert r.depth == parent.depth + 1
            assert r.charge_period_start >= parent.charge_period_end
            fan_out[(r.trace_id, r.parent_span_id)] += 1
    assert max(r.depth for r in agent) >= 2
    assert max(fan_out.values()) >= 3


def test_weekdays_busier_than_weekends(gateway: list) -> None:
    per_day = Counter(r.charge_period_start.date() for r in gateway)
    full_days = [d for d in per_day if END.date() - timedelta(days=13) <= d < END.date()]
    weekday = [per_day[d] for d in full_days if d.weekday() < 5]
    weekend = [per_day[d] for d in full_days if d.weekday() >= 5]
    assert sum(weekday) / len(weekday) > 1.5 * sum(weekend) / len(weekend)


def test_business_hours_peak(gateway: list) -> None:
    sales = Counter(r.charge_period_start.hour for r in gateway if r.team == "sales")
    # San Francisco (UTC-8): 10:00-16:00 local is 18:00-24:00 UTC; 01:00-07:00 local is 09:00-15:00 UTC.
    assert sum(sales[h] for h in range(18, 24)) > 3 * sum(sales[h] for h in range(9, 15))


def test_gpu_rows_are_hourly_with_gpu_seconds(demo: Generated) -> None:
    gpu = [r for r in demo.records if r.source in ("gpu", "jobs")]
    assert gpu
    for r in gpu:
        assert r.gpu_seconds == Decimal(3600 * r.gpu_count)
        assert r.charge_period_end - r.charge_period_start == timedelta(hours=1)
        assert r.charge_period_start.minute == 0 and r.gpu_type in ("H100", "L4", "A100")
        assert 0 <= Decimal(r.tags["gpu_util"]) <= 1
        assert r.requests == 0 and r.service
    endpoints = [r for r in gpu if r.source == "gpu"]
    assert all(r.category == "self_hosted_inference" and r.tags["endpoint"] for r in endpoints)
    # one row per instance and hour: 1 H100 node + 2 L4 instances, 14 days
    assert len(endpoints) == 3 * 24 * 14
    jobs = [r for r in gpu if r.source == "jobs"]
    assert all(r.category == "training" and r.tags["job"] and r.tags["run_id"] for r in jobs)


def test_batches_are_lazy_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generator, "BATCH_SIZE", 500)
    data = generate(3, days=5, end=END, scale=0.05)
    assert inspect.isgenerator(data.batches)
    sizes = []
    last = None
    for batch in data.batches:
        assert gc.isenabled()  # generation pauses the collector, never the consumer's code
        sizes.append(len(batch))
        assert last is None or last <= batch[0].charge_period_start
        last = batch[-1].charge_period_start
    assert len(sizes) > 2 and set(sizes[:-1]) == {500} and 0 < sizes[-1] <= 500


def test_generation_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        assert sum(len(b) for b in generate(3, days=2, end=END, scale=0.02).batches) > 0
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_default_end_is_the_current_hour() -> None:
    before = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    data = generate(days=1, scale=0.01)
    assert data.end in (before, before + timedelta(hours=1))
    assert data.start == data.end - timedelta(days=1)


def test_naive_end_is_utc_and_floored() -> None:
    data = generate(days=1, scale=0.01, end=datetime(2026, 3, 1, 14, 37))
    assert data.end == END


@pytest.mark.parametrize("kwargs", [{"days": 0}, {"scale": 0}, {"seed": -1}])
def test_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        generate(**kwargs)


def test_shipped_trace_sample_keeps_attribution() -> None:
    doc = json.loads(
        resources.files("aifinops.demo").joinpath("data/azure_llm_trace_sample.json").read_text()
    )
    assert "CC BY 4.0" in doc["attribution"] and "Splitwise" in doc["attribution"]
    for name in ("code", "conv"):
        pairs = doc["traces"][name]["pairs"]
        assert len(pairs) == 2000 and all(c >= 0 and g >= 0 for c, g in pairs)
