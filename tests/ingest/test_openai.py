"""OpenAI Usage API and Costs API importers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from aifinops.core.errors import InputError
from aifinops.ingest import SOURCES
from aifinops.ingest.openai_usage import parse_line_item, read_costs, read_usage
from tests.ingest.helpers import DATA, read

COMPLETIONS = DATA / "openai_usage_completions.json"


def _results(path: Path) -> list[tuple[dict, dict]]:
    """(bucket, result) pairs of a single-page fixture, in file order."""
    page = json.loads(path.read_text())
    return [(bucket, result) for bucket in page["data"] for result in bucket["results"]]


def test_registry_names_the_readers() -> None:
    assert SOURCES["openai-usage"] is read_usage
    assert SOURCES["openai-costs"] is read_costs


def test_completions_map_to_disjoint_token_classes() -> None:
    got = read(read_usage, COMPLETIONS)
    pairs = _results(COMPLETIONS)
    assert not got.errors
    assert len(got.records) == len(pairs)
    for record, (bucket, raw) in zip(got.records, pairs, strict=True):
        writes = raw["input_cache_write_tokens"]
        assert record.input_tokens == raw["input_tokens"] - raw["input_cached_tokens"] - writes
        assert record.cached_input_tokens == raw["input_cached_tokens"]
        assert record.cache_write_5m_tokens + record.cache_write_1h_tokens == writes
        assert record.output_tokens == raw["output_tokens"]
        assert record.requests == raw["num_model_requests"]
        assert (record.model, record.project, record.api_key, record.user) == (
            raw["model"],
            raw["project_id"],
            raw["api_key_id"],
            raw["user_id"],
        )
        assert record.charge_period_start == datetime.fromtimestamp(bucket["start_time"], UTC)
        assert record.charge_period_end == datetime.fromtimestamp(bucket["end_time"], UTC)
        assert record.charge_period_start.tzinfo is not None
        assert (record.provider, record.source, record.category) == (
            "openai",
            "openai-usage",
            "hosted_inference",
        )
        assert record.cost_status == "unpriced"
        assert record.effective_cost is None and record.billed_cost is None and record.list_cost is None
    # the brief's example: 1000 input of which 800 cached -> 200 uncached + 800 cached
    first = got.records[0]
    assert (first.input_tokens, first.cached_input_tokens) == (200, 800)


def test_pricing_mode_follows_batch_and_service_tier() -> None:
    modes = {(r.model, r.pricing_mode) for r in read(read_usage, COMPLETIONS).records}
    pairs = _results(COMPLETIONS)
    expected = set()
    for _, raw in pairs:
        tier = raw["service_tier"]
        mode = "batch" if raw["batch"] else {"default": "on_demand", None: "on_demand"}.get(tier, tier)
        expected.add((raw["model"], mode))
    assert modes == expected
    assert {"batch", "flex", "priority", "on_demand"} <= {m for _, m in modes}


def test_embeddings_from_jsonl_pages() -> None:
    got = read(read_usage, DATA / "openai_usage_embeddings.jsonl")
    raw = [
        r
        for line in (DATA / "openai_usage_embeddings.jsonl").read_text().splitlines()
        for b in json.loads(line)["data"]
        for r in b["results"]
    ]
    assert not got.errors
    assert [r.input_tokens for r in got.records] == [r["input_tokens"] for r in raw]
    assert {r.category for r in got.records} == {"embedding"}
    assert {r.operation for r in got.records} == {"embeddings"}
    assert all(r.output_tokens == 0 and r.cached_input_tokens == 0 for r in got.records)
    assert got.summary.rows == len(raw)


def test_other_endpoints_keep_quantity_and_unit_unpriced() -> None:
    got = read(read_usage, DATA / "openai_usage_other.json")  # a JSON array of two pages
    by_op = {r.operation: r for r in got.records}
    assert set(by_op) == {"images", "audio_speeches", "vector_stores"}
    assert (by_op["images"].quantity, by_op["images"].unit, by_op["images"].category) == (
        Decimal(14),
        "Images",
        "other",
    )
    assert by_op["images"].tags == {"image_size": "1024x1024", "image_source": "image.generation"}
    assert (by_op["audio_speeches"].quantity, by_op["audio_speeches"].unit) == (Decimal(45210), "Characters")
    assert by_op["vector_stores"].unit == "Bytes"
    assert all(r.cost_status == "unpriced" and r.effective_cost is None for r in got.records)
    assert all(r.input_tokens == r.output_tokens == 0 for r in got.records)


def test_reimport_and_overlapping_export_give_the_same_ids(tmp_path: Path) -> None:
    first = read(read_usage, COMPLETIONS).ids
    assert first == read(read_usage, COMPLETIONS).ids
    assert len(set(first)) == len(first)
    # a re-export of the second day only: other envelope, results in another order, hourly-free
    page = json.loads(COMPLETIONS.read_text())
    day2 = page["data"][1]
    day2["results"].reverse()
    reexport = tmp_path / "reexport.json"
    reexport.write_text(json.dumps({"object": "page", "data": [day2], "has_more": False, "next_page": None}))
    again = read(read_usage, reexport).ids
    assert set(again) == set(first[3:])
    # a different bucket width starting at the same moment is a different bucket
    day2["end_time"] = day2["start_time"] + 3600
    reexport.write_text(json.dumps({"object": "page", "data": [day2]}))
    assert not set(read(read_usage, reexport).ids) & set(first)


def test_costs_are_exact_reported_amounts() -> None:
    path = DATA / "openai_costs.json"
    got = read(read_costs, path)
    raw = [r for _, r in _results(path)]
    assert not got.errors
    for record, result in zip(got.records, raw, strict=True):
        expected = Decimal(repr(result["amount"]["value"]))
        assert record.effective_cost == record.billed_cost == record.list_cost == expected
        assert record.currency == result["amount"]["currency"].upper() == "USD"
        assert record.cost_status == "reported"
        assert (record.provider, record.source) == ("openai", "openai-costs")
        assert record.project == result["project_id"]
        assert record.tags["line_item"] == result["line_item"]
    assert got.records[4].effective_cost == Decimal("1.2345678901")  # no float noise
    assert [r.model for r in got.records] == [
        "gpt-4o-2024-08-06",
        "gpt-4o-2024-08-06",
        "text-embedding-3-small",
        None,
        "o3-2025-04-16",
    ]
    assert got.records[2].category == "embedding"
    assert read(read_costs, path).ids == got.ids and len(set(got.ids)) == len(got.ids)


@pytest.mark.parametrize(
    ("line_item", "model"),
    [
        ("gpt-4o-2024-08-06, input", "gpt-4o-2024-08-06"),
        ("o1-mini-2024-09-12, cached input", "o1-mini-2024-09-12"),
        ("text-embedding-3-large", "text-embedding-3-large"),
        ("ft:gpt-4o-mini-2024-07-18:acme::abc, output", "ft:gpt-4o-mini-2024-07-18:acme::abc"),
        ("Image models", None),
        ("web search tool calls", None),
        (None, None),
    ],
)
def test_line_item_names_a_model_only_when_clear(line_item: str | None, model: str | None) -> None:
    assert parse_line_item(line_item)[0] == model


def test_bad_rows_are_reported_and_good_rows_still_come(tmp_path: Path) -> None:
    good = {"object": "page", "data": [_bucket(0, [_completion(input_tokens=100, cached=40)])]}
    bad_time = {
        "object": "page",
        "data": [{"object": "bucket", "start_time": "yesterday", "end_time": 1, "results": []}],
    }
    bad_rows = {
        "object": "page",
        "data": [
            _bucket(
                86400,
                [
                    _completion(input_tokens=-5),
                    _completion(input_tokens="abc"),
                    _completion(input_tokens=10, cached=50),  # cached > input: inconsistent
                    _completion(input_tokens=7),
                ],
            )
        ],
    }
    path = tmp_path / "pages.jsonl"
    lines = [json.dumps(good), '{"object": "page", "data": [', json.dumps(bad_time), json.dumps(bad_rows)]
    path.write_text("\n".join(lines) + "\n")
    got = read(read_usage, path)
    assert [r.input_tokens for r in got.records] == [60, 7]
    by_line = {(e.line, e.reason.split(":")[0]) for e in got.errors}
    assert (2, "malformed JSON") in by_line
    assert any(e.line == 3 and "start_time" in e.reason for e in got.errors)
    line4 = [e.reason for e in got.errors if e.line == 4]
    assert len(line4) == 3
    assert any("results[0]" in r and "negative" in r for r in line4)
    assert any("results[1]" in r and "'abc'" in r for r in line4)
    assert any("results[2]" in r for r in line4)
    assert got.summary.rows == len(got.records) + len(got.errors)


@pytest.mark.parametrize(
    ("content", "hint"),
    [
        ("model,tokens\ngpt-4o,12\n", "not JSON"),
        ("", "empty"),
        (
            '{"data": [{"starting_at": "2025-08-01T00:00:00Z", "ending_at": "2025-08-02T00:00:00Z", "results": []}]}',
            "anthropic-usage",
        ),
        ('{"object": "list", "items": [1, 2]}', "'data'"),
    ],
)
def test_a_wrong_file_raises_input_error(tmp_path: Path, content: str, hint: str) -> None:
    path = tmp_path / "wrong.json"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        read(read_usage, path)
    assert hint in info.value.message
    assert str(path) in info.value.message


def test_costs_page_given_to_usage_and_back_names_the_right_source() -> None:
    with pytest.raises(InputError, match="openai-costs"):
        read(read_usage, DATA / "openai_costs.json")
    with pytest.raises(InputError, match="openai-usage"):
        read(read_costs, COMPLETIONS)


def _bucket(offset: int, results: list[dict]) -> dict:
    start = 1730419200 + offset
    return {"object": "bucket", "start_time": start, "end_time": start + 86400, "results": results}


def _completion(*, input_tokens: object, cached: int = 0) -> dict:
    return {
        "object": "organization.usage.completions.result",
        "input_tokens": input_tokens,
        "output_tokens": 1,
        "num_model_requests": 1,
        "input_cached_tokens": cached,
        "input_cache_write_tokens": 0,
        "project_id": None,
        "user_id": None,
        "api_key_id": None,
        "model": f"gpt-4o-{input_tokens}",
        "batch": None,
        "service_tier": None,
    }
