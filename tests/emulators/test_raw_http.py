"""Byte-level checks with a raw HTTP client: SSE framing, headers, control endpoints, latency."""

from __future__ import annotations

import base64
import struct
import time

import httpx
import orjson
import pytest

from aifinops.emulators.openai_extra import embedding_vector
from tests.emulators.conftest import RunningEmulator

CHAT = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "hello"}],
    "max_tokens": 3,
    "stream": True,
}
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": "k"}


@pytest.fixture
def http(emu: RunningEmulator) -> httpx.Client:
    with httpx.Client(base_url=emu.url, timeout=10) as client:
        yield client


def _frames(body: bytes) -> list[bytes]:
    assert body.endswith(b"\n\n")
    return body[:-2].split(b"\n\n")


@pytest.mark.parametrize("include_usage", [True, False])
def test_chat_sse_framing(http: httpx.Client, include_usage: bool) -> None:
    resp = http.post(
        "/v1/chat/completions", json={**CHAT, "stream_options": {"include_usage": include_usage}}
    )
    assert resp.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert resp.headers["transfer-encoding"] == "chunked"
    frames = _frames(resp.content)
    assert frames[-1] == b"data: [DONE]"
    chunks = [orjson.loads(f.removeprefix(b"data: ")) for f in frames[:-1]]
    assert all(f.startswith(b"data: {") and b"\n" not in f for f in frames[:-1])
    assert len(chunks) == 1 + 3 + 1 + include_usage
    if include_usage:
        assert all("usage" in c and c["usage"] is None for c in chunks[:-1])
        assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 3
    else:
        assert all("usage" not in c for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}


def test_anthropic_sse_framing(http: httpx.Client) -> None:
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 2,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    resp = http.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert resp.headers["request-id"].startswith("req_")
    names = []
    for frame in _frames(resp.content):
        event_line, data_line = frame.split(b"\n")
        name = event_line.removeprefix(b"event: ").decode()
        assert orjson.loads(data_line.removeprefix(b"data: "))["type"] == name
        names.append(name)
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_responses_sse_framing(http: httpx.Client) -> None:
    resp = http.post(
        "/v1/responses", json={"model": "gpt-5", "input": "hi", "stream": True, "max_output_tokens": 50}
    )
    seqs = []
    for frame in _frames(resp.content):
        event_line, data_line = frame.split(b"\n")
        data = orjson.loads(data_line.removeprefix(b"data: "))
        assert event_line == b"event: " + data["type"].encode()
        seqs.append(data["sequence_number"])
    assert seqs == list(range(len(seqs)))
    assert data["type"] == "response.completed" and data["response"]["usage"]["output_tokens"] == 16


def test_embedding_base64_is_little_endian_float32(http: httpx.Client) -> None:
    resp = http.post(
        "/v1/embeddings",
        json={"model": "text-embedding-3-small", "input": "x", "encoding_format": "base64", "dimensions": 4},
    )
    raw = base64.b64decode(resp.json()["data"][0]["embedding"])
    assert list(struct.unpack("<4f", raw)) == embedding_vector(4)


def test_anthropic_version_required(http: httpx.Client) -> None:
    body = {"model": "claude-haiku-4-5", "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}]}
    resp = http.post("/v1/messages", json=body, headers={"x-api-key": "k"})
    assert resp.status_code == 400
    assert resp.json()["error"] == {
        "type": "invalid_request_error",
        "message": "anthropic-version: header is required",
    }
    assert (
        http.post("/v1/messages", json={"model": "m", "messages": []}, headers=ANTHROPIC_HEADERS).status_code
        == 400
    )


def test_unknown_route_and_bad_json(http: httpx.Client) -> None:
    resp = http.post("/v1/nope", json={})
    assert resp.status_code == 404 and resp.json()["error"]["type"] == "invalid_request_error"
    bad = http.post(
        "/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] is None


def test_stats_and_reset_endpoints(http: httpx.Client, emu: RunningEmulator) -> None:
    http.post(
        "/v1/chat/completions", json={**CHAT, "stream": False}, headers={"x-emulator-prompt-tokens": "11"}
    )
    http.post("/v1/chat/completions", json=CHAT)
    stats = http.get("/emulator/stats").json()
    assert stats["requests"] == {"/v1/chat/completions": 2} and stats["total_requests"] == 2
    assert stats["streams"] == 1 and stats["tokens"]["output"] == 6 and stats["tokens"]["prompt"] == 11 + 2
    assert http.post("/emulator/reset").json() == {"reset": True}
    assert http.get("/emulator/stats").json()["total_requests"] == 0


def test_latency_and_chunk_delay(http: httpx.Client) -> None:
    t0 = time.perf_counter()
    http.post(
        "/v1/chat/completions", json={**CHAT, "stream": False}, headers={"x-emulator-latency-ms": "120"}
    )
    assert time.perf_counter() - t0 >= 0.115  # 120 ms before the first byte (timer slack)
    t0 = time.perf_counter()
    with http.stream(
        "POST", "/v1/chat/completions", json=CHAT, headers={"x-emulator-chunk-delay-ms": "30"}
    ) as resp:
        first = None
        for _ in resp.iter_raw():
            first = first or time.perf_counter()
    end = time.perf_counter()
    assert end - first >= 0.03 * 4  # 6 events: 5 delays, minus slack for timer jitter
    assert first - t0 < end - first  # no delay before the first event
