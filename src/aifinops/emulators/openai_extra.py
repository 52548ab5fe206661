"""OpenAI emulator, continued: embeddings (float and base64) and models."""

from __future__ import annotations

import base64
import struct
from typing import Any

import orjson

from ._common import BadRequest, EmulatorConfig, make_plan
from ._io import Ctx, Send, int_field, send_bytes, str_field
from .openai_api import begin, error, headers

_VECTORS: dict[int, tuple[bytes, bytes]] = {}


def embedding_vector(dims: int) -> list[float]:
    """The deterministic embedding (values k/1024, exact in float32, so float and base64 agree)."""
    return [((i * 37) % 201 - 100) / 1024 for i in range(dims)]


def _vector_json(dims: int) -> tuple[bytes, bytes]:
    got = _VECTORS.get(dims)
    if got is None:
        vec = embedding_vector(dims)
        b64 = base64.b64encode(struct.pack(f"<{dims}f", *vec))
        got = _VECTORS[dims] = (orjson.dumps(vec), b'"' + b64 + b'"')
    return got


def _embedding_inputs(inp: Any) -> tuple[int, int, str]:
    """(number of inputs, characters equivalent, last text) of an embeddings ``input``."""
    if isinstance(inp, str):
        return 1, len(inp), inp
    if isinstance(inp, list) and inp:
        if all(isinstance(x, int) for x in inp):
            return 1, 4 * len(inp), ""
        if all(isinstance(x, str) for x in inp):
            return len(inp), sum(len(x) for x in inp), inp[-1]
        if all(isinstance(x, list) for x in inp):
            return len(inp), 4 * sum(len(x) for x in inp), ""
    raise BadRequest("Invalid 'input': expected a string, an array of strings or of token arrays.", "input")


async def embeddings(ctx: Ctx, data: dict[str, Any], send: Send) -> None:
    """POST /v1/embeddings (``float`` or ``base64`` little-endian float32)."""
    model = str_field(data, "model")
    count, chars, last = _embedding_inputs(data.get("input"))
    fmt = data.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        raise BadRequest("Invalid 'encoding_format': expected 'float' or 'base64'.", "encoding_format")
    default_dims = 3072 if "large" in model else ctx.cfg.embedding_dimensions
    dims = int_field(data, "dimensions") or default_dims
    ctx.ov.apply_directive(last)
    plan = make_plan(ctx.cfg, ctx.ov, chars, 0)
    plan.cached = plan.write_5m = plan.write_1h = plan.output = plan.reasoning = 0
    if await begin(ctx, send, plan, model):
        return
    vec = _vector_json(dims)[0 if fmt == "float" else 1]
    items = b",".join(b'{"object":"embedding","index":%d,"embedding":%s}' % (i, vec) for i in range(count))
    usage = orjson.dumps({"prompt_tokens": plan.prompt, "total_tokens": plan.prompt})
    body = (
        b'{"object":"list","data":['
        + items
        + b'],"model":'
        + orjson.dumps(model)
        + b',"usage":'
        + usage
        + b"}"
    )
    await send_bytes(send, 200, body, headers(ctx))


def _model(mid: str) -> dict[str, Any]:
    owner = "anthropic" if mid.startswith("claude") else "system"
    return {"id": mid, "object": "model", "created": 1715367049, "owned_by": owner}


def models_body(cfg: EmulatorConfig) -> bytes:
    """The precomputable body of GET /v1/models."""
    return orjson.dumps({"object": "list", "data": [_model(m) for m in cfg.models]})


async def models_list(ctx: Ctx, body: bytes, send: Send) -> None:
    """GET /v1/models."""
    await send_bytes(send, 200, body, headers(ctx))


async def models_get(ctx: Ctx, model: str, send: Send) -> None:
    """GET /v1/models/{id}."""
    if model not in ctx.cfg.models:
        msg = f"The model '{model}' does not exist"
        await error(ctx, send, 404, msg, "model", "model_not_found")
        return
    await send_bytes(send, 200, orjson.dumps(_model(model)), headers(ctx))
