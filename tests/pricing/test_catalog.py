"""Resolution of model ids, effective dating, user prices and their validation."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from aifinops.core.errors import ConfigError, NotFound
from aifinops.pricing import describe, load_catalog, normalize_gpu_type, shipped_catalog

AT = datetime(2026, 3, 2, tzinfo=UTC)

RESOLUTION = [
    # (model, provider, expected price_id)
    ("gpt-4o", None, "openai/gpt-4o@2024-10-02"),
    ("GPT-4o", None, "openai/gpt-4o@2024-10-02"),
    ("openai/gpt-4o", None, "openai/gpt-4o@2024-10-02"),
    ("gpt-4o", "OpenAI", "openai/gpt-4o@2024-10-02"),
    ("gpt-4o-2024-08-06", None, "openai/gpt-4o-2024-08-06@2024-08-06"),
    ("gpt-4o-2024-11-20", "openai", "openai/gpt-4o-2024-08-06@2024-08-06"),
    ("gpt-4o-2024-05-13", None, "openai/gpt-4o-2024-05-13@2024-05-13"),
    ("gpt-4o-mini-2024-07-18", None, "openai/gpt-4o-mini@2024-07-18"),
    ("gpt-4.1-2025-04-14", None, "openai/gpt-4.1@2025-04-14"),
    ("gpt-5-2025-08-07", None, "openai/gpt-5@2025-08-07"),
    ("gpt-4-0613", None, "openai/gpt-4@2023-06-13"),
    ("o3-2025-04-16", None, "openai/o3@2025-06-10"),
    ("ft:gpt-4o-mini-2024-07-18:acme::9xYz", None, "openai/ft:gpt-4o-mini-2024-07-18@2024-07-18"),
    ("openrouter/openai/gpt-4o", None, "openai/gpt-4o@2024-10-02"),
    ("azure/gpt-4o", None, "azure/gpt-4o@2024-08-06"),
    ("gpt-4o", "azure", "azure/gpt-4o@2024-08-06"),
    ("gpt-4o-2024-11-20", "azure_openai", "azure/gpt-4o@2024-08-06"),
    ("o1-pro", "azure", "openai/o1-pro@2025-03-19"),  # Azure without its own entry bills OpenAI's rate
    ("claude-sonnet-4-5", None, "anthropic/claude-sonnet-4-5@2025-09-29"),
    ("claude-sonnet-4-5-20250929", None, "anthropic/claude-sonnet-4-5@2025-09-29"),
    ("anthropic/claude-sonnet-4-5-20250929", None, "anthropic/claude-sonnet-4-5@2025-09-29"),
    ("claude-3-5-haiku-latest", None, "anthropic/claude-3-5-haiku@2024-11-04"),
    ("claude-sonnet-4-0", None, "anthropic/claude-sonnet-4@2025-05-22"),
    ("vertex_ai/claude-sonnet-4-5@20250929", None, "anthropic/claude-sonnet-4-5@2025-09-29"),
    ("claude-opus-4-6@default", "vertex_ai", "anthropic/claude-opus-4-6@2026-02-05"),
    (
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        None,
        "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0@2025-09-29",
    ),
    (
        "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0",
        None,
        "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0@2025-09-29",
    ),
    (
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "aws",
        "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0@2025-09-29",
    ),
    (
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "bedrock",
        "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0@2025-09-29",
    ),
    (
        "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
        None,
        "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0@2025-09-29",
    ),
    (
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        None,
        "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0@2025-09-29",
    ),
    # a region prefix without its own entry falls back to the unprefixed model (older models had no uplift)
    (
        "apac.anthropic.claude-opus-4-1-20250805-v1:0",
        None,
        "bedrock/anthropic.claude-opus-4-1-20250805-v1:0@2025-08-05",
    ),
    (
        "anthropic.claude-sonnet-4-5-20250929",
        "bedrock",
        "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0@2025-09-29",
    ),
    ("anthropic.claude-3-haiku-20240307-v1:0", "bedrock", "anthropic/claude-3-haiku@2024-03-13"),
    ("amazon.nova-pro-v1:0", None, "bedrock/amazon.nova-pro-v1:0@2024-12-03"),
    ("us.amazon.nova-pro-v1:0", None, "bedrock/amazon.nova-pro-v1:0@2024-12-03"),
    ("eu.amazon.nova-pro-v1:0", None, "bedrock/eu.amazon.nova-pro-v1:0@2024-12-03"),
    ("gemini-2.5-pro", None, "google/gemini-2.5-pro@2025-06-17"),
    ("gemini/gemini-2.5-pro", None, "google/gemini-2.5-pro@2025-06-17"),
    ("models/gemini-2.5-flash", None, "google/gemini-2.5-flash@2025-06-17"),
    ("vertex_ai/gemini-2.5-flash-lite", None, "google/gemini-2.5-flash-lite@2025-07-22"),
    ("gemini-2.5-pro", "gcp.vertex_ai", "google/gemini-2.5-pro@2025-06-17"),
    ("mistral-large-latest", None, "mistral/mistral-large-2512@2026-11-22"),
    ("mistral/codestral-latest", None, "mistral/codestral-2508@2026-11-22"),
    ("deepseek-chat", "deepseek", "deepseek/deepseek-chat@2025-09-29"),
    ("text-embedding-3-small", None, "openai/text-embedding-3-small@2024-01-25"),
    ("amazon.titan-embed-text-v2:0", None, "bedrock/amazon.titan-embed-text-v2:0@2026-11-22"),
]


@pytest.mark.parametrize(("model", "provider", "expected"), RESOLUTION)
def test_resolution_table(model: str, provider: str | None, expected: str) -> None:
    entry = shipped_catalog().resolve(model, provider, AT)
    assert entry is not None, model
    assert entry.price_id == expected


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("acme-llm", None),
        ("gpt-4o", "together_ai"),  # a reseller with its own prices is not guessed from OpenAI's
        ("claude-sonnet-4-5", "openai"),
        ("", None),
        ("gpt-4o-mini-transcribe", None),
        ("chatgpt-4o-latest", None),
    ],
)
def test_unknown_models_resolve_to_none(model: str, provider: str | None) -> None:
    assert shipped_catalog().resolve(model, provider, AT) is None


def test_dated_history_in_shipped_data() -> None:
    catalog = shipped_catalog()
    o3_april = catalog.resolve("o3", at=datetime(2025, 5, 1, tzinfo=UTC))
    o3_july = catalog.resolve("o3", at=datetime(2025, 7, 1, tzinfo=UTC))
    assert o3_april.rates["on_demand"].input == Decimal(10) and o3_july.rates["on_demand"].input == Decimal(2)
    chat = [
        catalog.resolve("deepseek-chat", at=datetime(2025, m, 15, tzinfo=UTC)).rates["on_demand"]
        for m in (8, 9, 10)
    ]
    assert [r.output for r in chat] == [Decimal("1.1"), Decimal("1.68"), Decimal("0.42")]
    # the oldest known price also covers earlier dates
    assert catalog.resolve("o3", at=datetime(2020, 1, 1, tzinfo=UTC)).price_id == "openai/o3@2025-04-16"
    naive = catalog.resolve("o3", at=datetime(2025, 7, 1))  # naive datetimes are UTC
    assert naive is o3_july


def test_user_price_adds_a_model_and_beats_shipped_from_its_date_on() -> None:
    catalog = load_catalog(
        prices=[
            {
                "provider": "openai",
                "model": "ft:gpt-4o-mini:acme",
                "input": 0.30,
                "cached_input": 0.15,
                "output": 1.20,
                "effective_from": "2026-01-01",
            },
            {
                "provider": "anthropic",
                "model": "claude-sonnet-4-5-20250929",
                "input": "2.70",
                "output": "13.5",
                "effective_from": "2026-02-01",
                "effective_to": "2026-03-01",
            },
            {"provider": "selfhosted", "model": "llama-3.3-70b", "input": 0.1, "output": 0.1},
        ]
    )
    ft = catalog.resolve("ft:gpt-4o-mini:acme:support:abc123", at=AT)
    assert ft.price_id == "user:openai/ft:gpt-4o-mini:acme@2026-01-01"
    assert ft.rates["on_demand"].input == Decimal(
        "0.3"
    )  # YAML float 0.30 -> exactly 0.3 (repr), never binary noise
    assert catalog.resolve("ft:gpt-4o-mini:acme", at=datetime(2025, 12, 31, tzinfo=UTC)) is None
    # an override named by an alias applies to the model, only inside its window
    feb = catalog.resolve("claude-sonnet-4-5", at=datetime(2026, 2, 14, tzinfo=UTC))
    assert feb.origin == "user" and feb.rates["on_demand"].input == Decimal("2.70")
    assert catalog.resolve("claude-sonnet-4-5", at=datetime(2026, 3, 1, tzinfo=UTC)).origin == "shipped"
    assert catalog.resolve("llama-3.3-70b", at=AT).price_id == "user:selfhosted/llama-3.3-70b"
    assert catalog.resolve("llama-3.3-70b", "selfhosted", AT) is not None
    assert shipped_catalog().resolve("llama-3.3-70b", at=AT) is None  # the shipped catalog is not changed


def test_bad_price_config_names_section_index_and_field() -> None:
    with pytest.raises(ConfigError) as info:
        load_catalog(
            prices=[
                {"provider": "openai", "model": "a", "input": 1, "output": 2},
                {"provider": "openai", "model": "b", "input": 1},
                {"provider": "openai", "model": "c", "input": 1, "output": "lots"},
                {"provider": "openai", "model": "d", "input": -1, "ouptut": 2},
                "not a mapping",
                {"provider": "onprem", "gpu_type": "H100"},
            ],
            discounts=[{"provider": "anthropic", "percent": 150}, {"percent": 5}],
        )
    err = info.value
    assert "prices[2].output: Input should be a valid number" in err.message
    details = "\n".join(map(str, err.details))
    for expected in (
        "prices[2].output: Input should be a valid number",
        "prices[3].input: Input should be greater than or equal to 0",
        "prices[3].ouptut: Extra inputs are not permitted",
        "prices[4]: Input should be a mapping",
        "prices[5]: a GPU price needs on_demand_hour, reserved_hour or spot_hour",
        "discounts[0]: percent must be greater than 0 and at most 100",
        "discounts[1].provider: Field required",
    ):
        assert expected in details, expected
    assert len(err.details) == 7
    assert err.to_dict()["error"]["code"] == "invalid_config"


def test_bad_dates_and_empty_entries() -> None:
    with pytest.raises(ConfigError) as info:
        load_catalog(
            prices=[
                {"provider": "openai", "model": "x", "input": 1, "effective_from": "first of may"},
                {"provider": "openai", "model": "y"},
                {
                    "provider": "openai",
                    "model": "z",
                    "input": 1,
                    "effective_from": "2026-05-01",
                    "effective_to": "2026-04-01",
                },
            ]
        )
    details = info.value.details
    assert details[0].startswith("prices[0].effective_from: Input should be a date")
    assert details[1].startswith("prices[1]: ") and "at least one" in details[1]
    assert details[2] == "prices[2]: effective_to must be after effective_from"


def test_prices_must_be_a_list() -> None:
    with pytest.raises(ConfigError, match="prices: Input should be a list"):
        load_catalog(prices={"provider": "openai"})


def test_describe_shows_all_classes_source_and_history() -> None:
    info = describe("claude-sonnet-4-5-20250929", shipped_catalog(), at=AT)
    assert info["price_id"] == "anthropic/claude-sonnet-4-5@2025-09-29"
    assert info["prices"]["on_demand"] == {
        "input": "3",
        "cached_input": "0.3",
        "cache_write_5m": "3.75",
        "cache_write_1h": "6",
        "output": "15",
    }
    assert info["prices"]["batch"]["cache_write_1h"] == "3"
    assert info["long_context"]["threshold"] == 200_000
    assert info["long_context"]["prices"]["on_demand"]["output"] == "22.5"
    assert info["web_search_per_request"] == "0.01"
    assert info["source"].startswith("https://") and info["as_of"] == "2026-11-22"
    gpt = describe("gpt-4o", shipped_catalog(), at=AT)
    assert [h["price_id"] for h in gpt["history"]] == ["openai/gpt-4o@2024-05-13", "openai/gpt-4o@2024-10-02"]
    assert gpt["history"][0]["superseded_at"].startswith("2024-10-02") and gpt["history"][1]["in_force"]


def test_describe_unknown_model_suggests_close_matches() -> None:
    with pytest.raises(NotFound) as info:
        describe("gpt-4o-mnii", shipped_catalog())
    assert "gpt-4o-mini" in info.value.details
    assert "did you mean" in info.value.message


def test_describe_reports_the_discount_in_force() -> None:
    catalog = load_catalog(discounts=[{"provider": "openai", "model": "gpt-4o*", "percent": 12.5}])
    assert describe("gpt-4o", catalog, at=AT)["discount"]["percent"] == "12.5"
    assert describe("o3", catalog, at=AT)["discount"] is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("NVIDIA H100 80GB HBM3", "H100"),
        ("NVIDIA A100-SXM4-40GB", "A100-40GB"),
        ("A100 80GB PCIe", "A100-80GB"),
        ("A100", "A100"),  # memory unknown: not guessed
        ("NVIDIA L40S", "L40S"),
        ("NVIDIA L4", "L4"),
        ("a10g", "A10G"),
    ],
)
def test_gpu_type_names(name: str, expected: str) -> None:
    assert normalize_gpu_type(name) == expected


def test_gpu_resolution_and_user_gpu_prices() -> None:
    catalog = load_catalog(
        prices=[
            {"provider": "onprem", "gpu_type": "H100", "on_demand_hour": 2.10},
            {"provider": "aws", "gpu_type": "L4", "on_demand_hour": 0.5, "effective_from": "2026-01-01"},
        ]
    )
    assert catalog.resolve_gpu("aws", "NVIDIA H100 80GB HBM3", at=AT).instance_type == "p5.48xlarge"
    assert catalog.resolve_gpu(None, None, "g6e.12xlarge", AT).gpu_count == 4
    assert catalog.resolve_gpu("aws", "A100", at=AT) is None
    onprem = catalog.resolve_gpu("onprem", "H100", at=AT)
    assert onprem.per_gpu_hour("on_demand") == Decimal("2.1") and onprem.price_id == "user:onprem/H100"
    assert catalog.resolve_gpu("aws", "L4", "g6.xlarge", AT).origin == "user"
    assert (
        catalog.resolve_gpu("aws", "L4", "g6.xlarge", datetime(2025, 12, 1, tzinfo=UTC)).origin == "shipped"
    )
    for g in shipped_catalog().gpus:
        assert g.source.startswith("https://") and "approximate" in g.note
        assert g.on_demand_hour > g.reserved_hour > g.spot_hour > 0
