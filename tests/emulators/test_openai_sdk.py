"""The official openai SDK (sync and async) parses every emulated endpoint, with the configured usage."""

from __future__ import annotations

import asyncio
import math

import openai
import pytest

from aifinops.emulators.openai_extra import embedding_vector
from tests.emulators.conftest import RunningEmulator

USER = "Summarise the quarterly cloud bill for the platform team."


@pytest.fixture
def client(emu: RunningEmulator) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=emu.openai_base_url, max_retries=0)


def _aclient(emu: RunningEmulator) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="sk-test", base_url=emu.openai_base_url, max_retries=0)


def test_chat_default_usage_follows_text_length(client: openai.OpenAI, emu: RunningEmulator) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": USER}]
    out = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    expected_prompt = math.ceil((len("Be brief.") + len(USER)) / 4)
    assert out.object == "chat.completion" and out.id.startswith("chatcmpl-")
    assert out.usage.prompt_tokens == expected_prompt
    assert out.usage.completion_tokens == 16 == len(out.choices[0].message.content.split())
    assert out.usage.total_tokens == expected_prompt + 16
    assert out.choices[0].finish_reason == "stop"
    assert out.service_tier == "default" and out.system_fingerprint
    assert emu.stats()["requests"] == {"/v1/chat/completions": 1}


def test_chat_max_tokens_caps_output_and_sets_length(client: openai.OpenAI) -> None:
    out = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": USER}],
        max_completion_tokens=5,
        service_tier="priority",
    )
    assert out.usage.completion_tokens == 5
    assert out.choices[0].message.content == "tok tok tok tok tok"
    assert out.choices[0].finish_reason == "length"
    assert out.service_tier == "priority"


def test_chat_header_overrides_fill_every_detail(client: openai.OpenAI) -> None:
    headers = {
        "x-emulator-prompt-tokens": "1200",
        "x-emulator-cached-tokens": "1000",
        "x-emulator-output-tokens": "40",
        "x-emulator-reasoning-tokens": "30",
    }
    raw = client.chat.completions.with_raw_response.create(
        model="o4-mini", messages=[{"role": "user", "content": USER}], extra_headers=headers
    )
    assert raw.headers["x-request-id"].startswith("req_")
    assert int(raw.headers["openai-processing-ms"]) >= 0
    usage = raw.parse().usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (1200, 40, 1240)
    assert usage.prompt_tokens_details.cached_tokens == 1000
    assert usage.prompt_tokens_details.audio_tokens == 0
    assert usage.completion_tokens_details.reasoning_tokens == 30
    assert usage.completion_tokens_details.accepted_prediction_tokens == 0
    assert usage.completion_tokens_details.rejected_prediction_tokens == 0
    assert len(raw.parse().choices[0].message.content.split()) == 10  # visible = output - reasoning


def test_chat_directive_in_last_user_message(client: openai.OpenAI) -> None:
    messages = [
        {"role": "user", "content": "[emulator prompt_tokens=999]"},
        {"role": "assistant", "content": "ok"},
        {
            "role": "user",
            "content": [
                {
                    "type": "text",
                    "text": "hi [emulator prompt_tokens=120 output_tokens=3 cached_tokens=100 cache_write_tokens=7]",
                }
            ],
        },
    ]
    usage = client.chat.completions.create(model="gpt-4.1", messages=messages).usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (120, 3)
    assert usage.prompt_tokens_details.cached_tokens == 100
    assert usage.prompt_tokens_details.cache_write_tokens == 7


def test_chat_stream_without_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": USER}], stream=True, max_tokens=4
        )
    )
    assert all(c.object == "chat.completion.chunk" and c.usage is None and c.choices for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == "tok tok tok tok"
    assert len(chunks) == 1 + 4 + 1  # role, one delta per token, finish
    assert chunks[-1].choices[0].finish_reason == "length"
    assert len({c.id for c in chunks}) == 1


def test_chat_stream_include_usage_final_chunk(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": USER}],
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={
            "x-emulator-output-tokens": "6",
            "x-emulator-cached-tokens": "2",
            "x-emulator-chunk-size": "4",
        },
    )
    chunks = list(stream)
    *body, last = chunks
    assert last.choices == [] and last.usage is not None
    assert all(c.usage is None for c in body)
    assert last.usage.completion_tokens == 6 and last.usage.prompt_tokens_details.cached_tokens == 2
    contents = [c.choices[0].delta.content for c in body[1:-1]]
    assert contents == ["tok tok tok tok", " tok tok"]


def test_chat_async(emu: RunningEmulator) -> None:
    async def run() -> tuple[int, int, str]:
        client = _aclient(emu)
        try:
            out = await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "x [emulator output_tokens=2]"}]
            )
            stream = await client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "x"}],
                stream=True,
                stream_options={"include_usage": True},
                extra_headers={"x-emulator-output-tokens": "3"},
            )
            chunks = [c async for c in stream]
            return (
                out.usage.completion_tokens,
                chunks[-1].usage.completion_tokens,
                out.choices[0].message.content,
            )
        finally:
            await client.close()

    assert asyncio.run(run()) == (2, 3, "tok tok")
    assert emu.stats()["requests"]["/v1/chat/completions"] == 2


def test_responses_non_stream(client: openai.OpenAI) -> None:
    out = client.responses.create(
        model="gpt-5",
        instructions="Be terse.",
        input=[{"role": "user", "content": [{"type": "input_text", "text": USER}]}],
        extra_headers={"x-emulator-cached-tokens": "3", "x-emulator-reasoning-tokens": "4"},
    )
    prompt = math.ceil((len("Be terse.") + len(USER)) / 4)
    assert out.id.startswith("resp_") and out.status == "completed"
    assert out.usage.input_tokens == prompt and out.usage.input_tokens_details.cached_tokens == 3
    assert out.usage.output_tokens == 16 and out.usage.output_tokens_details.reasoning_tokens == 4
    assert out.usage.total_tokens == prompt + 16
    assert [item.type for item in out.output] == ["reasoning", "message"]
    assert out.output_text == " ".join(["tok"] * 12)


def test_responses_max_output_tokens_is_incomplete(client: openai.OpenAI) -> None:
    out = client.responses.create(model="gpt-5", input="hello", max_output_tokens=5)
    assert out.status == "incomplete" and out.incomplete_details.reason == "max_output_tokens"
    assert out.usage.output_tokens == 5


def test_responses_stream_helper(client: openai.OpenAI) -> None:
    with client.responses.stream(
        model="gpt-5-mini", input="hi [emulator prompt_tokens=50 output_tokens=5 cached_tokens=20]"
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds.count("response.output_text.delta") == 5
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert final.output_text == "tok tok tok tok tok"
    assert (
        final.usage.input_tokens,
        final.usage.input_tokens_details.cached_tokens,
        final.usage.output_tokens,
    ) == (50, 20, 5)


def test_responses_create_stream_async(emu: RunningEmulator) -> None:
    async def run() -> tuple[str, int]:
        client = _aclient(emu)
        try:
            stream = await client.responses.create(
                model="gpt-5", input="hi", stream=True, extra_headers={"x-emulator-output-tokens": "7"}
            )
            events = [e async for e in stream]
            return events[-1].type, events[-1].response.usage.output_tokens
        finally:
            await client.close()

    assert asyncio.run(run()) == ("response.completed", 7)


def test_embeddings_base64_default_and_float(client: openai.OpenAI, emu: RunningEmulator) -> None:
    b64 = client.embeddings.create(model="text-embedding-3-small", input=["alpha beta", "gamma"])
    flt = client.embeddings.create(
        model="text-embedding-3-small", input="alpha beta", encoding_format="float", dimensions=8
    )
    assert len(b64.data) == 2 and len(b64.data[0].embedding) == 1536
    assert b64.data[1].embedding == embedding_vector(1536)  # base64 float32 decodes to the same values
    assert flt.data[0].embedding == embedding_vector(8)
    assert b64.usage.prompt_tokens == b64.usage.total_tokens == math.ceil(len("alpha betagamma") / 4)
    assert emu.stats()["requests"]["/v1/embeddings"] == 2


def test_models_list_and_retrieve(client: openai.OpenAI, emu: RunningEmulator) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids == list(emu.app.config.models)
    assert client.models.retrieve("gpt-4o").owned_by == "system"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")
