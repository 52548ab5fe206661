"""The emulator ASGI application: routing, auth, per-request overrides and the stats endpoints."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from time import perf_counter
from typing import Any

import orjson

from . import anthropic_api, openai_api, openai_extra
from ._common import BadRequest, EmulatorConfig, Overrides, apply_headers
from ._io import Ctx, Receive, Scope, Send, Stats, parse_json, read_body, send_bytes

Handler = Callable[[Ctx, dict[str, Any], Send], Awaitable[None]]
_CUT_MESSAGE = "ASGI callable returned without completing response."


class _DropCutStreamLog(logging.Filter):
    """Silences uvicorn's error line for the streams the emulator cuts on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != _CUT_MESSAGE


def _install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropCutStreamLog) for f in logger.filters):
        logger.addFilter(_DropCutStreamLog())


class EmulatorApp:
    """Raw ASGI app emulating the OpenAI and Anthropic HTTP APIs (see ``create_emulator``)."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.stats = Stats()
        self._routes: dict[str, tuple[bool, Handler]] = {
            "/v1/chat/completions": (False, openai_api.chat),
            "/v1/responses": (False, openai_api.responses),
            "/v1/embeddings": (False, openai_extra.embeddings),
            "/v1/messages": (True, anthropic_api.messages),
            "/v1/messages/count_tokens": (True, anthropic_api.count_tokens),
        }
        self._openai_models = openai_extra.models_body(config)
        self._anthropic_models = anthropic_api.models_body(config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "lifespan":
                await _lifespan(receive, send)
            return
        start = perf_counter()
        method = scope["method"]
        path = scope["path"]
        if path.startswith(
            "/openai/deployments/"
        ):  # Azure OpenAI: /openai/deployments/{name}/chat/completions
            parts = path.split("/", 4)
            if len(parts) == 5 and b"api-version=" in scope.get("query_string", b""):
                path = "/v1/" + parts[4]
        headers = dict(scope["headers"])
        ctx = Ctx(self.config, self.stats, Overrides(), headers, start)
        is_anthropic = b"anthropic-version" in headers  # GET /v1/models serves both SDKs
        entry = self._routes.get(path) if method == "POST" else None
        if entry is not None:
            is_anthropic, handler = entry
            route = path
        elif method == "GET" and (path == "/v1/models" or path.startswith("/v1/models/")):
            route = "/v1/models" if path == "/v1/models" else "/v1/models/{id}"
            handler = None
        elif path.startswith("/emulator/"):
            await self._control(method, path, send)
            return
        else:
            route = "other"
            handler = None
        self.stats.hit(route)
        error = anthropic_api.error if is_anthropic else openai_api.error
        try:
            body = await read_body(receive)
            apply_headers(ctx.ov, scope["headers"])
            if is_anthropic:
                refused = anthropic_api.auth_error(ctx)
                if refused is not None:
                    await anthropic_api.error(ctx, send, refused[0], refused[1])
                    return
            else:
                denied = openai_api.auth_error(ctx)
                if denied is not None:
                    await openai_api.error(ctx, send, 401, denied[0], None, denied[1])
                    return
            if handler is not None:
                await handler(ctx, parse_json(body), send)
            elif route == "/v1/models":
                api = anthropic_api if is_anthropic else openai_extra
                await api.models_list(
                    ctx, self._anthropic_models if is_anthropic else self._openai_models, send
                )
            elif route == "/v1/models/{id}":
                api = anthropic_api if is_anthropic else openai_extra
                await api.models_get(ctx, path[len("/v1/models/") :], send)
            else:
                await error(ctx, send, 404, f"Invalid URL ({method} {path})")
        except BadRequest as exc:
            await error(ctx, send, 400, exc.message, exc.param)
        finally:
            self.stats.status(ctx.status)

    async def _control(self, method: str, path: str, send: Send) -> None:
        if path == "/emulator/stats" and method == "GET":
            await send_bytes(send, 200, self.stats.as_json(), [])
        elif path == "/emulator/reset" and method == "POST":
            self.stats.reset()
            await send_bytes(send, 200, orjson.dumps({"reset": True}), [])
        else:
            await send_bytes(send, 404, orjson.dumps({"error": f"no {method} {path}"}), [])


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_emulator(config: EmulatorConfig | None = None) -> EmulatorApp:
    """The emulator ASGI app; ``app.stats`` holds the counters, ``app.config`` the configuration."""
    cfg = config or EmulatorConfig()
    if cfg.api_keys is not None:
        cfg = replace(cfg, api_keys=frozenset(cfg.api_keys))
    _install_log_filter()
    return EmulatorApp(cfg)
