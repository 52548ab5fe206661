"""OpenAI emulator: chat completions and responses (plain and streamed), errors and auth, in OpenAI's exact shapes."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from typing import Any

import orjson

from ._common import BadRequest, Plan, deltas, make_plan, rand_id, scan_messages, text_of, words
from ._io import Ctx, Send, int_field, processing_ms, pump, send_bytes, start_stream, str_field

_STATIC_HEADERS = [
    (b"openai-version", b"2020-10-01"),
    (b"openai-organization", b"emulator-org"),
    (b"x-ratelimit-limit-requests", b"10000"),
    (b"x-ratelimit-remaining-requests", b"9999"),
    (b"x-ratelimit-reset-requests", b"6ms"),
    (b"x-ratelimit-limit-tokens", b"30000000"),
    (b"x-ratelimit-remaining-tokens", b"29999000"),
    (b"x-ratelimit-reset-tokens", b"0s"),
]
_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: (
        "invalid_request_error",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    ),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model does not exist or you do not have access to it.",
    ),
    409: ("invalid_request_error", None, "Conflict."),
    422: ("invalid_request_error", None, "Unprocessable request."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again in 20ms."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}
_TIERS = {"priority": "priority", "fast": "priority", "flex": "flex", "scale": "scale"}
_OBF = b',"obfuscation":"Zq3x"'


def headers(ctx: Ctx) -> list[tuple[bytes, bytes]]:
    """Response headers of OpenAI (request id, processing time, rate limits)."""
    return [
        (b"x-request-id", rand_id("req_", 32).encode()),
        (b"openai-processing-ms", processing_ms(ctx.start)),
        *_STATIC_HEADERS,
    ]


async def error(
    ctx: Ctx, send: Send, status: int, message: str | None = None, param: str | None = None, code: Any = ...
) -> None:
    """Answer with OpenAI's error shape ``{"error": {message, type, param, code}}``."""
    etype, dcode, dmsg = _ERRORS.get(status) or (
        ("server_error", None, "Upstream error.")
        if status >= 500
        else ("invalid_request_error", None, "Request failed.")
    )
    body = {
        "error": {
            "message": message or dmsg,
            "type": etype,
            "param": param,
            "code": dcode if code is ... else code,
        }
    }
    ctx.status = status
    await send_bytes(send, status, orjson.dumps(body), headers(ctx))


def auth_error(ctx: Ctx) -> tuple[str, Any] | None:
    """(message, code) of the 401 to return, or None when the key is accepted."""
    keys = ctx.cfg.api_keys
    if not keys:
        return None
    auth = ctx.headers.get(b"authorization", b"")
    if not auth.startswith(b"Bearer ") or not auth[7:].strip():
        return (
            "You didn't provide an API key. You need to provide your API key in an Authorization header "
            "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            None,
        )
    key = auth[7:].strip().decode("latin-1")
    if key in keys:
        return None
    return f"Incorrect API key provided: {key[:3]}***{key[-4:]}.", "invalid_api_key"


async def begin(ctx: Ctx, send: Send, plan: Plan, model: str) -> bool:
    """Latency, forced status and strict model check; True when the request was answered already."""
    if plan.latency:
        await asyncio.sleep(plan.latency)
    if plan.status is not None:
        await error(ctx, send, plan.status)
        return True
    if ctx.cfg.strict_models and model not in ctx.cfg.models:
        msg = f"The model `{model}` does not exist or you do not have access to it."
        await error(ctx, send, 404, msg, None, "model_not_found")
        return True
    ctx.stats.usage(plan)
    return False


def _tier(data: dict[str, Any]) -> str:
    return _TIERS.get(data.get("service_tier") or "", "default")


def chat_usage(p: Plan) -> dict[str, Any]:
    """A ``CompletionUsage`` with every detail field."""
    ptd: dict[str, int] = {"cached_tokens": p.cached, "audio_tokens": 0}
    if p.writes:
        ptd["cache_write_tokens"] = p.writes
    return {
        "prompt_tokens": p.prompt,
        "completion_tokens": p.output,
        "total_tokens": p.prompt + p.output,
        "prompt_tokens_details": ptd,
        "completion_tokens_details": {
            "reasoning_tokens": p.reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


async def chat(ctx: Ctx, data: dict[str, Any], send: Send) -> None:
    """POST /v1/chat/completions (``chat.completion`` or a ``chat.completion.chunk`` stream)."""
    model = str_field(data, "model")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("Missing required parameter: 'messages'.", "messages")
    chars, last_user = scan_messages(messages)
    ctx.ov.apply_directive(last_user)
    plan = make_plan(ctx.cfg, ctx.ov, chars, int_field(data, "max_completion_tokens", "max_tokens"))
    if await begin(ctx, send, plan, model):
        return
    cfg = ctx.cfg
    finish = "length" if plan.truncated else "stop"
    cid = rand_id("chatcmpl-", 29)
    created = int(time.time())
    if not data.get("stream"):
        body = {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": words(cfg, plan.visible),
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": finish,
                }
            ],
            "usage": chat_usage(plan),
            "service_tier": _tier(data),
            "system_fingerprint": cfg.system_fingerprint,
        }
        await send_bytes(send, 200, orjson.dumps(body), headers(ctx))
        return
    opts = data.get("stream_options") or {}
    include_usage = bool(opts.get("include_usage"))
    obf = _OBF if opts.get("include_obfuscation", True) is not False else b""
    head = orjson.dumps(
        {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "service_tier": _tier(data),
            "system_fingerprint": cfg.system_fingerprint,
        }
    )
    head = b"data: " + head[:-1] + b',"choices":'
    tail = (b',"usage":null' if include_usage else b"") + obf + b"}\n\n"

    def events() -> Iterator[bytes]:
        yield (
            head
            + b'[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]'
            + tail
        )
        cache: dict[str, bytes] = {}
        for text in deltas(cfg, plan.visible, plan.chunk):
            ev = cache.get(text)
            if ev is None:
                choice = (
                    b'[{"index":0,"delta":{"content":'
                    + orjson.dumps(text)
                    + b'},"logprobs":null,"finish_reason":null}]'
                )
                ev = cache[text] = head + choice + tail
            yield ev
        yield (
            head
            + b'[{"index":0,"delta":{},"logprobs":null,"finish_reason":"'
            + finish.encode()
            + b'"}]'
            + tail
        )
        if include_usage:
            yield head + b'[],"usage":' + orjson.dumps(chat_usage(plan)) + obf + b"}\n\n"
        yield b"data: [DONE]\n\n"

    ctx.stats.streams += 1
    await start_stream(send, headers(ctx))
    await pump(send, events(), plan, ctx.stats)


# --------------------------------------------------------------------------- responses


def _response(
    data: dict[str, Any], rid: str, created: int, model: str, status: str, output: list[Any], usage: Any
) -> dict[str, Any]:
    reasoning = data.get("reasoning") if isinstance(data.get("reasoning"), dict) else {}
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": bool(data.get("background", False)),
        "completed_at": int(time.time()) if status == "completed" else None,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": data.get("instructions"),
        "max_output_tokens": data.get("max_output_tokens"),
        "max_tool_calls": data.get("max_tool_calls"),
        "model": model,
        "output": output,
        "parallel_tool_calls": data.get("parallel_tool_calls", True),
        "previous_response_id": data.get("previous_response_id"),
        "prompt_cache_key": data.get("prompt_cache_key"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "safety_identifier": data.get("safety_identifier"),
        "service_tier": _tier(data),
        "store": data.get("store", True),
        "temperature": data.get("temperature", 1.0),
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": data.get("tool_choice", "auto"),
        "tools": data.get("tools", []),
        "top_logprobs": data.get("top_logprobs", 0),
        "top_p": data.get("top_p", 1.0),
        "truncation": data.get("truncation", "disabled"),
        "usage": usage,
        "user": data.get("user"),
        "metadata": data.get("metadata") or {},
    }


def responses_usage(p: Plan) -> dict[str, Any]:
    """A Responses ``ResponseUsage`` (input_tokens includes cached and cache-write tokens)."""
    return {
        "input_tokens": p.prompt,
        "input_tokens_details": {"cached_tokens": p.cached, "cache_write_tokens": p.writes},
        "output_tokens": p.output,
        "output_tokens_details": {"reasoning_tokens": p.reasoning},
        "total_tokens": p.prompt + p.output,
    }


def _last_user_text(inp: Any) -> str:
    if isinstance(inp, str):
        return inp
    if isinstance(inp, list):
        for item in reversed(inp):
            if isinstance(item, dict) and item.get("role") == "user":
                return text_of(item.get("content"))
    return ""


async def responses(ctx: Ctx, data: dict[str, Any], send: Send) -> None:
    """POST /v1/responses (a Response object or its event stream)."""
    model = str_field(data, "model")
    inp = data.get("input")
    if inp is None:
        raise BadRequest("Missing required parameter: 'input'.", "input")
    chars, _ = scan_messages(inp, data.get("instructions"))
    ctx.ov.apply_directive(_last_user_text(inp))
    plan = make_plan(ctx.cfg, ctx.ov, chars, int_field(data, "max_output_tokens"))
    if await begin(ctx, send, plan, model):
        return
    rid = "resp_" + os.urandom(25).hex()
    msg_id = "msg_" + os.urandom(25).hex()
    created = int(time.time())
    status = "incomplete" if plan.truncated else "completed"
    text = words(ctx.cfg, plan.visible)
    usage = responses_usage(plan)
    output: list[dict[str, Any]] = []
    if plan.reasoning:
        output.append({"id": "rs_" + os.urandom(25).hex(), "type": "reasoning", "summary": []})
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    message = {"id": msg_id, "type": "message", "status": status, "content": [part], "role": "assistant"}
    output.append(message)
    if not data.get("stream"):
        body = orjson.dumps(_response(data, rid, created, model, status, output, usage))
        await send_bytes(send, 200, body, headers(ctx))
        return
    opts = data.get("stream_options") or {}
    obf = _OBF if opts.get("include_obfuscation", True) is not False else b""
    idx = len(output) - 1

    def events() -> Iterator[bytes]:
        seq = 0

        def ev(kind: str, **payload: Any) -> bytes:
            nonlocal seq
            blob = orjson.dumps({"type": kind, "sequence_number": seq, **payload})
            seq += 1
            return b"event: " + kind.encode() + b"\ndata: " + blob + b"\n\n"

        in_progress = _response(data, rid, created, model, "in_progress", [], None)
        yield ev("response.created", response=in_progress)
        yield ev("response.in_progress", response=in_progress)
        if plan.reasoning:
            yield ev("response.output_item.added", output_index=0, item=output[0])
            yield ev("response.output_item.done", output_index=0, item=output[0])
        empty = {**message, "status": "in_progress", "content": []}
        yield ev("response.output_item.added", output_index=idx, item=empty)
        where = {"item_id": msg_id, "output_index": idx, "content_index": 0}
        yield ev("response.content_part.added", **where, part={**part, "text": ""})
        pre = b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":'
        mid = orjson.dumps(where)[:-1].replace(b"{", b",", 1) + b',"delta":'
        for delta in deltas(ctx.cfg, plan.visible, plan.chunk):
            yield pre + str(seq).encode() + mid + orjson.dumps(delta) + b',"logprobs":[]' + obf + b"}\n\n"
            seq += 1
        yield ev("response.output_text.done", **where, text=text, logprobs=[])
        yield ev("response.content_part.done", **where, part=part)
        yield ev("response.output_item.done", output_index=idx, item=message)
        final = _response(data, rid, created, model, status, output, usage)
        yield ev("response.completed" if status == "completed" else "response.incomplete", response=final)

    ctx.stats.streams += 1
    await start_stream(send, headers(ctx))
    await pump(send, events(), plan, ctx.stats)
