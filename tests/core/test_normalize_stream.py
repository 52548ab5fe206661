"""Streaming usage accumulators: complete streams, cut-off streams, one per provider and stream mode."""

from __future__ import annotations

import pytest

from aifinops.core import normalize
from aifinops.core.normalize_stream import AnthropicStream, OpenAIChatStream, OpenAIResponsesStream
from aifinops.core.usage import TokenUsage as T

MODEL = "gpt-4o-2024-08-06"


def _chat_chunk(choices, usage=None):
    return {
        "id": "chatcmpl-9z8Yx",
        "object": "chat.completion.chunk",
        "created": 1727000000,
        "model": MODEL,
        "service_tier": "default",
        "system_fingerprint": "fp_7568d46099",
        "choices": choices,
        "usage": usage,
    }


CHAT_CHUNKS = [
    _chat_chunk(
        [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": "", "refusal": None},
                "logprobs": None,
                "finish_reason": None,
            }
        ]
    ),
    _chat_chunk([{"index": 0, "delta": {"content": "Hello"}, "logprobs": None, "finish_reason": None}]),
    _chat_chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]),
    _chat_chunk(
        [],
        {
            "prompt_tokens": 1250,
            "completion_tokens": 420,
            "total_tokens": 1670,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 256,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
    ),
]


def _feed(stream, events):
    for event in events:
        stream.feed(event)
    return stream


def test_openai_chat_stream():
    stream = _feed(OpenAIChatStream(), CHAT_CHUNKS)
    assert stream.usage == T(226, cached_input_tokens=1024, output_tokens=420, reasoning_tokens=256)
    assert (stream.model, stream.service_tier, stream.complete) == (MODEL, "default", True)


def test_openai_chat_stream_cut_off_before_usage():
    stream = _feed(OpenAIChatStream(), CHAT_CHUNKS[:2])
    assert stream.usage is None
    assert stream.model == MODEL
    assert not stream.complete


def test_openai_chat_stream_running_usage_on_every_chunk():
    """OpenAI-compatible servers may send running usage on each chunk: the last one wins."""
    first = _chat_chunk(
        [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}],
        {"prompt_tokens": 20, "completion_tokens": 1, "total_tokens": 21},
    )
    last = _chat_chunk([], {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29})
    stream = OpenAIChatStream()
    stream.feed(first)
    assert stream.usage == T(20, output_tokens=1)
    assert not stream.complete
    stream.feed(last)
    assert stream.usage == T(20, output_tokens=9)
    assert stream.complete


def _response(status, usage=None):
    return {
        "id": "resp_68af4030592c",
        "object": "response",
        "created_at": 1756315696,
        "status": status,
        "model": "o4-mini-2025-04-16",
        "service_tier": "flex",
        "usage": usage,
    }


RESPONSES_USAGE = {
    "input_tokens": 5200,
    "input_tokens_details": {"cached_tokens": 4096},
    "output_tokens": 1400,
    "output_tokens_details": {"reasoning_tokens": 1152},
    "total_tokens": 6600,
}
RESPONSES_EVENTS = [
    {"type": "response.created", "sequence_number": 0, "response": _response("in_progress")},
    {"type": "response.in_progress", "sequence_number": 1, "response": _response("in_progress")},
    {
        "type": "response.output_text.delta",
        "sequence_number": 4,
        "item_id": "msg_1",
        "output_index": 1,
        "content_index": 0,
        "delta": "Hi",
    },
    {"type": "response.completed", "sequence_number": 9, "response": _response("completed", RESPONSES_USAGE)},
]


def test_openai_responses_stream():
    stream = _feed(OpenAIResponsesStream(), RESPONSES_EVENTS)
    assert stream.usage == T(1104, cached_input_tokens=4096, output_tokens=1400, reasoning_tokens=1152)
    assert (stream.model, stream.service_tier, stream.status) == ("o4-mini-2025-04-16", "flex", "completed")
    assert stream.complete


def test_openai_responses_stream_cut_off():
    stream = _feed(OpenAIResponsesStream(), RESPONSES_EVENTS[:3])
    assert stream.usage is None
    assert stream.model == "o4-mini-2025-04-16"
    assert not stream.complete


@pytest.mark.parametrize(
    ("kind", "usage", "expected"),
    [
        (
            "response.incomplete",
            {"input_tokens": 300, "output_tokens": 4096, "output_tokens_details": {"reasoning_tokens": 4096}},
            T(300, output_tokens=4096, reasoning_tokens=4096),
        ),
        ("response.failed", None, None),
    ],
)
def test_openai_responses_stream_other_terminal_events(kind, usage, expected):
    status = kind.removeprefix("response.")
    stream = _feed(
        OpenAIResponsesStream(),
        [*RESPONSES_EVENTS[:3], {"type": kind, "sequence_number": 7, "response": _response(status, usage)}],
    )
    assert stream.usage == expected
    assert stream.complete
    assert stream.status == status


ANTHROPIC_START = {
    "type": "message_start",
    "message": {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": "claude-opus-4-1-20250805",
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 472,
            "cache_creation_input_tokens": 2000,
            "cache_read_input_tokens": 15000,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 2000},
            "output_tokens": 2,
            "service_tier": "standard",
        },
    },
}
ANTHROPIC_CONTENT = [
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
    {"type": "content_block_stop", "index": 0},
]
ANTHROPIC_DELTA = {
    "type": "message_delta",
    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
    "usage": {"output_tokens": 815},
}
ANTHROPIC_EVENTS = [ANTHROPIC_START, *ANTHROPIC_CONTENT, ANTHROPIC_DELTA, {"type": "message_stop"}]
START_ONLY = T(472, cached_input_tokens=15000, cache_write_1h_tokens=2000, output_tokens=2)


def test_anthropic_stream():
    stream = _feed(AnthropicStream(), ANTHROPIC_EVENTS)
    assert stream.usage == T(472, cached_input_tokens=15000, cache_write_1h_tokens=2000, output_tokens=815)
    assert (stream.model, stream.service_tier, stream.stop_reason) == (
        "claude-opus-4-1-20250805",
        "standard",
        "end_turn",
    )
    assert stream.complete


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([ANTHROPIC_START, *ANTHROPIC_CONTENT[:3]], START_ONLY),
        (
            [ANTHROPIC_START, *ANTHROPIC_CONTENT, ANTHROPIC_DELTA],
            T(472, cached_input_tokens=15000, cache_write_1h_tokens=2000, output_tokens=815),
        ),
    ],
    ids=["after_message_start", "after_message_delta"],
)
def test_anthropic_stream_cut_off(events, expected):
    stream = _feed(AnthropicStream(), events)
    assert stream.usage == expected
    assert stream.model == "claude-opus-4-1-20250805"
    assert not stream.complete


def test_anthropic_cumulative_deltas_latest_field_wins():
    """Server-tool loops send cumulative input/cache counts in deltas; nulls do not erase message_start."""
    tool_delta = {
        "type": "message_delta",
        "delta": {"stop_reason": None},
        "usage": {
            "input_tokens": 9000,
            "cache_read_input_tokens": None,
            "output_tokens": 300,
            "server_tool_use": {"web_search_requests": 2},
        },
    }
    final_delta = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn"},
        "usage": {"output_tokens": 1200},
    }
    stream = _feed(AnthropicStream(), [ANTHROPIC_START, tool_delta, final_delta, {"type": "message_stop"}])
    assert stream.usage == T(
        9000, cached_input_tokens=15000, cache_write_1h_tokens=2000, output_tokens=1200, web_search_requests=2
    )


def test_stream_classes_reexported_from_normalize():
    assert normalize.AnthropicStream is AnthropicStream
    assert normalize.OpenAIChatStream is OpenAIChatStream
    assert normalize.OpenAIResponsesStream is OpenAIResponsesStream
    with pytest.raises(AttributeError):
        normalize.NoSuchStream  # noqa: B018
