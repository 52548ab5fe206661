"""The demo's money story: every record prices, spend splits as a company that uses AI everywhere
would spend, model migrations happen when the company says they did, and agent contexts grow.

One 90-day run at 5% of the traffic, priced with the shipped catalog. Request spend scales with the
traffic while the GPU fleet does not, so request spend is divided by the scale before comparing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest

from aifinops.core.records import UsageRecord
from aifinops.demo import generate
from aifinops.demo.company import FEATURES, MODELS
from aifinops.pricing import price_records, shipped_catalog

from .conftest import END

SCALE = 0.05
DAYS = 90


@pytest.fixture(scope="module")
def priced() -> list[UsageRecord]:
    data = generate(3, days=DAYS, end=END, scale=SCALE)
    records = [r for batch in data.batches for r in batch]
    price_records([r for r in records if r.cost_status == "unpriced"], shipped_catalog())
    return records


def _prompt(r: UsageRecord) -> int:
    return r.input_tokens + r.cached_input_tokens + r.cache_write_5m_tokens + r.cache_write_1h_tokens


def test_every_record_is_priced(priced: list[UsageRecord]) -> None:
    assert not [r for r in priced if r.cost_status == "unpriced"]
    hosted = [r for r in priced if r.source == "gateway" and r.provider != "self-hosted"]
    assert hosted and all(r.effective_cost is not None and r.effective_cost >= 0 for r in hosted)


def test_default_demo_stays_under_450k_records(priced: list[UsageRecord]) -> None:
    hourly = sum(r.source in ("gpu", "jobs") for r in priced)  # one per instance-hour, whatever the scale
    estimate = (len(priced) - hourly) / SCALE + hourly
    assert 300_000 < estimate < 450_000


def test_last_30_days_spend_like_a_company_that_uses_ai_everywhere(priced: list[UsageRecord]) -> None:
    since = END - timedelta(days=30)
    spend: dict[str, Decimal] = defaultdict(Decimal)
    for r in priced:
        if r.charge_period_start >= since and r.effective_cost:
            per_request = r.source == "gateway"
            spend[r.category] += r.effective_cost / Decimal(SCALE) if per_request else r.effective_cost
    hosted, gpu = spend["hosted_inference"], spend["self_hosted_inference"]
    assert Decimal(8_000) < hosted < Decimal(25_000)  # hosted LLM APIs: five figures a month
    assert Decimal("0.25") < hosted / gpu < Decimal(1)  # GPUs still the bigger line
    assert Decimal(1_000) < spend["training"] < gpu
    assert Decimal(20) < spend["evaluation"] < Decimal(1_000)
    assert Decimal(2) < spend["embedding"] < Decimal(100)


def test_heavy_features_cost_the_most_per_request(priced: list[UsageRecord]) -> None:
    cost: dict[str, Decimal] = defaultdict(Decimal)
    count: dict[str, int] = defaultdict(int)
    for r in priced:
        if r.source == "gateway" and r.provider != "self-hosted" and r.effective_cost is not None:
            cost[r.feature or ""] += r.effective_cost
            count[r.feature or ""] += 1
    per_request = {f: cost[f] / count[f] for f in cost}
    heavy = min(per_request[f] for f in ("contract-review", "search-answers", "support-agent"))
    light = max(per_request[f] for f in ("ticket-triage", "lead-scoring", "query-embeddings"))
    assert heavy > 10 * light


def test_model_migrations(priced: list[UsageRecord]) -> None:
    by_feature = {f.name: f for f in FEATURES}
    checked = 0
    for name, feature in by_feature.items():
        if feature.migration is None:
            continue
        switch = feature.migration.at(END)
        # the feature's own model choice: first attempts, and the top call of each agent workflow
        chosen = [
            r
            for r in priced
            if r.feature == name and r.attempt == 1 and not r.depth and r.source == "gateway"
        ]
        before = {r.model for r in chosen if r.charge_period_start < switch - timedelta(hours=3)}
        after = {r.model for r in chosen if r.charge_period_start >= switch}
        assert before and before <= dict(feature.migration.previous).keys(), name
        assert after and after <= dict(feature.models).keys(), name
        checked += 1
    assert checked >= 3


def test_research_sub_agents_follow_the_lead_model(priced: list[UsageRecord]) -> None:
    leads = {r.span_id: r.model for r in priced if r.workflow == "research-agent" and r.depth == 0}
    subs = [r for r in priced if r.workflow == "research-agent" and r.tags.get("step") == "sub-agent"]
    assert subs and {(leads[r.parent_span_id], r.model) for r in subs} <= {
        ("gpt-5", "gpt-5-mini"),
        ("gpt-5.4", "gpt-5.4-mini"),
    }
    assert {"gpt-5", "gpt-5.4"} <= set(leads.values())


def test_agent_contexts_grow_with_tool_results(priced: list[UsageRecord]) -> None:
    first: list[int] = []
    last: list[int] = []
    for r in priced:
        if r.workflow == "research-agent" and r.tags["step"] in ("plan", "report"):
            (first if r.tags["step"] == "plan" else last).append(_prompt(r))
    assert len(first) > 20 and len(last) > 20
    assert sum(last) / len(last) > 1.5 * sum(first) / len(first)


def test_prompts_fit_the_context_window(priced: list[UsageRecord]) -> None:
    limits = {f.name: f.max_context for f in FEATURES if f.max_context}
    assert limits
    for r in priced:
        if r.feature in limits:
            assert _prompt(r) <= limits[r.feature]
    assert max(_prompt(r) for r in priced if r.feature == "contract-review") > 50_000


def test_current_models_carry_real_spend(priced: list[UsageRecord]) -> None:
    by_model: dict[str, Decimal] = defaultdict(Decimal)
    since = END - timedelta(days=30)
    for r in priced:
        if r.source == "gateway" and r.charge_period_start >= since and r.effective_cost:
            by_model[r.model or ""] += r.effective_cost
    ranked = sorted(by_model, key=by_model.__getitem__, reverse=True)
    assert {"gpt-5.4", "claude-opus-4-6"} <= set(ranked[:3])
    assert all(m in MODELS for m in ranked)
