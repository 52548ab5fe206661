"""The official SDKs through the gateway, in every mode: exact token classes and exact costs.

Expected costs are computed here from the providers' published list prices (USD per 1M tokens):
gpt-4o 2.50 input / 1.25 cached / 10.00 output; claude-sonnet-4-6 3.00 input / 0.30 cache read /
3.75 5-minute write / 6.00 1-hour write / 15.00 output.
"""

from __future__ import annotations

from decimal import Decimal

import anthropic
import openai
import pytest

from tests.gateway.conftest import RunningGateway

M = Decimal(1_000_000)
GPT4O = {"input": Decimal("2.50"), "cached": Decimal("1.25"), "output": Decimal("10")}
SONNET = {
    "input": Decimal("3"),
    "read": Decimal("0.30"),
    "w5m": Decimal("3.75"),
    "w1h": Decimal("6"),
    "output": Decimal("15"),
}
OPENAI_DIRECTIVE = "[emulator prompt_tokens=1200 cached_tokens=1000 output_tokens=60 reasoning_tokens=20]"
OPENAI_COST = (200 * GPT4O["input"] + 1000 * GPT4O["cached"] + 60 * GPT4O["output"]) / M
ANTHROPIC_DIRECTIVE = "[emulator prompt_tokens=5000 cached_tokens=3000 cache_write_tokens=800 cache_write_1h_tokens=200 output_tokens=70]"
ANTHROPIC_COST = (
    1000 * SONNET["input"]
    + 3000 * SONNET["read"]
    + 800 * SONNET["w5m"]
    + 200 * SONNET["w1h"]
    + 70 * SONNET["output"]
) / M


def _openai(gw: RunningGateway, **kw) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.openai_base_url, api_key="sk-client", max_retries=0, **kw)


def _check_openai_record(rec, *, operation: str = "chat") -> None:
    assert (rec.input_tokens, rec.cached_input_tokens, rec.output_tokens, rec.reasoning_tokens) == (
        200,
        1000,
        60,
        20,
    )
    assert rec.effective_cost == OPENAI_COST and rec.list_cost == OPENAI_COST
    assert rec.cost_status == "priced" and rec.status == "ok" and rec.operation == operation
    assert rec.provider == "openai" and rec.model == "gpt-4o" and rec.source == "gateway"


def _check_anthropic_record(rec) -> None:
    got = (
        rec.input_tokens,
        rec.cached_input_tokens,
        rec.cache_write_5m_tokens,
        rec.cache_write_1h_tokens,
        rec.output_tokens,
    )
    assert got == (1000, 3000, 800, 200, 70)
    assert rec.effective_cost == ANTHROPIC_COST and rec.status == "ok" and rec.provider == "anthropic"


def test_openai_chat_sync(gw: RunningGateway) -> None:
    reply = _openai(gw).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": OPENAI_DIRECTIVE}]
    )
    assert reply.usage.prompt_tokens == 1200  # the client sees the provider's own usage, untouched
    (rec,) = gw.wait_records(1)
    _check_openai_record(rec)


@pytest.mark.parametrize("include_usage", [False, True])
def test_openai_chat_stream_usage_is_injected_and_stripped(gw: RunningGateway, include_usage: bool) -> None:
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    chunks = list(
        _openai(gw).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": OPENAI_DIRECTIVE}], stream=True, **options
        )
    )
    with_usage = [c for c in chunks if c.usage is not None]
    assert len(with_usage) == (1 if include_usage else 0)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip()
    (rec,) = gw.wait_records(1)
    _check_openai_record(rec)


async def _async_openai(gw: RunningGateway) -> None:
    client = openai.AsyncOpenAI(base_url=gw.openai_base_url, api_key="sk-client", max_retries=0)
    await client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": OPENAI_DIRECTIVE}]
    )
    stream = await client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": OPENAI_DIRECTIVE}], stream=True
    )
    async for _ in stream:
        pass
    await client.close()


def test_openai_async_modes(gw: RunningGateway) -> None:
    import asyncio

    asyncio.run(_async_openai(gw))
    for rec in gw.wait_records(2):
        _check_openai_record(rec)


def test_openai_responses_sync_and_stream(gw: RunningGateway) -> None:
    client = _openai(gw)
    client.responses.create(model="gpt-4o", input=OPENAI_DIRECTIVE)
    with client.responses.stream(model="gpt-4o", input=OPENAI_DIRECTIVE) as stream:
        final = stream.get_final_response()
    assert final.usage.output_tokens == 60
    recs = gw.wait_records(2)
    assert len(recs) == 2
    for rec in recs:
        _check_openai_record(rec, operation="responses")


def test_openai_embeddings_and_models(gw: RunningGateway) -> None:
    client = _openai(gw)
    emb = client.embeddings.create(model="text-embedding-3-small", input="hello world")
    assert len(emb.data[0].embedding) > 0
    (rec,) = gw.wait_records(1)
    assert rec.category == "embedding" and rec.input_tokens == emb.usage.prompt_tokens
    assert rec.effective_cost == Decimal(emb.usage.prompt_tokens) * Decimal("0.02") / M
    ids = {m.id for m in client.models.list()}
    assert {"gpt-4o", "claude-sonnet-4-6"} <= ids


def test_anthropic_sync_and_stream(gw: RunningGateway) -> None:
    client = anthropic.Anthropic(base_url=gw.url, api_key="sk-ant-client", max_retries=0)
    msg = client.messages.create(
        model="claude-sonnet-4-6", max_tokens=200, messages=[{"role": "user", "content": ANTHROPIC_DIRECTIVE}]
    )
    assert msg.usage.input_tokens == 1000
    with client.messages.stream(
        model="claude-sonnet-4-6", max_tokens=200, messages=[{"role": "user", "content": ANTHROPIC_DIRECTIVE}]
    ) as stream:
        final = stream.get_final_message()
    assert final.usage.output_tokens == 70
    recs = gw.wait_records(2)
    assert len(recs) == 2
    for rec in recs:
        _check_anthropic_record(rec)


def test_anthropic_async_stream(gw: RunningGateway) -> None:
    import asyncio

    async def go() -> None:
        client = anthropic.AsyncAnthropic(base_url=gw.url, api_key="sk-ant-client", max_retries=0)
        async with client.messages.stream(
            model="claude-sonnet-4-6",
            max_tokens=200,
            messages=[{"role": "user", "content": ANTHROPIC_DIRECTIVE}],
        ) as stream:
            await stream.get_final_message()
        await client.close()

    asyncio.run(go())
    (rec,) = gw.wait_records(1)
    _check_anthropic_record(rec)


def test_cut_off_stream_is_recorded_with_estimated_usage(gw: RunningGateway) -> None:
    with pytest.raises(openai.APIError):
        for _ in _openai(gw).chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "hi [emulator output_tokens=40 cut_after=5]"}],
            stream=True,
        ):
            pass
    (rec,) = gw.wait_records(1)
    assert rec.status == "cut_off" and rec.tags["usage_estimated"] == "true"
    assert rec.output_tokens >= 1 and rec.effective_cost > 0  # never $0


def test_anthropic_cut_off_keeps_the_usage_known_so_far(gw: RunningGateway) -> None:
    client = anthropic.Anthropic(base_url=gw.url, api_key="sk-ant-client", max_retries=0)
    # the SDK surfaces a cut stream as its HTTP library's protocol error, exactly as with the provider itself
    with pytest.raises(Exception, match="incomplete|peer closed|closed"):  # noqa: PT011, PT012
        with client.messages.stream(
            model="claude-sonnet-4-6",
            max_tokens=100,
            messages=[
                {"role": "user", "content": "x [emulator prompt_tokens=900 output_tokens=50 cut_after=6]"}
            ],
        ) as stream:
            for _ in stream:
                pass
    (rec,) = gw.wait_records(1)
    assert rec.status == "cut_off" and rec.input_tokens == 900 and "usage_estimated" not in rec.tags


def test_upstream_error_is_recorded_at_zero_cost(gw: RunningGateway) -> None:
    with pytest.raises(openai.RateLimitError):
        _openai(gw).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "[emulator status=429]"}]
        )
    (rec,) = gw.wait_records(1)
    assert (
        rec.status == "error" and rec.effective_cost == 0 and rec.tags["http_status"] == "429" and rec.error
    )
