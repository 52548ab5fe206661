"""Running the MCP server: stdio for a local client, streamable HTTP behind the API key gate."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import click
import orjson

from aifinops.core.errors import AifinopsError
from aifinops.core.jsonable import jsonable

__all__ = ["http_app", "run_mcp", "stdio_server", "McpMount"]

MCP_PATH = "/mcp"


def _bearer(headers: Any) -> str | None:
    if headers is None:
        return None
    value = headers.get("authorization") or ""
    if value[:7].lower() == "bearer ":
        return value[7:].strip() or None
    return (headers.get("x-api-key") or "").strip() or None


def stdio_server(base: Any, key: str | None) -> Any:
    """The server for one local client: it acts for ``key`` (or local mode), checked now, once."""
    from aifinops.mcp.server import build_server

    principal = base.authenticate(key, loopback=True)
    app = base.scoped(principal)
    return build_server(lambda ctx: (app, principal))


class _KeyGate:
    """Refuse HTTP requests without a valid API key (401) unless local mode; lifespan passes through."""

    def __init__(self, inner: Any, base: Any, loopback: bool) -> None:
        self.inner = inner
        self.base = base
        self.loopback = loopback

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
            try:
                self.base.authenticate(_bearer(headers), loopback=self.loopback)
            except AifinopsError as exc:
                body = orjson.dumps(jsonable(exc.to_dict()))
                await send(
                    {
                        "type": "http.response.start",
                        "status": exc.status,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b'Bearer realm="aifinops"'),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.inner(scope, receive, send)


def http_app(base: Any, *, loopback: bool, host: str = "127.0.0.1") -> Any:
    """The streamable-HTTP MCP app (at ``/mcp``): each request acts for the key it carries."""
    from aifinops.mcp.server import build_server

    server = build_server(_resolver(base, loopback))
    inner = server.streamable_http_app(
        streamable_http_path=MCP_PATH, stateless_http=True, json_response=True, host=host
    )
    return _KeyGate(inner, base, loopback)


def _resolver(base: Any, loopback: bool) -> Any:
    def resolve(ctx: Any) -> tuple[Any, Any]:
        principal = base.authenticate(_bearer(ctx.headers), loopback=loopback)
        return base.scoped(principal), principal

    return resolve


class McpMount:
    """The streamable-HTTP MCP endpoint inside ``aifinops serve`` (mounted at ``/mcp``, behind its access gate).

    Built on first use (the server starts without importing the SDK); the SDK's session manager then runs in
    a task of the server's event loop, since the root app does not forward lifespan events.
    """

    def __init__(self, base: Any, *, loopback: bool) -> None:
        self.base = base
        self.loopback = loopback
        self._app: Any = None
        self._lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if self._app is None:
            await self._start()
        await self._app(scope, receive, send)

    async def _start(self) -> None:
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._app is not None:
                return
            from aifinops.mcp.server import build_server

            server = build_server(_resolver(self.base, self.loopback))
            inner = server.streamable_http_app(
                streamable_http_path="/",
                stateless_http=True,
                json_response=True,
                host="127.0.0.1" if self.loopback else "0.0.0.0",  # loopback: DNS-rebinding protection
            )
            ready = asyncio.Event()

            async def hold() -> None:
                async with server.session_manager.run():
                    ready.set()
                    await asyncio.Event().wait()  # until the server's loop ends

            self._task = asyncio.get_running_loop().create_task(hold())
            await ready.wait()
            self._app = inner


def run_mcp(obj: Any, *, transport: str, host: str, port: int) -> None:
    """``aifinops mcp``: serve until the client (stdio) or a signal (HTTP) ends it."""
    from aifinops.cli.remote import find_server
    from aifinops.cli.serving import is_loopback

    running = find_server(obj.data_dir)
    if running is not None:
        raise click.ClickException(
            f"`aifinops serve` holds the ledger in {obj.data_dir}: point the MCP client at its endpoint "
            f"{running.url}/mcp/ (streamable HTTP, same API keys), or stop it to run `aifinops mcp` here"
        )
    base = obj.open_app()
    key = (os.environ.get("AIFINOPS_API_KEY") or "").strip() or None
    try:
        if transport == "stdio":
            try:
                server = stdio_server(base, key)
            except AifinopsError as exc:
                raise click.ClickException(
                    f"{exc.message} (the MCP server reads the key from AIFINOPS_API_KEY)"
                ) from None
            server.run("stdio")
            return
        import uvicorn

        loopback = is_loopback(host)
        mode = (
            "local mode on loopback: no API key required"
            if base.keyless_allowed(loopback)
            else "every request needs Authorization: Bearer <API key>"
        )
        click.echo(
            f"aifinops MCP server (streamable HTTP) on http://{host}:{port}{MCP_PATH}  ({mode})", err=True
        )
        uvicorn.run(http_app(base, loopback=loopback, host=host), host=host, port=port, log_level="warning")
    finally:
        base.close()
