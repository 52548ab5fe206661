"""Anthropic emulator: the Messages API (plain and streamed), token counting and models."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import orjson

from ._common import BadRequest, EmulatorConfig, Plan, deltas, make_plan, rand_id, scan_messages, words
from ._io import Ctx, Send, int_field, pump, send_bytes, start_stream, str_field

_STATIC_HEADERS = [
    (b"anthropic-organization-id", b"00000000-0000-4000-8000-000000000000"),
    (b"anthropic-ratelimit-requests-limit", b"4000"),
    (b"anthropic-ratelimit-requests-remaining", b"3999"),
    (b"anthropic-ratelimit-input-tokens-limit", b"2000000"),
    (b"anthropic-ratelimit-output-tokens-limit", b"400000"),
]
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out"),
    529: ("overloaded_error", "Overloaded"),
}


def headers(ctx: Ctx) -> list[tuple[bytes, bytes]]:
    """Response headers of Anthropic (``request-id`` and rate limits)."""
    return [(b"request-id", rand_id("req_011C", 20, base58=True).encode()), *_STATIC_HEADERS]


async def error(
    ctx: Ctx, send: Send, status: int, message: str | None = None, param: str | None = None
) -> None:
    """Answer with Anthropic's error shape ``{"type": "error", "error": {type, message}, "request_id"}``."""
    etype, dmsg = _ERRORS.get(status) or (
        ("api_error", "Internal server error")
        if status >= 500
        else ("invalid_request_error", "Invalid request.")
    )
    hdrs = headers(ctx)
    body = {
        "type": "error",
        "error": {"type": etype, "message": message or dmsg},
        "request_id": hdrs[0][1].decode(),
    }
    if status == 429:
        hdrs.append((b"retry-after", b"1"))
    ctx.status = status
    await send_bytes(send, status, orjson.dumps(body), hdrs)


def auth_error(ctx: Ctx) -> tuple[int, str] | None:
    """(status, message) when the key or the ``anthropic-version`` header is refused, else None."""
    keys = ctx.cfg.api_keys
    if keys:
        key = ctx.headers.get(b"x-api-key")
        if key is None:
            auth = ctx.headers.get(b"authorization", b"")
            key = auth[7:] if auth.startswith(b"Bearer ") else None
        if key is None:
            return 401, "x-api-key header is required"
        if key.decode("latin-1").strip() not in keys:
            return 401, "invalid x-api-key"
    if b"anthropic-version" not in ctx.headers:
        return 400, "anthropic-version: header is required"
    return None


def usage(p: Plan, output_tokens: int | None = None) -> dict[str, Any]:
    """A Messages ``Usage``: ``input_tokens`` is the uncached part only."""
    u: dict[str, Any] = {
        "input_tokens": p.prompt - p.cached - p.writes,
        "cache_creation_input_tokens": p.writes,
        "cache_read_input_tokens": p.cached,
        "cache_creation": {"ephemeral_5m_input_tokens": p.write_5m, "ephemeral_1h_input_tokens": p.write_1h},
        "output_tokens": p.output if output_tokens is None else output_tokens,
        "service_tier": "standard",
        "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
    }
    if p.reasoning and output_tokens is None:
        u["output_tokens_details"] = {"thinking_tokens": p.reasoning}
    return u


def delta_usage(p: Plan) -> dict[str, Any]:
    """The cumulative ``MessageDeltaUsage`` of the final ``message_delta``."""
    u: dict[str, Any] = {
        "input_tokens": p.prompt - p.cached - p.writes,
        "cache_creation_input_tokens": p.writes,
        "cache_read_input_tokens": p.cached,
        "output_tokens": p.output,
    }
    if p.reasoning:
        u["output_tokens_details"] = {"thinking_tokens": p.reasoning}
    return u


def _plan(ctx: Ctx, data: dict[str, Any], limit: int | None) -> tuple[str, Plan]:
    model = str_field(data, "model")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages: Field required")
    chars, last_user = scan_messages(messages, data.get("system"))
    ctx.ov.apply_directive(last_user)
    return model, make_plan(ctx.cfg, ctx.ov, chars, limit)


async def begin(ctx: Ctx, send: Send, plan: Plan, model: str) -> bool:
    """Latency, forced status and strict model check; True when the request was answered already."""
    if plan.latency:
        await asyncio.sleep(plan.latency)
    if plan.status is not None:
        await error(ctx, send, plan.status)
        return True
    if ctx.cfg.strict_models and model not in ctx.cfg.models:
        await error(ctx, send, 404, f"model: {model}")
        return True
    ctx.stats.usage(plan)
    return False


def _sse(kind: str, payload: bytes) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + payload + b"\n\n"


_PING = _sse("ping", b'{"type": "ping"}')
_BLOCK_START = _sse(
    "content_block_start",
    b'{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
)
_BLOCK_STOP = _sse("content_block_stop", b'{"type":"content_block_stop","index":0}')
_MESSAGE_STOP = _sse("message_stop", b'{"type":"message_stop"}')


async def messages(ctx: Ctx, data: dict[str, Any], send: Send) -> None:
    """POST /v1/messages (a Message or its event stream)."""
    max_tokens = int_field(data, "max_tokens")
    if max_tokens is None:
        raise BadRequest("max_tokens: Field required")
    model, plan = _plan(ctx, data, max_tokens)
    if await begin(ctx, send, plan, model):
        return
    stop = "max_tokens" if plan.truncated else "end_turn"
    mid = rand_id("msg_01", 22, base58=True)
    if not data.get("stream"):
        body = {
            "id": mid,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": words(ctx.cfg, plan.visible)}],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage(plan),
        }
        await send_bytes(send, 200, orjson.dumps(body), headers(ctx))
        return

    def events() -> Iterator[bytes]:
        start = {
            "type": "message_start",
            "message": {
                "id": mid,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": usage(plan, output_tokens=1),
            },
        }
        yield _sse("message_start", orjson.dumps(start))
        yield _BLOCK_START
        yield _PING
        cache: dict[str, bytes] = {}
        for text in deltas(ctx.cfg, plan.visible, plan.chunk):
            ev = cache.get(text)
            if ev is None:
                payload = b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":'
                ev = cache[text] = _sse("content_block_delta", payload + orjson.dumps(text) + b"}}")
            yield ev
        yield _BLOCK_STOP
        final = {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": delta_usage(plan),
        }
        yield _sse("message_delta", orjson.dumps(final))
        yield _MESSAGE_STOP

    ctx.stats.streams += 1
    await start_stream(send, headers(ctx))
    await pump(send, events(), plan, ctx.stats)


async def count_tokens(ctx: Ctx, data: dict[str, Any], send: Send) -> None:
    """POST /v1/messages/count_tokens (total input tokens, as the plan would report them)."""
    _, plan = _plan(ctx, data, None)
    await send_bytes(send, 200, orjson.dumps({"input_tokens": plan.prompt}), headers(ctx))


def _model(mid: str) -> dict[str, Any]:
    name = mid.replace("claude-", "Claude ").replace("-", " ").title()
    return {"type": "model", "id": mid, "display_name": name, "created_at": "2025-09-29T00:00:00Z"}


def models_body(cfg: EmulatorConfig) -> bytes:
    """The precomputable body of GET /v1/models in Anthropic's shape."""
    data = [_model(m) for m in cfg.models if m.startswith("claude")]
    first = data[0]["id"] if data else None
    last = data[-1]["id"] if data else None
    return orjson.dumps({"data": data, "has_more": False, "first_id": first, "last_id": last})


async def models_list(ctx: Ctx, body: bytes, send: Send) -> None:
    """GET /v1/models (Anthropic client)."""
    await send_bytes(send, 200, body, headers(ctx))


async def models_get(ctx: Ctx, model: str, send: Send) -> None:
    """GET /v1/models/{id} (Anthropic client)."""
    if model not in ctx.cfg.models:
        await error(ctx, send, 404, f"model: {model}")
        return
    await send_bytes(send, 200, orjson.dumps(_model(model)), headers(ctx))
