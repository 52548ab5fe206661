"""The official anthropic SDK (sync and async) parses emulated Messages, streamed or not, with the configured usage."""

from __future__ import annotations

import asyncio
import math

import anthropic
import pytest

from tests.emulators.conftest import RunningEmulator

USER = "Which team spent the most on embeddings last week?"
CACHE_HEADERS = {
    "x-emulator-prompt-tokens": "5000",
    "x-emulator-cached-tokens": "3000",
    "x-emulator-cache-write-tokens": "1200",
    "x-emulator-cache-write-1h-tokens": "300",
    "x-emulator-output-tokens": "9",
}


@pytest.fixture
def client(emu: RunningEmulator) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="sk-ant-test", base_url=emu.anthropic_base_url, max_retries=0)


def test_message_default_usage(client: anthropic.Anthropic, emu: RunningEmulator) -> None:
    msg = client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=100,
        system="You are a FinOps bot.",
        messages=[{"role": "user", "content": USER}],
    )
    assert msg.id.startswith("msg_01") and msg.type == "message" and msg.role == "assistant"
    assert msg.content[0].type == "text" and msg.content[0].text == " ".join(["tok"] * 16)
    assert msg.stop_reason == "end_turn" and msg.stop_sequence is None
    assert msg.usage.input_tokens == math.ceil((len("You are a FinOps bot.") + len(USER)) / 4)
    assert msg.usage.output_tokens == 16
    assert msg.usage.cache_read_input_tokens == 0 and msg.usage.cache_creation_input_tokens == 0
    assert msg.usage.service_tier == "standard"
    assert msg.usage.server_tool_use.web_search_requests == 0
    assert emu.stats()["requests"] == {"/v1/messages": 1}


def test_message_cache_usage_is_split(client: anthropic.Anthropic) -> None:
    raw = client.messages.with_raw_response.create(
        model="claude-sonnet-4-6",
        max_tokens=50,
        messages=[{"role": "user", "content": USER}],
        extra_headers=CACHE_HEADERS,
    )
    assert raw.headers["request-id"].startswith("req_")
    usage = raw.parse().usage
    assert usage.input_tokens == 5000 - 3000 - 1200 - 300  # uncached only
    assert usage.cache_read_input_tokens == 3000
    assert usage.cache_creation_input_tokens == 1500
    assert usage.cache_creation.ephemeral_5m_input_tokens == 1200
    assert usage.cache_creation.ephemeral_1h_input_tokens == 300
    assert usage.output_tokens == 9


def test_message_max_tokens_and_directive(client: anthropic.Anthropic) -> None:
    blocks = [{"type": "text", "text": "look [emulator prompt_tokens=80 cached_tokens=30]"}]
    msg = client.messages.create(
        model="claude-haiku-4-5", max_tokens=4, messages=[{"role": "user", "content": blocks}]
    )
    assert msg.stop_reason == "max_tokens" and msg.usage.output_tokens == 4
    assert (msg.usage.input_tokens, msg.usage.cache_read_input_tokens) == (50, 30)


def test_stream_final_message_usage(client: anthropic.Anthropic, emu: RunningEmulator) -> None:
    with client.messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=64,
        messages=[{"role": "user", "content": USER}],
        extra_headers=CACHE_HEADERS,
    ) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert texts == ["tok"] + [" tok"] * 8
    assert final.usage.output_tokens == 9  # cumulative, from message_delta
    assert final.usage.input_tokens == 500
    assert final.usage.cache_read_input_tokens == 3000 and final.usage.cache_creation_input_tokens == 1500
    assert final.usage.cache_creation.ephemeral_1h_input_tokens == 300
    assert final.stop_reason == "end_turn" and final.content[0].text == "tok" + " tok" * 8
    assert emu.stats()["streams"] == 1


def test_raw_stream_events(client: anthropic.Anthropic) -> None:
    events = list(
        client.messages.create(
            model="claude-haiku-4-5", max_tokens=2, stream=True, messages=[{"role": "user", "content": "hi"}]
        )
    )
    kinds = [e.type for e in events]  # the SDK drops ping
    assert kinds == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[0].message.usage.output_tokens == 1 and events[0].message.usage.input_tokens == 1
    assert events[5].usage.output_tokens == 2 and events[5].delta.stop_reason == "max_tokens"


def test_async_create_and_stream(emu: RunningEmulator) -> None:
    async def run() -> tuple[int, int, int]:
        client = anthropic.AsyncAnthropic(api_key="k", base_url=emu.anthropic_base_url, max_retries=0)
        try:
            msg = await client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=10,
                messages=[{"role": "user", "content": "a [emulator output_tokens=3]"}],
            )
            async with client.messages.stream(
                model="claude-haiku-4-5",
                max_tokens=10,
                messages=[{"role": "user", "content": "b"}],
                extra_headers={"x-emulator-output-tokens": "5", "x-emulator-cached-tokens": "4"},
            ) as stream:
                final = await stream.get_final_message()
            return msg.usage.output_tokens, final.usage.output_tokens, final.usage.cache_read_input_tokens
        finally:
            await client.close()

    assert asyncio.run(run()) == (3, 5, 4)


def test_count_tokens_and_models(client: anthropic.Anthropic) -> None:
    counted = client.messages.count_tokens(
        model="claude-haiku-4-5", messages=[{"role": "user", "content": USER}]
    )
    assert counted.input_tokens == math.ceil(len(USER) / 4)
    ids = [m.id for m in client.models.list()]
    assert ids and all(i.startswith("claude") for i in ids)
    assert client.models.retrieve("claude-haiku-4-5").type == "model"
