"""Relay a streamed response chunk by chunk while metering it.

Usage comes from the stream itself (OpenAI's final usage chunk, which the gateway asks for and strips back
out when the client did not; Responses' ``response.completed``; Anthropic's ``message_start`` and
``message_delta``). A stream cut off mid-way is still recorded with the usage known so far, estimated
(and tagged so) when the provider never reported it: never $0.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from aifinops.core.normalize import AnthropicStream, OpenAIChatStream, OpenAIResponsesStream
from aifinops.gateway.metering import CallContext, build_record, estimate_usage
from aifinops.gateway.routing import Target
from aifinops.gateway.sse import SSEParser
from aifinops.gateway.wal import interrupted
from aifinops.gateway.wire import down_headers

if TYPE_CHECKING:
    from aifinops.gateway.proxy import Gateway

__all__ = ["relay_stream"]

_ACCUMULATORS = {"chat": OpenAIChatStream, "responses": OpenAIResponsesStream, "messages": AnthropicStream}


def _is_delta(route: str, name: str | None, obj: dict[str, Any]) -> bool:
    if route == "messages":
        return name == "content_block_delta" or obj.get("type") == "content_block_delta"
    if route == "responses":
        return obj.get("type") == "response.output_text.delta"
    return bool(obj.get("choices"))


async def relay_stream(
    gateway: Gateway,
    send: Any,
    receive: Any,
    ctx: CallContext,
    target: Target,
    response: aiohttp.ClientResponse,
    strip: bool,
    started: float,
    tags: dict[str, str] | None,
) -> None:
    """Pass the upstream stream through; write one record when it ends, however it ends."""
    acc = _ACCUMULATORS[ctx.route]()
    parser = SSEParser()
    deltas = 0
    headers = down_headers(response.headers)
    headers += [
        (b"x-aifinops-request-id", ctx.request_id.encode()),
        (b"x-aifinops-upstream", target.upstream.name.encode()),
    ]
    if gateway.wal is not None:
        provisional = build_record(
            ctx,
            gateway.catalog,
            target=target,
            usage=None,
            served_model=None,
            service_tier=None,
            status="streaming",
            http_status=response.status,
            latency_ms=0.0,
            extra_tags=tags,
        )
        gateway.wal.begin(interrupted(provisional))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    disconnect = asyncio.ensure_future(receive())
    status, error = "ok", None
    try:
        async for chunk in response.content.iter_any():
            out = b"" if strip else chunk
            for name, data, raw in parser.feed(chunk):
                if data == "[DONE]" or not data:
                    out += raw if strip else b""
                    continue
                try:
                    obj = orjson.loads(data)
                    acc.feed(obj)
                except (orjson.JSONDecodeError, ValueError, TypeError, AttributeError):
                    out += raw if strip else b""
                    continue
                if _is_delta(ctx.route, name, obj):
                    deltas += 1
                if strip:
                    if not obj.get("choices") and obj.get("usage") is not None:
                        continue  # the usage chunk the client did not ask for
                    obj.pop("usage", None)
                    out += b"data: " + orjson.dumps(obj) + b"\n\n"
            if disconnect.done():
                status, error = "client_disconnected", "the client went away mid-stream"
                break
            if out:
                await send({"type": "http.response.body", "body": out, "more_body": True})
        else:
            if not acc.complete:
                status, error = "cut_off", "the upstream stream ended before it was complete"
    except (TimeoutError, aiohttp.ClientError) as exc:
        status, error = "cut_off", f"upstream stream failed: {type(exc).__name__}: {exc}"
    except OSError as exc:
        status, error = "client_disconnected", f"{type(exc).__name__}: {exc}"
    finally:
        disconnect.cancel()
        usage, estimated = acc.usage, False
        if usage is None:
            usage, estimated = estimate_usage(ctx, deltas), True
        elapsed = time.perf_counter() - started
        record = build_record(
            ctx,
            gateway.catalog,
            target=target,
            usage=usage,
            served_model=acc.model,
            service_tier=acc.service_tier,
            status=status,
            http_status=response.status,
            latency_ms=elapsed * 1000,
            error=error,
            estimated=estimated,
            extra_tags=tags,
        )
        gateway.emit_for(ctx, record, elapsed, 0.0)
    if status == "ok":
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    # otherwise return without completing the response: the server drops the connection, so the client
    # sees the stream fail as it failed upstream instead of a silently truncated answer
