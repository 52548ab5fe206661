"""Every provider's token convention into aifinops' disjoint classes: one case per provider and shape."""

from __future__ import annotations

import pytest

from aifinops.core.normalize import (
    from_anthropic,
    from_anthropic_usage_result,
    from_openai_chat,
    from_openai_responses,
    from_openai_usage_result,
    from_otel,
    from_otel_metric,
)
from aifinops.core.usage import TokenUsage as T

CHAT_CACHED = {
    "prompt_tokens": 2006,
    "completion_tokens": 300,
    "total_tokens": 2306,
    "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}
OTEL_SPEC = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "anthropic",
    "gen_ai.usage.input_tokens": 1300,
    "gen_ai.usage.cache_read.input_tokens": 1000,
    "gen_ai.usage.cache_creation.input_tokens": 200,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.reasoning.output_tokens": 120,
}

CASES = [
    # --- OpenAI chat / completions / embeddings: prompt_tokens INCLUDES cache reads and writes
    (
        "chat_plain",
        from_openai_chat,
        {"prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163},
        T(1117, output_tokens=46),
    ),
    ("chat_cached", from_openai_chat, CHAT_CACHED, T(86, cached_input_tokens=1920, output_tokens=300)),
    (
        "chat_cache_write",
        from_openai_chat,
        {
            "prompt_tokens": 5000,
            "completion_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 1024, "cache_write_tokens": 3000},
        },
        T(976, cached_input_tokens=1024, cache_write_5m_tokens=3000, output_tokens=10),
    ),
    (
        "chat_reasoning",
        from_openai_chat,
        {
            "prompt_tokens": 75,
            "completion_tokens": 1843,
            "completion_tokens_details": {"reasoning_tokens": 1600},
        },
        T(75, output_tokens=1843, reasoning_tokens=1600),
    ),
    (
        "chat_rejected_prediction_already_in_completion",
        from_openai_chat,
        {
            "prompt_tokens": 400,
            "completion_tokens": 150,
            "completion_tokens_details": {"accepted_prediction_tokens": 20, "rejected_prediction_tokens": 30},
        },
        T(400, output_tokens=150),
    ),
    (
        "chat_null_details",
        from_openai_chat,
        {
            "prompt_tokens": 9,
            "completion_tokens": 12,
            "total_tokens": 21,
            "prompt_tokens_details": None,
            "completion_tokens_details": None,
        },
        T(9, output_tokens=12),
    ),
    ("embeddings", from_openai_chat, {"prompt_tokens": 8, "total_tokens": 8}, T(8)),
    ("chat_none", from_openai_chat, None, T()),
    # --- OpenAI Responses API
    (
        "responses_plain",
        from_openai_responses,
        {
            "input_tokens": 36,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 87,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 123,
        },
        T(36, output_tokens=87),
    ),
    (
        "responses_cached_reasoning_write",
        from_openai_responses,
        {
            "input_tokens": 3124,
            "input_tokens_details": {"cached_tokens": 2944, "cache_write_tokens": 100},
            "output_tokens": 1250,
            "output_tokens_details": {"reasoning_tokens": 1088},
        },
        T(80, cached_input_tokens=2944, cache_write_5m_tokens=100, output_tokens=1250, reasoning_tokens=1088),
    ),
    # --- OpenAI Organization Usage API
    (
        "usage_api_reference_row",
        from_openai_usage_result,
        {
            "object": "organization.usage.completions.result",
            "input_tokens": 1000,
            "output_tokens": 500,
            "num_model_requests": 5,
            "input_cached_tokens": 800,
            "input_uncached_tokens": 200,
            "input_cache_write_tokens": 0,
            "project_id": "proj_abc",
            "user_id": None,
            "api_key_id": None,
            "model": "gpt-4o-mini-2024-07-18",
            "batch": False,
            "service_tier": None,
        },
        T(200, cached_input_tokens=800, output_tokens=500),
    ),
    (
        "usage_api_no_uncached_field",
        from_openai_usage_result,
        {
            "object": "organization.usage.completions.result",
            "input_tokens": 1000,
            "output_tokens": 40,
            "input_cached_tokens": 600,
            "input_cache_write_tokens": 100,
        },
        T(300, cached_input_tokens=600, cache_write_5m_tokens=100, output_tokens=40),
    ),
    (
        "usage_api_uncached_preferred",
        from_openai_usage_result,
        {"input_tokens": 1200, "input_cached_tokens": 800, "input_uncached_tokens": 250, "output_tokens": 1},
        T(250, cached_input_tokens=800, output_tokens=1),
    ),
    (
        "usage_api_embeddings",
        from_openai_usage_result,
        {
            "object": "organization.usage.embeddings.result",
            "input_tokens": 16,
            "num_model_requests": 2,
            "project_id": None,
            "user_id": None,
            "api_key_id": None,
            "model": None,
        },
        T(16),
    ),
    # --- Anthropic Messages: input_tokens EXCLUDES cache
    (
        "anthropic_plain",
        from_anthropic,
        {"input_tokens": 2095, "output_tokens": 503},
        T(2095, output_tokens=503),
    ),
    (
        "anthropic_cache_no_split_is_5m",
        from_anthropic,
        {
            "input_tokens": 50,
            "cache_creation_input_tokens": 1200,
            "cache_read_input_tokens": 8000,
            "output_tokens": 300,
            "service_tier": "standard",
        },
        T(50, cached_input_tokens=8000, cache_write_5m_tokens=1200, output_tokens=300),
    ),
    (
        "anthropic_ttl_split",
        from_anthropic,
        {
            "input_tokens": 12,
            "cache_creation_input_tokens": 3000,
            "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
            "output_tokens": 90,
        },
        T(12, cache_write_5m_tokens=1000, cache_write_1h_tokens=2000, output_tokens=90),
    ),
    (
        "anthropic_short_split_remainder_is_5m",
        from_anthropic,
        {
            "input_tokens": 12,
            "cache_creation_input_tokens": 3000,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 2000},
            "output_tokens": 90,
        },
        T(12, cache_write_5m_tokens=1000, cache_write_1h_tokens=2000, output_tokens=90),
    ),
    (
        "anthropic_thinking_web_search",
        from_anthropic,
        {
            "input_tokens": 410,
            "output_tokens": 4000,
            "output_tokens_details": {"thinking_tokens": 3100},
            "server_tool_use": {"web_search_requests": 3, "web_fetch_requests": 1},
        },
        T(410, output_tokens=4000, reasoning_tokens=3100, web_search_requests=3),
    ),
    (
        "anthropic_message_delta_usage",
        from_anthropic,
        {
            "input_tokens": None,
            "cache_creation_input_tokens": None,
            "cache_read_input_tokens": None,
            "output_tokens": 512,
            "server_tool_use": None,
        },
        T(output_tokens=512),
    ),
    ("anthropic_none", from_anthropic, None, T()),
    # --- Anthropic Admin usage report
    (
        "anthropic_admin_reference_row",
        from_anthropic_usage_result,
        {
            "uncached_input_tokens": 1500,
            "cache_creation": {"ephemeral_1h_input_tokens": 1000, "ephemeral_5m_input_tokens": 500},
            "cache_read_input_tokens": 200,
            "output_tokens": 500,
            "server_tool_use": {"web_search_requests": 10},
            "api_key_id": "apikey_01",
            "workspace_id": "wrkspc_01",
            "model": "claude-sonnet-4-5",
            "service_tier": "standard",
            "context_window": "0-200k",
        },
        T(
            1500,
            cached_input_tokens=200,
            cache_write_5m_tokens=500,
            cache_write_1h_tokens=1000,
            output_tokens=500,
            web_search_requests=10,
        ),
    ),
    # --- OpenTelemetry GenAI attributes: input INCLUDES cache per spec
    (
        "otel_spec",
        from_otel,
        OTEL_SPEC,
        T(100, cached_input_tokens=1000, cache_write_5m_tokens=200, output_tokens=300, reasoning_tokens=120),
    ),
    (
        "otel_old_names",
        from_otel,
        {"gen_ai.system": "openai", "gen_ai.usage.prompt_tokens": 100, "gen_ai.usage.completion_tokens": 20},
        T(100, output_tokens=20),
    ),
    (
        "otel_new_names_win",
        from_otel,
        {
            "gen_ai.usage.input_tokens": 70,
            "gen_ai.usage.prompt_tokens": 999,
            "gen_ai.usage.output_tokens": 5,
            "gen_ai.usage.completion_tokens": 999,
        },
        T(70, output_tokens=5),
    ),
    (
        "otel_string_values",
        from_otel,
        {
            "gen_ai.usage.input_tokens": "1300",
            "gen_ai.usage.cache_read.input_tokens": " 1000 ",
            "gen_ai.usage.output_tokens": "300",
        },
        T(300, cached_input_tokens=1000, output_tokens=300),
    ),
    (
        "otel_trap_input_excludes_cache",
        from_otel,
        {
            "gen_ai.usage.input_tokens": 50,
            "gen_ai.usage.cache_read.input_tokens": 1000,
            "gen_ai.usage.cache_creation.input_tokens": 200,
            "gen_ai.usage.output_tokens": 10,
        },
        T(50, cached_input_tokens=1000, cache_write_5m_tokens=200, output_tokens=10),
    ),
    (
        "otel_trap_output_excludes_reasoning",
        from_otel,
        {
            "gen_ai.usage.input_tokens": 10,
            "gen_ai.usage.output_tokens": 40,
            "gen_ai.usage.reasoning.output_tokens": 900,
        },
        T(10, output_tokens=940, reasoning_tokens=900),
    ),
    ("otel_no_usage", from_otel, {"gen_ai.operation.name": "execute_tool"}, T()),
]


@pytest.mark.parametrize(("fn", "payload", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_normalize(fn, payload, expected):
    assert fn(payload) == expected


@pytest.mark.parametrize(
    ("fn", "payload", "total_input", "total"),
    [
        (from_openai_chat, CHAT_CACHED, 2006, 2306),
        (
            from_openai_responses,
            {"input_tokens": 3124, "input_tokens_details": {"cached_tokens": 2944}, "output_tokens": 1250},
            3124,
            4374,
        ),
        (
            from_anthropic,
            {
                "input_tokens": 50,
                "cache_creation_input_tokens": 1200,
                "cache_read_input_tokens": 8000,
                "output_tokens": 300,
            },
            9250,
            9550,
        ),
        (from_otel, OTEL_SPEC, 1300, 1600),
    ],
    ids=["openai_chat", "openai_responses", "anthropic", "otel"],
)
def test_nothing_counted_twice(fn, payload, total_input, total):
    """The disjoint classes add back up to what the provider processed."""
    usage = fn(payload)
    assert usage.total_input == total_input
    assert usage.total == total


def test_accepts_integral_floats_and_sdk_models():
    class Model:  # quacks like an openai/anthropic SDK (pydantic) object
        def model_dump(self):
            return {"input_tokens": 7, "output_tokens": 3}

    assert from_openai_chat({"prompt_tokens": 12.0, "completion_tokens": 4}) == T(12, output_tokens=4)
    assert from_anthropic(Model()) == T(7, output_tokens=3)


ERRORS = [
    (
        "cached_exceeds_prompt",
        from_openai_chat,
        {"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 128}},
        ["prompt_tokens_details.cached_tokens", "prompt_tokens"],
    ),
    (
        "responses_cached_exceeds_input",
        from_openai_responses,
        {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 8, "cache_write_tokens": 5}},
        ["input_tokens_details.cached_tokens", "input_tokens"],
    ),
    (
        "usage_api_cached_exceeds_input",
        from_openai_usage_result,
        {"input_tokens": 10, "input_cached_tokens": 11},
        ["input_cached_tokens", "input_tokens"],
    ),
    ("negative", from_openai_chat, {"prompt_tokens": -1}, ["prompt_tokens"]),
    ("fractional", from_openai_chat, {"prompt_tokens": 3, "completion_tokens": 1.5}, ["completion_tokens"]),
    ("boolean", from_anthropic, {"input_tokens": True}, ["input_tokens"]),
    ("garbage_string", from_otel, {"gen_ai.usage.input_tokens": "lots"}, ["gen_ai.usage.input_tokens"]),
    ("fractional_string", from_otel, {"gen_ai.usage.output_tokens": "12.5"}, ["gen_ai.usage.output_tokens"]),
    (
        "details_not_object",
        from_openai_chat,
        {"prompt_tokens": 3, "prompt_tokens_details": 5},
        ["prompt_tokens_details"],
    ),
    (
        "split_exceeds_total",
        from_anthropic,
        {"cache_creation_input_tokens": 100, "cache_creation": {"ephemeral_1h_input_tokens": 150}},
        ["ephemeral_1h_input_tokens", "cache_creation_input_tokens"],
    ),
    (
        "thinking_exceeds_output",
        from_anthropic,
        {"output_tokens": 10, "output_tokens_details": {"thinking_tokens": 11}},
        ["thinking_tokens", "output_tokens"],
    ),
    (
        "usage_api_images",
        from_openai_usage_result,
        {"object": "organization.usage.images.result", "images": 4},
        ["images.result"],
    ),
    (
        "negative_admin",
        from_anthropic_usage_result,
        {"cache_read_input_tokens": -5},
        ["cache_read_input_tokens"],
    ),
]


@pytest.mark.parametrize(("fn", "payload", "names"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_bad_counts_raise_naming_the_field(fn, payload, names):
    with pytest.raises(ValueError) as info:
        fn(payload)
    for name in names:
        assert name in str(info.value)


@pytest.mark.parametrize(
    ("attributes", "value", "expected"),
    [
        ({"gen_ai.token.type": "input"}, 640, T(640)),
        ({"gen_ai.token.type": "output"}, "85", T(output_tokens=85)),
        ({"gen_ai.token.type": "completion"}, 85, T(output_tokens=85)),
        ({"gen_ai.token.type": "input", "gen_ai.token.cache": "read"}, 512, T(cached_input_tokens=512)),
        ({"gen_ai.token.type": "input", "gen_ai.token.cache": "creation"}, 64, T(cache_write_5m_tokens=64)),
        (
            {"gen_ai.token.type": "output", "gen_ai.token.phase": "reasoning"},
            30,
            T(output_tokens=30, reasoning_tokens=30),
        ),
    ],
)
def test_otel_metric_points(attributes, value, expected):
    assert from_otel_metric(attributes, value) == expected


def test_otel_metric_unknown_type():
    with pytest.raises(ValueError, match="gen_ai.token.type"):
        from_otel_metric({"gen_ai.token.type": "image"}, 1)
