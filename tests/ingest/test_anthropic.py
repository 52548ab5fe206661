"""Anthropic Admin API usage and cost report importers."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from aifinops.core.errors import InputError
from aifinops.ingest import SOURCES
from aifinops.ingest.anthropic_usage import read_costs, read_usage
from tests.ingest.helpers import DATA, read

USAGE = DATA / "anthropic_usage.json"
COSTS = DATA / "anthropic_costs.json"
TIERS = {"standard": "on_demand", "batch": "batch", "priority": "priority"}


def _results(path: Path) -> list[tuple[dict, dict]]:
    page = json.loads(path.read_text())
    return [(bucket, result) for bucket in page["data"] for result in bucket["results"]]


def test_registry_names_the_readers() -> None:
    assert SOURCES["anthropic-usage"] is read_usage
    assert SOURCES["anthropic-costs"] is read_costs


def test_usage_tokens_cache_ttls_and_attribution() -> None:
    got = read(read_usage, USAGE)
    assert not got.errors
    chats = [r for r in got.records if r.operation == "chat"]
    pairs = _results(USAGE)
    assert len(chats) == len(pairs)
    for record, (bucket, raw) in zip(chats, pairs, strict=True):
        creation = raw["cache_creation"]
        assert record.input_tokens == raw["uncached_input_tokens"]
        assert record.cached_input_tokens == raw["cache_read_input_tokens"]
        assert record.cache_write_5m_tokens == creation["ephemeral_5m_input_tokens"]
        assert record.cache_write_1h_tokens == creation["ephemeral_1h_input_tokens"]
        assert record.output_tokens == raw["output_tokens"]
        assert record.charge_period_start == datetime.fromisoformat(bucket["starting_at"])
        assert record.charge_period_end == datetime.fromisoformat(bucket["ending_at"])
        assert record.project == raw["workspace_id"]
        assert record.api_key == raw["api_key_id"]
        assert record.model == raw["model"]
        assert record.pricing_mode == TIERS[raw["service_tier"]]
        assert record.tags["context_window"] == raw["context_window"]
        assert (record.provider, record.source, record.cost_status) == (
            "anthropic",
            "anthropic-usage",
            "unpriced",
        )
        assert record.effective_cost is None
    assert [r.region for r in chats] == ["us", None, None]  # "not_available" and null are no region


def test_web_searches_are_a_separate_record_with_the_same_attribution() -> None:
    got = read(read_usage, USAGE)
    searches = [r for r in got.records if r.operation == "web_search"]
    expected = [
        raw["server_tool_use"]["web_search_requests"]
        for _, raw in _results(USAGE)
        if (raw.get("server_tool_use") or {}).get("web_search_requests")
    ]
    assert [r.quantity for r in searches] == [Decimal(n) for n in expected]
    search = searches[0]
    chat = got.records[got.records.index(search) - 1]
    assert search.unit == "Requests"
    assert search.input_tokens == search.output_tokens == search.cached_input_tokens == 0
    for field in (
        "model",
        "project",
        "api_key",
        "pricing_mode",
        "region",
        "charge_period_start",
        "charge_period_end",
    ):
        assert getattr(search, field) == getattr(chat, field)
    assert search.tags == chat.tags and search.tags is not chat.tags
    assert search.record_id != chat.record_id


def test_usage_ids_are_stable_and_unique() -> None:
    ids = read(read_usage, USAGE).ids
    assert ids == read(read_usage, USAGE).ids
    assert len(set(ids)) == len(ids)


def test_costs_in_cents_divide_by_100_exactly() -> None:
    got = read(read_costs, COSTS)
    raw = [r for _, r in _results(COSTS)]
    assert not got.errors
    for record, result in zip(got.records, raw, strict=True):
        dollars = Decimal(result["amount"]) / Decimal(100)
        assert record.effective_cost == record.billed_cost == record.list_cost == dollars
        assert record.cost_status == "reported"
        assert record.currency == "USD"
        assert record.project == result["workspace_id"]
        assert record.model == result["model"]
        assert record.tags.get("token_type") == result["token_type"]
        assert record.tags.get("description") == result["description"]
    assert got.records[0].effective_cost == Decimal("1.2345")  # "123.45" cents
    assert str(got.records[1].effective_cost) == "7.500000001"  # no rounding
    assert got.records[1].pricing_mode == "batch"
    assert got.records[2].operation == "web_search"
    assert read(read_costs, COSTS).ids == got.ids


def test_bad_results_are_rejected_with_their_path(tmp_path: Path) -> None:
    page = json.loads(COSTS.read_text())
    results = page["data"][0]["results"]
    results[1]["amount"] = "12,5"
    del results[2]["amount"]
    results[3]["amount"] = None
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(page))
    got = read(read_costs, path)
    assert len(got.records) == 1
    reasons = sorted(e.reason for e in got.errors)
    assert any("results[1]" in r and "'12,5'" in r for r in reasons)
    assert any("results[2]" in r and "amount: missing" in r for r in reasons)
    assert all(e.line == 1 for e in got.errors)


def test_negative_usage_tokens_are_rejected(tmp_path: Path) -> None:
    page = json.loads(USAGE.read_text())
    page["data"][0]["results"][0]["output_tokens"] = -1
    path = tmp_path / "usage.json"
    path.write_text(json.dumps(page))
    got = read(read_usage, path)
    assert len(got.errors) == 1 and "output_tokens" in got.errors[0].reason
    assert len([r for r in got.records if r.operation == "chat"]) == 2


@pytest.mark.parametrize(
    ("reader", "path", "hint"),
    [
        (read_usage, COSTS, "anthropic-costs"),
        (read_costs, USAGE, "anthropic-usage"),
        (read_usage, DATA / "openai_usage_completions.json", "openai-usage"),
        (read_costs, DATA / "records.csv", "not JSON"),
    ],
)
def test_the_wrong_report_raises_input_error(reader, path: Path, hint: str) -> None:
    with pytest.raises(InputError, match=hint):
        read(reader, path)
