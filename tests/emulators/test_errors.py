"""Forced statuses, auth and cut streams surface as the SDKs' typed errors (no retries: max_retries=0)."""

from __future__ import annotations

import anthropic
import httpx2
import openai
import pytest

from aifinops.emulators import EmulatorConfig
from tests.emulators.conftest import RunningEmulator, serve_emulator

MSG = [{"role": "user", "content": "hello"}]


@pytest.fixture
def oai(emu: RunningEmulator) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=emu.openai_base_url, max_retries=0)


@pytest.fixture
def ant(emu: RunningEmulator) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="sk-ant-test", base_url=emu.anthropic_base_url, max_retries=0)


@pytest.mark.parametrize(
    ("status", "exc", "etype"),
    [
        (429, openai.RateLimitError, "requests"),
        (400, openai.BadRequestError, "invalid_request_error"),
        (500, openai.InternalServerError, "server_error"),
        (503, openai.InternalServerError, "server_error"),
    ],
)
def test_openai_status_override(
    oai: openai.OpenAI, emu: RunningEmulator, status: int, exc: type, etype: str
) -> None:
    with pytest.raises(exc) as info:
        oai.chat.completions.create(
            model="gpt-4o", messages=MSG, extra_headers={"x-emulator-status": str(status)}
        )
    err = info.value
    assert err.status_code == status
    assert err.body["type"] == etype and set(err.body) == {"message", "type", "param", "code"}
    assert err.response.headers["x-request-id"].startswith("req_")
    assert emu.stats()["statuses"] == {str(status): 1}
    assert emu.stats()["tokens"]["output"] == 0  # an error bills nothing


def test_openai_directive_status_on_responses(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError):
        oai.responses.create(model="gpt-5", input="hi [emulator status=429]")


@pytest.mark.parametrize(
    ("status", "exc", "etype"),
    [
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (400, anthropic.BadRequestError, "invalid_request_error"),
    ],
)
def test_anthropic_status_override(ant: anthropic.Anthropic, status: int, exc: type, etype: str) -> None:
    with pytest.raises(exc) as info:
        ant.messages.create(
            model="claude-haiku-4-5",
            max_tokens=5,
            messages=MSG,
            extra_headers={"x-emulator-status": str(status)},
        )
    err = info.value
    assert err.status_code == status
    assert err.body["type"] == "error" and err.body["error"]["type"] == etype
    assert err.body["request_id"] == err.response.headers["request-id"]


def test_anthropic_529_is_internal_server_error() -> None:
    assert issubclass(anthropic.OverloadedError, anthropic.InternalServerError)


def test_api_keys_enforced_in_each_shape() -> None:
    with serve_emulator(EmulatorConfig(api_keys=["good-key"])) as emu:
        bad_oai = openai.OpenAI(api_key="sk-wrong-key", base_url=emu.openai_base_url, max_retries=0)
        with pytest.raises(openai.AuthenticationError) as info:
            bad_oai.chat.completions.create(model="gpt-4o", messages=MSG)
        assert info.value.body["code"] == "invalid_api_key"
        bad_ant = anthropic.Anthropic(api_key="wrong", base_url=emu.anthropic_base_url, max_retries=0)
        with pytest.raises(anthropic.AuthenticationError) as ainfo:
            bad_ant.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=MSG)
        assert ainfo.value.body["error"]["type"] == "authentication_error"
        good_oai = openai.OpenAI(api_key="good-key", base_url=emu.openai_base_url, max_retries=0)
        assert good_oai.chat.completions.create(model="gpt-4o", messages=MSG).usage.completion_tokens == 16
        good_ant = anthropic.Anthropic(api_key="good-key", base_url=emu.anthropic_base_url, max_retries=0)
        assert (
            good_ant.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=MSG).usage.output_tokens
            == 5
        )
        stats = emu.stats()
        assert stats["statuses"] == {"401": 2, "200": 2}
        assert stats["requests"] == {"/v1/chat/completions": 2, "/v1/messages": 2}


def test_strict_models_404() -> None:
    with serve_emulator(EmulatorConfig(strict_models=True, models=("gpt-4o",))) as emu:
        client = openai.OpenAI(api_key="k", base_url=emu.openai_base_url, max_retries=0)
        with pytest.raises(openai.NotFoundError) as info:
            client.chat.completions.create(model="gpt-unknown", messages=MSG)
        assert info.value.body["code"] == "model_not_found"


def test_bad_override_is_a_400(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="not a number"):
        oai.chat.completions.create(
            model="gpt-4o", messages=MSG, extra_headers={"x-emulator-output-tokens": "many"}
        )
    with pytest.raises(openai.BadRequestError, match="unknown emulator"):
        oai.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "[emulator bogus=1]"}]
        )


def test_openai_cut_stream_has_no_usage(oai: openai.OpenAI, emu: RunningEmulator) -> None:
    stream = oai.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hi [emulator cut_after=3]"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    seen = []
    with pytest.raises(openai.APIConnectionError):
        seen.extend(stream)
    assert len(seen) == 3 and all(c.usage is None for c in seen)
    assert emu.stats()["cut_streams"] == 1


def test_anthropic_cut_stream_has_no_message_stop(ant: anthropic.Anthropic) -> None:
    events = []
    # this SDK lets the transport's RemoteProtocolError through on a truncated chunked body
    with pytest.raises((anthropic.APIConnectionError, httpx2.RemoteProtocolError)):
        events.extend(
            ant.messages.create(
                model="claude-haiku-4-5",
                max_tokens=50,
                stream=True,
                messages=MSG,
                extra_headers={"x-emulator-cut-after": "5"},
            )
        )
    kinds = [e.type for e in events]
    assert kinds == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
    ]  # ping dropped


def test_responses_cut_stream_never_completes(oai: openai.OpenAI) -> None:
    events = []
    with pytest.raises(openai.APIConnectionError):
        events.extend(
            oai.responses.create(
                model="gpt-5", input="hi", stream=True, extra_headers={"x-emulator-cut-after": "5"}
            )
        )
    assert [e.type for e in events][-1] == "response.output_text.delta"
    assert all(e.type != "response.completed" for e in events)
