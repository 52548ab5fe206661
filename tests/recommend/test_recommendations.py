"""Recommendations on hand-built traffic: the right one, with its exact saving."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import yaml

from aifinops.app import App
from aifinops.core.errors import Conflict, InputError, NotFound
from aifinops.core.settings import Settings
from tests.recommend.traffic import T0, UNTIL, call, daily, writer_migration


def _app(**value: object) -> App:
    return App(Settings(value={"min_monthly_saving": 0, **value}), None)


def _kinds(app: App, kind: str) -> list[dict]:
    return app.recommendations(until=UNTIL, kinds=[kind])


def test_rightsizing_back_to_the_model_the_feature_used_before() -> None:
    app = _app()
    app.append(writer_migration())
    [rec] = _kinds(app, "model_rightsizing")
    assert rec["scope"] == {"feature": "writer", "model": "gpt-4o"}
    assert rec["evidence"]["target_model"] == "gpt-4o-mini"
    assert rec["evidence"]["cost"] == Decimal("3.00")
    assert rec["evidence"]["cost_on_target"] == Decimal("0.18")
    assert rec["evidence"]["days"] == 10
    assert rec["monthly_saving"] == Decimal("8.46")
    # moved off gpt-4o-mini 10 days ago, no outcomes recorded to judge the move by: verify first
    assert rec["confidence"] == "medium" and rec["evidence"]["history"] == "moved_away"
    assert 'route: {"gpt-4o": "gpt-4o-mini"}' in rec["change"]


def test_rightsizing_snippet_dry_run_saves_the_same_money() -> None:
    """The change, replayed by `policy simulate`, routes the same calls and saves the window's saving."""
    app = _app()
    app.append(writer_migration())
    [rec] = _kinds(app, "model_rightsizing")
    policy = Settings(**yaml.safe_load(rec["change"]))
    findings = app.simulate_policy(policy, since=UNTIL - timedelta(days=30), until=UNTIL)
    [finding] = [f for f in findings if f["kind"] == "model_policy"]
    assert finding["routed"] == 400
    assert finding["saving"] == rec["evidence"]["saving_in_window"] == Decimal("2.82")


def test_a_side_model_of_a_mix_is_no_evidence() -> None:
    """gpt-4o-mini only ever carried 10% of the feature: no observed candidate."""
    app = _app()
    app.append(daily("big", range(30), 36) + daily("mini", range(30), 4, hour=12, model="gpt-4o-mini"))
    assert _kinds(app, "model_rightsizing") == []


def test_configured_ladder_is_medium_confidence() -> None:
    app = _app(rightsizing={"gpt-4o": "gpt-4o-mini"})
    app.append(daily("big", range(30), 10))
    [rec] = _kinds(app, "model_rightsizing")
    # 300 calls: $2.25 paid, $0.135 on gpt-4o-mini, over 30 days
    assert rec["monthly_saving"] == Decimal("2.115")
    assert rec["confidence"] == "medium"


def test_a_cheaper_model_with_more_errors_is_not_proposed() -> None:
    app = _app()
    mini = daily("mini", range(20), 40, model="gpt-4o-mini")
    for r in mini[::5]:
        r.status, r.output_tokens = "error", 0
    app.append(mini + daily("big", range(20, 30), 40))
    assert _kinds(app, "model_rightsizing") == []


def test_a_model_the_feature_left_is_not_rightsized() -> None:
    """Traffic on gpt-4o stopped 10 days ago: nothing to route."""
    app = _app()
    app.append(daily("big", range(20), 40) + daily("mini", range(20, 30), 40, model="gpt-4o-mini"))
    assert _kinds(app, "model_rightsizing") == []


def test_batch_for_evaluation_traffic() -> None:
    app = _app()
    app.append(daily("eval", range(30), 100, hour=2, feature="evals", category="evaluation"))
    [rec] = _kinds(app, "batch")
    # 3000 calls x $0.0075 = $22.50 on demand, half at the batch price
    assert rec["monthly_saving"] == Decimal("11.25")
    assert rec["confidence"] == "high"


def test_batch_for_a_scheduled_job_and_not_for_interactive_traffic() -> None:
    app = _app()
    nightly = daily("n", range(30), 60, hour=1, feature="nightly")
    spread = [
        call(f"s{d}:{h}", T0 + timedelta(days=d, hours=h), feature="chat")
        for d in range(30)
        for h in range(24)
    ]
    app.append(nightly + spread)
    [rec] = _kinds(app, "batch")
    assert rec["scope"] == {"feature": "nightly"}
    assert rec["confidence"] == "medium"
    assert rec["monthly_saving"] == Decimal("6.75")  # 1800 x $0.0075 / 2


def test_max_tokens_cap_at_the_99th_percentile() -> None:
    app = _app()
    calls = daily("w", range(10), 100, output_tokens=100)
    for r in calls[:5]:
        r.output_tokens = 5000
    app.append(calls)
    [rec] = _kinds(app, "max_tokens")
    assert rec["evidence"]["cap"] == 256
    # 5 calls x (5000 - 256) output tokens x $10/M over a 30-day window
    assert rec["monthly_saving"] == Decimal("0.2372")
    assert "max_tokens: 256" in rec["change"]


def test_prompt_caching_from_prefix_hashes() -> None:
    app = _app()
    tags = {"prefix_hash": "abc", "prefix_tokens": "2000"}
    calls = [
        call(
            f"p{i}",
            T0 + timedelta(days=1, minutes=i),
            provider="anthropic",
            model="claude-sonnet-4-6",
            input_tokens=2500,
            tags=dict(tags),
            feature="agent",
        )
        for i in range(10)
    ]
    app.append(calls)
    [rec] = _kinds(app, "prompt_caching")
    # 9 repeats x 2000 tokens x ($3 - $0.30)/M, minus the first call's write premium 2000 x ($3.75 - $3)/M
    assert rec["monthly_saving"] == Decimal("0.0471")
    assert rec["evidence"]["repeated_requests"] == 9


def test_response_caching_from_request_hashes() -> None:
    app = _app()
    calls = [
        call(f"r{i}", T0 + timedelta(days=2, seconds=30 * i), tags={"request_hash": "same"}, api_key="k1")
        for i in range(5)
    ]
    calls.append(call("r-late", T0 + timedelta(days=3), tags={"request_hash": "same"}, api_key="k1"))
    calls.append(
        call("r-other", T0 + timedelta(days=2, seconds=10), tags={"request_hash": "same"}, api_key="k2")
    )
    app.append(calls)
    [rec] = _kinds(app, "response_caching")
    assert rec["evidence"]["duplicate_requests"] == 4  # the late one is past the TTL, k2 is another scope
    assert rec["monthly_saving"] == Decimal("0.03")
    assert yaml.safe_load(rec["change"])["gateway"]["cache"]["models"] == ["gpt-4o"]


def _gpu(key: str, hour: int, **kw: object) -> object:
    fields = dict(
        source="jobs",
        provider="aws",
        service="p4d.24xlarge",
        gpu_type="A100",
        gpu_count=8,
        gpu_seconds=Decimal(8 * 3600),
        category="training",
        operation="train",
        model=None,
        input_tokens=0,
        output_tokens=0,
        requests=0,
        tags={"job": "ft"},
        feature=None,
    )
    fields.update(kw)
    return call(key, T0 + timedelta(days=5, hours=hour), **fields)


def test_spot_for_on_demand_training() -> None:
    app = _app()
    app.append([_gpu(f"g{h}", h) for h in range(10)])
    [rec] = _kinds(app, "gpu_spot")
    # 10 node-hours: $21.96 on demand, $9.88 on spot
    assert rec["monthly_saving"] == Decimal("120.8")
    assert rec["scope"] == {"job": "ft"}


def test_ranked_by_saving_and_ids_are_stable() -> None:
    app = _app()
    app.append(writer_migration() + [_gpu(f"g{h}", h) for h in range(10)])
    first = app.recommendations(until=UNTIL)
    assert [r["kind"] for r in first[:2]] == ["gpu_spot", "model_rightsizing"]
    savings = [r["monthly_saving"] for r in first]
    assert savings == sorted(savings, reverse=True)
    assert [r["id"] for r in app.recommendations(until=UNTIL)] == [r["id"] for r in first]


def test_unknown_kind_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown kind"):
        _app().recommendations(kinds=["nope"])


def test_apply_then_measure_the_realized_saving() -> None:
    app = _app()
    app.append(writer_migration())
    [rec] = _kinds(app, "model_rightsizing")
    applied = app.apply_recommendation(rec["id"], applied_at=UNTIL, note="routed")
    assert applied["expected_monthly_saving"] == Decimal("8.46")
    with pytest.raises(Conflict):
        app.apply_recommendation(rec["id"], applied_at=UNTIL)
    # after the change: the same 40 calls a day, on gpt-4o-mini, for 10 days
    app.append(daily("after", range(30, 40), 40, model="gpt-4o-mini"))
    [row] = app.savings(until=UNTIL + timedelta(days=10))
    assert row["cost_before"] == Decimal("3.00") and row["cost_after"] == Decimal("0.18")
    assert row["realized_monthly_saving"] == Decimal("8.46")
    assert app.recommendations(until=UNTIL)[0]["applied"] is True


def test_apply_an_unknown_id_is_not_found() -> None:
    with pytest.raises(NotFound):
        _app().apply_recommendation("mod-0000000000", applied_at=UNTIL)


def test_long_context_tiers_are_priced_per_request() -> None:
    """Prompts of 50k, 150k and 250k tokens: sonnet-4-5 bills long context above 200k, haiku-5-5 above 100k."""
    app = _app(rightsizing={"claude-sonnet-4-5": "claude-haiku-5-5"})
    sizes = (50_000, 150_000, 250_000)
    calls = [
        call(f"lc{d}", T0 + timedelta(days=d, hours=12), provider="anthropic", model="claude-sonnet-4-5",
             input_tokens=sizes[d % 3], output_tokens=0, feature="docs")
        for d in range(30)
    ]  # fmt: skip
    app.append(calls)
    [rec] = _kinds(app, "model_rightsizing")
    # sonnet-4-5: 10 x 50k x $3 + 10 x 150k x $3 + 10 x 250k x $6 (long) per M = $21.00
    assert rec["evidence"]["cost"] == Decimal("21")
    # haiku-5-5: 10 x 50k x $0.10 + 10 x 150k x $0.50 (long) + 10 x 250k x $0.50 (long) per M = $2.05
    assert rec["evidence"]["cost_on_target"] == Decimal("2.05")
    assert rec["monthly_saving"] == Decimal("18.95")


def test_cache_ttl_replayed_call_by_call() -> None:
    """A call every 10 minutes outlives the 5-minute cache: each one rewrites the 2,000-token prefix."""
    app = _app()
    calls = [
        call(f"t{i}", T0 + timedelta(days=3, minutes=10 * i), provider="anthropic", model="claude-sonnet-4-6",
             input_tokens=500, cache_write_5m_tokens=2000, output_tokens=100, feature="agent", environment="prod")
        for i in range(10)
    ]  # fmt: skip
    app.append(calls)
    [rec] = _kinds(app, "prompt_caching")
    # now: 10 writes x 2000 x $3.75/M = $0.075; 1h TTL: one write x 2000 x $6/M + 9 reads x 2000 x $0.30/M
    assert rec["evidence"]["ttl"] == "1h" and rec["evidence"]["cache_reads"] == 9
    assert rec["monthly_saving"] == Decimal("0.075") - Decimal("0.012") - Decimal("0.0054")
    assert 'ttl: "1h"' in rec["change"]
