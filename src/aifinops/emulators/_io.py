"""ASGI plumbing of the emulators: request context, counters, body reading, responses and SSE pumping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import orjson

from ._common import BadRequest, EmulatorConfig, Overrides, Plan

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


# --------------------------------------------------------------------------- stats


class Stats:
    """Counters of what reached the emulator ("upstream"), for tests and benchmarks."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests: dict[str, int] = {}
        self.statuses: dict[str, int] = {}
        self.streams = 0
        self.cut_streams = 0
        self.tokens = {"prompt": 0, "cached": 0, "cache_write": 0, "output": 0, "reasoning": 0}

    def hit(self, route: str) -> None:
        self.requests[route] = self.requests.get(route, 0) + 1

    def status(self, code: int) -> None:
        key = str(code)
        self.statuses[key] = self.statuses.get(key, 0) + 1

    def usage(self, plan: Plan) -> None:
        t = self.tokens
        t["prompt"] += plan.prompt
        t["cached"] += plan.cached
        t["cache_write"] += plan.writes
        t["output"] += plan.output
        t["reasoning"] += plan.reasoning

    def as_json(self) -> bytes:
        return orjson.dumps(
            {
                "requests": self.requests,
                "total_requests": sum(self.requests.values()),
                "statuses": self.statuses,
                "streams": self.streams,
                "cut_streams": self.cut_streams,
                "tokens": self.tokens,
            }
        )


# --------------------------------------------------------------------------- ASGI I/O


async def read_body(receive: Receive) -> bytes:
    """The whole request body."""
    msg = await receive()
    body = msg.get("body", b"")
    if not msg.get("more_body"):
        return body
    parts = [body]
    while msg.get("more_body"):
        msg = await receive()
        parts.append(msg.get("body", b""))
    return b"".join(parts)


def parse_json(body: bytes) -> dict[str, Any]:
    """The JSON object of a request body, or BadRequest."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("We could not parse the JSON body of your request.") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    return data


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    ctype: bytes = b"application/json",
) -> None:
    """Send a complete response with a content-length."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


SSE_CTYPE = b"text/event-stream; charset=utf-8"


async def start_stream(send: Send, headers: list[tuple[bytes, bytes]]) -> None:
    """Start a chunked server-sent-events response."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", SSE_CTYPE), (b"cache-control", b"no-cache"), *headers],
        }
    )


async def pump(send: Send, events: Iterable[bytes], plan: Plan, stats: Stats) -> None:
    """Send SSE events one by one (with the plan's delay), cutting the connection after ``cut_after``."""
    cut = plan.cut_after
    delay = plan.chunk_delay
    for sent, event in enumerate(events):
        if cut is not None and sent >= cut:
            stats.cut_streams += 1
            return  # returning mid-response makes the server drop the connection (no terminating chunk)
        if delay and sent:
            await asyncio.sleep(delay)
        await send({"type": "http.response.body", "body": event, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def processing_ms(start: float) -> bytes:
    """Milliseconds since ``start`` (perf_counter), as a header value."""
    return str(int((time.perf_counter() - start) * 1000)).encode()


class Ctx:
    """What a handler needs about one request."""

    __slots__ = ("cfg", "stats", "ov", "headers", "start", "status")

    def __init__(
        self, cfg: EmulatorConfig, stats: Stats, ov: Overrides, headers: dict[bytes, bytes], start: float
    ) -> None:
        self.cfg = cfg
        self.stats = stats
        self.ov = ov
        self.headers = headers
        self.start = start
        self.status = 200


def int_field(data: dict[str, Any], *names: str) -> int | None:
    """The first of ``names`` present in ``data`` as a positive int (BadRequest if it is not one)."""
    for name in names:
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise BadRequest(f"Invalid '{name}': expected an integer >= 1.", name)
        return value
    return None


def str_field(data: dict[str, Any], name: str) -> str:
    """A required non-empty string field."""
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"Missing required parameter: '{name}'.", name)
    return value
