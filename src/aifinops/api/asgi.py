"""The one ASGI app behind `aifinops serve`: the gateway's hot path never goes through FastAPI routing.

/v1/chat/completions, /v1/responses, /v1/embeddings, /v1/models, /v1/messages  -> gateway (raw ASGI)
/v1/traces, /v1/metrics                                                       -> OTLP receiver (raw ASGI)
/metrics                                                                      -> Prometheus text
/_emulator/...   (demo mode only)                                             -> provider emulators
everything else (/api/v1, /, /healthz, /readyz)                               -> FastAPI
"""

from __future__ import annotations

import asyncio
from typing import Any

from aifinops.gateway.metrics import CONTENT_TYPE_LATEST

__all__ = ["RootApp", "health_app"]

_OTLP = ("/v1/traces", "/v1/metrics", "/v1/logs")


class RootApp:
    """Dispatch by path prefix."""

    def __init__(self, api: Any, gateway: Any, emulator: Any | None = None, otlp: Any | None = None) -> None:
        self.api = api
        self.gateway = gateway
        self.emulator = emulator
        self.otlp = otlp

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if self.otlp is not None and path in _OTLP[:2]:
                await self.otlp(scope, receive, send)
                return
            if path.startswith("/v1/") and path not in _OTLP:
                await self.gateway(scope, receive, send)
                return
            if path == "/metrics":
                body = self.gateway.metrics.render()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [(b"content-type", CONTENT_TYPE_LATEST.encode())],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
            if self.emulator is not None and path.startswith("/_emulator/"):
                inner = dict(scope)
                inner["path"] = path[len("/_emulator") :]
                inner["raw_path"] = inner["path"].encode()
                await self.emulator(inner, receive, send)
                return
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self.api(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.gateway.aclose()
                if self.otlp is not None:  # store what the OTLP spool holds
                    await asyncio.to_thread(self.otlp.close)
                await send({"type": "lifespan.shutdown.complete"})
                return


async def health_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The only non-gateway routes of a gateway-only process: ``/healthz`` and ``/readyz``."""
    if scope["type"] != "http":
        return
    found = scope["path"] in ("/healthz", "/readyz")
    body = (
        b'{"status":"ok"}' if found else b'{"error":{"code":"not_found","message":"not found","details":[]}}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 200 if found else 404,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
