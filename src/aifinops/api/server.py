"""The ASGI app behind `aifinops serve`: API, dashboard, health; one error shape."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from aifinops.app import App
from aifinops.core.errors import AifinopsError
from aifinops.core.jsonable import jsonable

__all__ = ["create_server", "error_body"]


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    """The one API error shape."""
    return {"error": {"code": code, "message": message, "details": details or []}}


#: API modules of the areas (each has a ``router``), mounted under ``/api/v1``.
_AREAS = ("allocation", "kpis", "reconcile", "gpu", "anomaly", "value", "access", "export")


def create_server(app: App, *, local_mode: bool = True) -> FastAPI:
    """Build the ASGI app around an :class:`App`."""
    from aifinops.api.v1 import router as v1
    from aifinops.web import router as web

    server = FastAPI(
        title="aifinops",
        version=_version(),
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    server.state.app = app
    server.state.local_mode = local_mode
    from aifinops.api.access import install_access

    install_access(server)  # API keys and roles; a team key's requests see only its team (issue 10)
    from aifinops.mcp.http import McpMount

    server.mount("/mcp", McpMount(app, loopback=local_mode))  # the MCP server over streamable HTTP

    @server.exception_handler(AifinopsError)
    async def _aifinops_error(request: Request, exc: AifinopsError) -> JSONResponse:
        return JSONResponse(jsonable(exc.to_dict()), status_code=exc.status)

    @server.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": ".".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        first = details[0] if details else {"loc": "", "message": "invalid request"}
        message = f"{first['loc']}: {first['message']}" if first["loc"] else first["message"]
        return JSONResponse(error_body("invalid_request", message, details), status_code=400)

    @server.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    @server.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(error_body("internal_error", f"{type(exc).__name__}: {exc}"), status_code=500)

    @server.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @server.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        try:
            app.ledger.query("SELECT 1 AS ok")
        except Exception as exc:  # noqa: BLE001 - readiness reports any failure
            return JSONResponse({"status": "unavailable", "reason": str(exc)}, status_code=503)
        return JSONResponse({"status": "ready"})

    from aifinops.api.guardrails import router as guardrails
    from aifinops.api.workflows import router as workflows

    server.include_router(v1, prefix="/api/v1")
    server.include_router(guardrails, prefix="/api/v1")
    server.include_router(workflows, prefix="/api/v1")
    for area in _AREAS:
        server.include_router(import_module(f"aifinops.api.{area}").router, prefix="/api/v1")
    server.include_router(web)
    return server


def _version() -> str:
    from aifinops import __version__

    return __version__
