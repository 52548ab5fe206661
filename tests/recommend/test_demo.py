"""On the demo company: the top recommendations are the right ones and their savings are exact."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import yaml

from aifinops.app import App
from aifinops.core.money import quantize
from aifinops.core.settings import Settings
from aifinops.demo.company import ZOMBIE_INITIATIVE
from aifinops.ledger.convert import table_to_records
from aifinops.pricing import price_record


@pytest.fixture(scope="module")
def demo() -> tuple[App, Any]:
    app = App(Settings(), None)
    summary = app.load_demo(seed=7, days=30, scale=0.3)
    yield app, summary["end"]
    app.close()


def _records(app: App, since: Any, until: Any, feature: str, model: str) -> list:
    where = (
        "WHERE source = 'gateway' AND feature = ? AND model = ? AND charge_period_start >= ? "
        "AND charge_period_start < ? AND cost_status = 'priced'"
    )
    out = []
    for table in app.ledger.iter_batches(where, [feature, model, since, until]):
        out.extend(table_to_records(table))
    return out


def _on(record: Any, model: str, catalog: Any) -> Decimal:
    """The record priced on ``model``; cache writes as input when the target has no write price."""
    twin = dataclasses.replace(record, model=model, provider=None, cost_status="unpriced")
    price_record(twin, catalog)
    if twin.effective_cost is None:
        writes = twin.cache_write_5m_tokens + twin.cache_write_1h_tokens
        twin = dataclasses.replace(
            twin, input_tokens=twin.input_tokens + writes, cache_write_5m_tokens=0, cache_write_1h_tokens=0
        )
        price_record(twin, catalog)
    return twin.effective_cost


def test_the_model_tier_shift_is_found(demo: tuple[App, Any]) -> None:
    """Marketing's copy-generation moved from gpt-4o-mini to claude-opus-4-1 (the model-tier-shift incident)."""
    app, end = demo
    recs = app.recommendations(until=end, kinds=["model_rightsizing"])
    [rec] = [r for r in recs if r["scope"] == {"feature": "copy-generation", "model": "claude-opus-4-1"}]
    assert rec["evidence"]["target_model"] == "gpt-4o-mini" and rec["confidence"] == "high"
    assert rec["evidence"]["days"] <= 7  # the shift started 6 days before the end


def test_rightsizing_savings_are_exact_record_by_record(demo: tuple[App, Any]) -> None:
    app, end = demo
    for rec in app.recommendations(until=end, kinds=["model_rightsizing"]):
        ev = rec["evidence"]
        since = end - timedelta(days=30)
        paid = on_target = Decimal(0)
        for record in _records(app, since, end, rec["scope"]["feature"], rec["scope"]["model"]):
            paid += record.effective_cost
            on_target += _on(record, ev["target_model"], app.catalog)
        assert ev["cost"] == paid
        assert ev["saving_in_window"] == paid - on_target
        assert rec["monthly_saving"] == quantize(
            (paid - on_target) * 30 / ev["days"]
        )  # at the ledger's scale


def test_the_snippet_dry_run_reproduces_the_saving(demo: tuple[App, Any]) -> None:
    app, end = demo
    rec = app.recommendations(until=end, kinds=["model_rightsizing"])[0]
    findings = app.simulate_policy(
        Settings(**yaml.safe_load(rec["change"])), since=end - timedelta(days=30), until=end
    )
    [finding] = [f for f in findings if f["kind"] == "model_policy"]
    assert finding["saving"] == rec["evidence"]["saving_in_window"]


def test_gpu_spot_saving_is_exact(demo: tuple[App, Any]) -> None:
    app, end = demo
    [rec] = [
        r
        for r in app.recommendations(until=end, kinds=["gpu_spot"])
        if r["scope"] == {"job": "embedding-distill"}
    ]
    # one 20-hour run of an a3-highgpu-8g: $88.25/h on demand, $29.60/h on spot (shipped catalog)
    assert rec["evidence"]["cost"] == Decimal("1765") and rec["monthly_saving"] == Decimal("1173")


def test_zombie_initiative_and_roi_by_hand(demo: tuple[App, Any]) -> None:
    app, end = demo
    since = end - timedelta(days=30)
    zombies = app.zombies(until=end)
    [zombie] = [z for z in zombies if z["initiative"] == ZOMBIE_INITIATIVE]
    cost = app.ledger.query(
        "SELECT sum(effective_cost) AS c FROM records WHERE tags['initiative'] = ? AND charge_period_start >= ? "
        "AND charge_period_start < ?",
        [ZOMBIE_INITIATIVE, since, end],
    )[0]["c"]
    assert zombie["monthly_cost"] == cost > 0 and zombie["reason"].startswith("no outcomes")
    rows = {r["feature"]: r for r in app.value_summary(by=["feature"], since=since, until=end)}
    agent = rows["support-agent"]
    cost = app.ledger.query(
        "SELECT sum(effective_cost) AS c FROM records WHERE feature = 'support-agent' AND charge_period_start >= ? "
        "AND charge_period_start < ?",
        [since, end],
    )[0]["c"]
    got = app.ledger.query(
        "SELECT sum(count) AS n, sum(value) AS v FROM outcomes WHERE feature = 'support-agent' "
        "AND occurred_at >= ? AND occurred_at < ?",
        [since, end],
    )[0]
    assert agent["cost"] == cost and agent["outcomes"] == got["n"] and agent["value"] == got["v"]
    assert agent["value"] == Decimal("9.50") * got["n"]
    assert agent["roi"] == pytest.approx(float((got["v"] - cost) / cost))
    assert agent["cost_per_outcome"] == (cost / got["n"]).quantize(Decimal("1e-12"))


def test_cross_provider_dry_run_matches_too(demo: tuple[App, Any]) -> None:
    """copy-generation's Anthropic cache writes bill as plain input on gpt-4o-mini, in both computations."""
    app, end = demo
    [rec] = [
        r
        for r in app.recommendations(until=end, kinds=["model_rightsizing"])
        if r["scope"]["feature"] == "copy-generation"
    ]
    findings = app.simulate_policy(
        Settings(**yaml.safe_load(rec["change"])), since=end - timedelta(days=30), until=end
    )
    [finding] = [f for f in findings if f["kind"] == "model_policy"]
    assert finding["saving"] == rec["evidence"]["saving_in_window"]
    assert finding["by_owner"] == {"marketing": {"routed": finding["routed"], "saving": finding["saving"]}}
