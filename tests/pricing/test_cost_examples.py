"""Worked examples: costs match the providers' published rules to the cent.

Every expected value is computed here from the per-MTok rates the provider publishes (written out below), not
read back from the catalog, so a wrong catalog number or a wrong formula fails.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from aifinops.core.money import cents, quantize
from aifinops.core.normalize import from_anthropic, from_openai_chat
from aifinops.core.records import UsageRecord, make_record_id
from aifinops.core.usage import TokenUsage
from aifinops.pricing import explain_cost, load_catalog, price_record, shipped_catalog

AT = datetime(2026, 3, 2, 12, tzinfo=UTC)
M = Decimal(1_000_000)


def record(
    model: str | None, usage: TokenUsage | None = None, *, provider: str | None = None, **kw
) -> UsageRecord:
    usage = usage or TokenUsage()
    fields = {
        "record_id": make_record_id("test", f"{model}{kw}"),
        "source": "test",
        "charge_period_start": AT,
        "charge_period_end": AT + timedelta(seconds=1),
        "provider": provider,
        "model": model,
        "requests": 1,
        "input_tokens": usage.input_tokens,
        "cached_input_tokens": usage.cached_input_tokens,
        "cache_write_5m_tokens": usage.cache_write_5m_tokens,
        "cache_write_1h_tokens": usage.cache_write_1h_tokens,
        "output_tokens": usage.output_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
    }
    fields.update(kw)
    return UsageRecord(**fields)


def priced(rec: UsageRecord, catalog=None) -> UsageRecord:
    price_record(rec, catalog or shipped_catalog())
    return rec


def test_anthropic_sonnet_all_cache_classes() -> None:
    # Anthropic pricing page, Claude Sonnet 4.5: $3 input, $3.75 5m write, $6 1h write, $0.30 read, $15 output.
    usage = from_anthropic(
        {
            "input_tokens": 12_000,
            "cache_read_input_tokens": 80_000,
            "cache_creation_input_tokens": 8_000,
            "cache_creation": {"ephemeral_5m_input_tokens": 5_000, "ephemeral_1h_input_tokens": 3_000},
            "output_tokens": 2_500,
        }
    )
    rec = priced(record("claude-sonnet-4-5-20250929", usage, provider="anthropic", requests=1))
    expected = (
        12_000 * Decimal("3") + 80_000 * Decimal("0.30") + 5_000 * Decimal("3.75") + 3_000 * Decimal("6")
    ) / M + 2_500 * Decimal("15") / M
    assert rec.cost_status == "priced"
    assert rec.list_cost == quantize(expected) == Decimal("0.134250000000")
    assert rec.effective_cost == rec.billed_cost == rec.list_cost
    assert rec.price_id == "anthropic/claude-sonnet-4-5@2025-09-29"
    hundred = TokenUsage(1_200_000, 8_000_000, 500_000, 300_000, 250_000)  # the same mix over 100 requests
    agg = priced(record("claude-sonnet-4-5", hundred, provider="anthropic", requests=100))
    assert agg.list_cost == Decimal("13.425") == 100 * rec.list_cost


def test_openai_cached_tokens_inside_prompt_are_not_counted_twice() -> None:
    # gpt-4.1: $2 input, $0.50 cached input, $8 output. prompt_tokens includes the 6,000 cached tokens;
    # completion_tokens includes the 2,000 reasoning tokens, which bill as output once.
    usage = from_openai_chat(
        {
            "prompt_tokens": 10_000,
            "completion_tokens": 3_000,
            "prompt_tokens_details": {"cached_tokens": 6_000},
            "completion_tokens_details": {"reasoning_tokens": 2_000},
        }
    )
    assert (usage.input_tokens, usage.cached_input_tokens, usage.output_tokens) == (4_000, 6_000, 3_000)
    rec = priced(record("gpt-4.1-2025-04-14", usage, provider="openai"))
    expected = (4_000 * Decimal(2) + 6_000 * Decimal("0.50") + 3_000 * Decimal(8)) / M
    assert rec.list_cost == quantize(expected)
    assert cents(rec.list_cost * 1000) == Decimal("35.00")
    naive = (10_000 * Decimal(2) + 6_000 * Decimal("0.50") + (3_000 + 2_000) * Decimal(8)) / M
    assert rec.list_cost != quantize(naive)


def test_reasoning_is_billed_as_output_once() -> None:
    # o3 after the June 2025 cut: $2 input, $8 output. 5,000 output tokens of which 4,000 reasoning.
    rec = priced(record("o3", TokenUsage(input_tokens=1_000, output_tokens=5_000, reasoning_tokens=4_000)))
    assert rec.list_cost == quantize((1_000 * Decimal(2) + 5_000 * Decimal(8)) / M)


@pytest.mark.parametrize(
    ("model", "provider", "published_input", "published_output"),
    [
        ("gpt-4o", "openai", Decimal("2.50"), Decimal("10")),
        ("claude-haiku-4-5", "anthropic", Decimal(1), Decimal(5)),
    ],
)
def test_batch_is_half_of_every_class(model, provider, published_input, published_output) -> None:
    usage = TokenUsage(input_tokens=2_000_000, output_tokens=400_000)
    sync = priced(record(model, usage, provider=provider, requests=500))
    batch = priced(record(model, usage, provider=provider, requests=500, pricing_mode="batch"))
    expected_sync = (2_000_000 * published_input + 400_000 * published_output) / M
    assert sync.list_cost == quantize(expected_sync)
    assert batch.list_cost == quantize(expected_sync / 2)


def test_anthropic_batch_stacks_with_cache_prices() -> None:
    # Claude Opus 4.5: $5 input, $0.50 read, $6.25 5m write, $25 output; batch halves each.
    usage = TokenUsage(
        input_tokens=10_000, cached_input_tokens=50_000, cache_write_5m_tokens=4_000, output_tokens=1_000
    )
    rec = priced(record("claude-opus-4-5-20251101", usage, pricing_mode="batch"))
    full = (
        10_000 * Decimal(5) + 50_000 * Decimal("0.50") + 4_000 * Decimal("6.25") + 1_000 * Decimal(25)
    ) / M
    assert rec.list_cost == quantize(full / 2)


def test_long_context_bills_all_tokens_at_the_higher_rate() -> None:
    # Sonnet 4.5 above 200k input tokens: $6 input, $0.60 read, $7.50 5m write, $22.50 output, for ALL tokens.
    below = TokenUsage(input_tokens=150_000, cached_input_tokens=50_000, output_tokens=2_000)  # exactly 200k
    above = TokenUsage(input_tokens=150_001, cached_input_tokens=50_000, output_tokens=2_000)
    r1 = priced(record("claude-sonnet-4-5", below))
    r2 = priced(record("claude-sonnet-4-5", above))
    assert r1.list_cost == quantize(
        (150_000 * Decimal(3) + 50_000 * Decimal("0.30") + 2_000 * Decimal(15)) / M
    )
    assert r2.list_cost == quantize(
        (150_001 * Decimal(6) + 50_000 * Decimal("0.60") + 2_000 * Decimal("22.50")) / M
    )
    assert explain_cost(r2, shipped_catalog()).tier == "long_context"


def test_long_context_from_anthropic_context_window_tag() -> None:
    # An aggregated usage row (many requests) cannot be tested against the threshold; its context_window can.
    usage = TokenUsage(input_tokens=3_000_000, output_tokens=100_000)
    short = priced(record("claude-sonnet-4-5", usage, requests=20, tags={"context_window": "0-200k"}))
    long = priced(record("claude-sonnet-4-5", usage, requests=20, tags={"context_window": "200k-1M"}))
    untagged = priced(record("claude-sonnet-4-5", usage, requests=20))
    assert (
        short.list_cost
        == untagged.list_cost
        == quantize((3_000_000 * Decimal(3) + 100_000 * Decimal(15)) / M)
    )
    assert long.list_cost == quantize((3_000_000 * Decimal(6) + 100_000 * Decimal("22.5")) / M)


def test_gemini_pro_long_context_and_batch() -> None:
    # Gemini 2.5 Pro: $1.25 / $10 up to 200k prompt tokens, $2.50 / $15 above; batch halves.
    usage = TokenUsage(input_tokens=250_000, output_tokens=10_000)
    rec = priced(record("gemini-2.5-pro", usage, provider="gemini"))
    assert rec.list_cost == quantize((250_000 * Decimal("2.50") + 10_000 * Decimal(15)) / M)
    batch = priced(record("models/gemini-2.5-pro", usage, pricing_mode="batch"))
    assert batch.list_cost == quantize(rec.list_cost / 2)


def test_priority_tier() -> None:
    # gpt-4.1 priority processing: $3.50 input, $0.875 cached, $14 output.
    usage = TokenUsage(input_tokens=100_000, cached_input_tokens=20_000, output_tokens=5_000)
    rec = priced(record("gpt-4.1", usage, pricing_mode="priority"))
    assert rec.list_cost == quantize(
        (100_000 * Decimal("3.50") + 20_000 * Decimal("0.875") + 5_000 * Decimal(14)) / M
    )


def test_flex_is_batch_rate_and_missing_flex_is_unpriced() -> None:
    usage = TokenUsage(input_tokens=100_000, output_tokens=10_000)
    flex = priced(record("gpt-5", usage, pricing_mode="flex"))
    batch = priced(record("gpt-5", usage, pricing_mode="batch"))
    assert (
        flex.list_cost == batch.list_cost == quantize((100_000 * Decimal("0.625") + 10_000 * Decimal(5)) / M)
    )
    no_flex = priced(record("gpt-4o", usage, pricing_mode="flex"))
    assert no_flex.cost_status == "unpriced" and no_flex.list_cost is None
    assert "flex" in explain_cost(no_flex, shipped_catalog()).reason


def test_class_without_price_leaves_record_unpriced_with_reason() -> None:
    # claude-3-5-haiku on Bedrock has no 1-hour cache-write price: never guess one.
    usage = TokenUsage(input_tokens=1_000, cache_write_1h_tokens=500, output_tokens=10)
    rec = record("anthropic.claude-3-5-haiku-20241022-v1:0", usage, provider="bedrock")
    rec.list_cost = Decimal("9")  # stale value from an earlier rating is cleared
    price_record(rec, shipped_catalog())
    assert rec.cost_status == "unpriced"
    assert (rec.list_cost, rec.effective_cost, rec.billed_cost, rec.price_id) == (None, None, None, None)
    reason = explain_cost(rec, shipped_catalog()).reason
    assert "cache_write_1h" in reason and "anthropic.claude-3-5-haiku" in reason


def test_provisioned_without_price_is_unpriced() -> None:
    rec = priced(record("gpt-4o", TokenUsage(input_tokens=10), pricing_mode="provisioned"))
    assert rec.cost_status == "unpriced"


def test_web_search_requests() -> None:
    # Anthropic web search: $10 per 1,000 searches.
    rec = priced(record("claude-sonnet-4-5", operation="web_search", quantity=Decimal(37), unit="Requests"))
    assert rec.list_cost == quantize(37 * Decimal(10) / 1000)
    assert cents(rec.list_cost) == Decimal("0.37")
    mistral = priced(record("mistral-large-latest", operation="web_search", quantity=Decimal(3)))
    assert mistral.cost_status == "unpriced"


def test_gpu_spot_vs_on_demand() -> None:
    # 8 x H100 for 90 minutes on p5.48xlarge = 12 GPU-hours; per-GPU rate = instance rate / 8.
    catalog = shipped_catalog()
    gpu = catalog.resolve_gpu("aws", "H100", "p5.48xlarge", AT)
    seconds = Decimal(8 * 90 * 60)

    def gpu_record(mode: str) -> UsageRecord:
        return record(
            None,
            provider="aws",
            service="p5.48xlarge",
            gpu_type="NVIDIA H100 80GB HBM3",
            gpu_count=8,
            gpu_seconds=seconds,
            pricing_mode=mode,
            category="training",
        )

    on_demand = priced(gpu_record("on_demand"))
    spot = priced(gpu_record("spot"))
    assert on_demand.list_cost == quantize(Decimal(12) * gpu.on_demand_hour / 8)
    assert spot.list_cost == quantize(Decimal(12) * gpu.spot_hour / 8)
    assert spot.list_cost < on_demand.list_cost
    assert on_demand.price_id == gpu.price_id == "aws/p5.48xlarge@2025-06-01"
    # the instance's whole-hour price: 8 GPU-hours of a p5.48xlarge cost exactly one instance-hour
    one_hour = priced(record(None, provider="aws", gpu_type="H100", gpu_seconds=Decimal(8 * 3600)))
    assert one_hour.list_cost == quantize(gpu.on_demand_hour)
    assert priced(gpu_record("batch")).cost_status == "unpriced"


def test_discount_most_specific_wins_and_never_stacks() -> None:
    catalog = load_catalog(
        discounts=[
            {"provider": "anthropic", "percent": 10, "effective_from": "2026-01-01"},
            {
                "provider": "anthropic",
                "model": "claude-opus-*",
                "percent": 25,
                "effective_from": "2026-01-01",
            },
        ]
    )
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=100_000)  # 10 requests: below the 200k tier
    opus = priced(record("claude-opus-4-5", usage, requests=10), catalog)
    sonnet = priced(record("claude-sonnet-4-5", usage, requests=10), catalog)
    gpt = priced(record("gpt-4o", usage, requests=10), catalog)
    opus_list = (1_000_000 * Decimal(5) + 100_000 * Decimal(25)) / M
    sonnet_list = (1_000_000 * Decimal(3) + 100_000 * Decimal(15)) / M
    assert opus.list_cost == quantize(opus_list) and opus.effective_cost == quantize(
        opus_list * Decimal("0.75")
    )
    assert sonnet.effective_cost == quantize(sonnet_list * Decimal("0.90"))
    assert opus.billed_cost == opus.effective_cost
    assert gpt.effective_cost == gpt.list_cost
    before = priced(
        record("claude-opus-4-5", usage, requests=10, charge_period_start=datetime(2025, 12, 31, tzinfo=UTC)),
        catalog,
    )
    assert before.effective_cost == before.list_cost


def test_effective_dated_override_switches_at_midnight_utc() -> None:
    catalog = load_catalog(
        prices=[
            {
                "provider": "openai",
                "model": "gpt-4o",
                "input": 2.0,
                "output": 8.0,
                "effective_from": "2026-04-01",
            }
        ]
    )
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000)
    last = datetime(2026, 3, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    first = datetime(2026, 4, 1, tzinfo=UTC)
    old = priced(record("gpt-4o", usage, charge_period_start=last), catalog)
    new = priced(record("gpt-4o", usage, charge_period_start=first), catalog)
    assert (
        old.list_cost == quantize(Decimal("2.50") + Decimal(10))
        and old.price_id == "openai/gpt-4o@2024-10-02"
    )
    assert (
        new.list_cost == quantize(Decimal("2.0") + Decimal("8.0"))
        and new.price_id == "user:openai/gpt-4o@2026-04-01"
    )


def test_shipped_price_history_gpt_4o_alias() -> None:
    # gpt-4o meant gpt-4o-2024-05-13 ($5 / $15) until 2024-10-02, then $2.50 / $10.
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000)
    sept = priced(record("gpt-4o", usage, charge_period_start=datetime(2024, 9, 30, tzinfo=UTC)))
    octo = priced(record("gpt-4o", usage, charge_period_start=datetime(2024, 10, 2, tzinfo=UTC)))
    assert sept.list_cost == Decimal(20) and octo.list_cost == Decimal("12.5")
    snapshot = priced(record("gpt-4o-2024-05-13", usage))
    assert snapshot.list_cost == Decimal(20)


def test_unknown_model_is_unpriced_never_zero() -> None:
    rec = priced(record("acme-llm-9000", TokenUsage(input_tokens=10, output_tokens=10), provider="acme"))
    assert rec.cost_status == "unpriced"
    assert (
        rec.list_cost is None
        and rec.effective_cost is None
        and rec.billed_cost is None
        and rec.price_id is None
    )


def test_reported_records_are_untouched() -> None:
    rec = record("gpt-4o", TokenUsage(input_tokens=1_000_000), cost_status="reported")
    rec.list_cost = rec.effective_cost = rec.billed_cost = Decimal("1.23")
    rec.price_id = None
    priced(rec)
    assert (rec.cost_status, rec.list_cost, rec.billed_cost, rec.price_id) == (
        "reported",
        Decimal("1.23"),
        Decimal("1.23"),
        None,
    )


def test_price_records_counts_priced() -> None:
    from aifinops.pricing import price_records

    records = [
        record("gpt-4o", TokenUsage(input_tokens=5)),
        record("nope-model", TokenUsage(input_tokens=5)),
        record("gpt-4o", TokenUsage(input_tokens=5), cost_status="reported"),
    ]
    assert price_records(records, shipped_catalog()) == 1
    assert [r.cost_status for r in records] == ["priced", "unpriced", "reported"]


def test_explain_cost_lines_sum_to_list_cost() -> None:
    usage = TokenUsage(
        input_tokens=1_234, cached_input_tokens=5_678, cache_write_5m_tokens=91, output_tokens=2_345
    )
    rec = record("claude-opus-4-5", usage)
    result = explain_cost(rec, shipped_catalog())
    assert [line.item for line in result.lines] == ["input", "cached_input", "cache_write_5m", "output"]
    assert sum(line.cost for line in result.lines) == result.list_cost
    assert result.to_dict()["lines"][0] == {
        "item": "input",
        "quantity": "1234",
        "unit_price": "5",
        "unit": "1M tokens",
        "cost": "0.006170000000",
    }


def test_reversing_record_mirrors_the_original_cost() -> None:
    usage = TokenUsage(input_tokens=250_000, output_tokens=1_000)  # long context when positive
    original = priced(record("claude-sonnet-4-5", usage))
    reversal = priced(
        record("claude-sonnet-4-5", TokenUsage(input_tokens=-250_000, output_tokens=-1_000), corrects="x")
    )
    assert reversal.list_cost == -original.list_cost
