"""Batch output lines (OpenAI Batch, Anthropic Message Batches) and service tier -> pricing mode."""

from __future__ import annotations

import pytest

from aifinops.core.normalize import (
    from_anthropic_batch_line,
    from_openai_batch_line,
    is_known_service_tier,
    pricing_mode,
)
from aifinops.core.usage import TokenUsage as T

CHAT_BODY = {
    "id": "chatcmpl-AbC123",
    "object": "chat.completion",
    "created": 1711652795,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello."},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 1600,
        "completion_tokens": 9,
        "total_tokens": 1609,
        "prompt_tokens_details": {"cached_tokens": 1536},
    },
    "service_tier": "default",
    "system_fingerprint": "fp_3bc1b5746c",
}
RESPONSE_BODY = {
    "id": "resp_67ccd2bed1ec",
    "object": "response",
    "status": "completed",
    "model": "o4-mini-2025-04-16",
    "usage": {
        "input_tokens": 36,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 900,
        "output_tokens_details": {"reasoning_tokens": 768},
        "total_tokens": 936,
    },
}
EMBEDDING_BODY = {
    "object": "list",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.0023]}],
    "model": "text-embedding-3-small",
    "usage": {"prompt_tokens": 8, "total_tokens": 8},
}


def _openai_line(body, status=200, error=None):
    response = None if body is None else {"status_code": status, "request_id": "req_c187b3", "body": body}
    return {"id": "batch_req_wnaDys", "custom_id": "request-2", "response": response, "error": error}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            _openai_line(CHAT_BODY),
            (T(64, cached_input_tokens=1536, output_tokens=9), "gpt-4o-mini-2024-07-18"),
        ),
        (_openai_line(RESPONSE_BODY), (T(36, output_tokens=900, reasoning_tokens=768), "o4-mini-2025-04-16")),
        (_openai_line(EMBEDDING_BODY), (T(8), "text-embedding-3-small")),
        (
            _openai_line(
                None,
                error={
                    "code": "batch_expired",
                    "message": "This request could not be executed before the completion window expired.",
                },
            ),
            None,
        ),
        (
            _openai_line(
                {"error": {"message": "Invalid model", "type": "invalid_request_error"}}, status=400
            ),
            None,
        ),
    ],
    ids=["chat", "responses", "embeddings", "expired", "http_400"],
)
def test_openai_batch_line(line, expected):
    assert from_openai_batch_line(line) == expected


def test_openai_batch_line_success_without_body_is_an_error():
    with pytest.raises(ValueError, match="body"):
        from_openai_batch_line(
            {"id": "batch_req_1", "custom_id": "r", "response": {"status_code": 200}, "error": None}
        )


ANTHROPIC_MESSAGE = {
    "id": "msg_014VwiXbi91y3JMjcpyGBHX5",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [{"type": "text", "text": "Hello again!"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 11,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 2048,
        "output_tokens": 36,
        "service_tier": "batch",
    },
}


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (
            {"type": "succeeded", "message": ANTHROPIC_MESSAGE},
            (T(11, cached_input_tokens=2048, output_tokens=36), "claude-sonnet-4-5-20250929"),
        ),
        (
            {
                "type": "errored",
                "error": {
                    "type": "error",
                    "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
                },
            },
            None,
        ),
        ({"type": "canceled"}, None),
        ({"type": "expired"}, None),
    ],
    ids=["succeeded", "errored", "canceled", "expired"],
)
def test_anthropic_batch_line(result, expected):
    assert from_anthropic_batch_line({"custom_id": "my-second-request", "result": result}) == expected


@pytest.mark.parametrize(
    ("provider", "tier", "batch", "mode"),
    [
        ("openai", None, False, "on_demand"),
        ("openai", "default", False, "on_demand"),
        ("openai", "auto", False, "on_demand"),
        ("openai", "flex", False, "flex"),
        ("openai", "priority", False, "priority"),
        ("openai", "scale", False, "provisioned"),
        ("openai", "default", True, "batch"),
        ("anthropic", "standard", False, "on_demand"),
        ("anthropic", "priority", False, "priority"),
        ("anthropic", "batch", False, "batch"),
        ("Anthropic", "Priority", False, "priority"),
        ("openai", "turbo-2099", False, "on_demand"),
        ("anthropic", "flex", False, "on_demand"),
    ],
)
def test_pricing_mode(provider, tier, batch, mode):
    assert pricing_mode(provider, tier, batch=batch) == mode


def test_unknown_tier_stays_visible():
    assert is_known_service_tier("openai", "flex")
    assert is_known_service_tier("anthropic", None)
    assert not is_known_service_tier("openai", "turbo-2099")
    assert not is_known_service_tier("anthropic", "flex")
