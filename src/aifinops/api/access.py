"""API routes and the access gate: API keys and roles for the API, dashboard and MCP server (issue 10).

:class:`AccessMiddleware` authenticates every request to the API and the dashboard's data (``/api/v1/...``)
and serves it with the facade the principal may see: while a request runs, ``request.app.state.app`` *is*
that facade (a team key's reads only its team's rows, see :mod:`aifinops.access.scope`), so no route has to
know about access control. Writes need an admin key; ``/api/v1/keys`` is admin-only.
"""

from __future__ import annotations

import contextvars
import hmac
import secrets
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.datastructures import State

from aifinops.access.keys import Principal
from aifinops.core.errors import AifinopsError, Forbidden
from aifinops.core.jsonable import jsonable

__all__ = ["router", "AccessMiddleware", "install_access", "register_read_only", "principal_of"]

router = APIRouter()

#: Paths served to anyone: health, the OpenAPI document and its viewer, login, the dashboard's static shell.
PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/readyz",
        "/",
        "/favicon.ico",
        "/api/v1/openapi.json",
        "/api/v1/docs",
        "/api/v1/docs/oauth2-redirect",
        "/docs/oauth2-redirect",
        "/api/v1/login",
        "/api/v1/logout",
    }
)
PUBLIC_PREFIXES = ("/static/",)
#: Paths only an admin key may call, whatever the method.
ADMIN_PREFIXES = ("/api/v1/keys", "/api/v1/config")
#: Configuration that names every team (finance and admin keys only): a team key gets 403.
TEAM_DENIED_PREFIXES = ("/api/v1/allocation/rules",)
#: ``(method, path)`` of POST routes that only read (finance and team keys may call them).
_READ_ONLY: set[tuple[str, str]] = {
    ("POST", "/api/v1/forecast/scenario"),  # a what-if computation: nothing is stored
}
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Paths whose POSTs only read: the MCP endpoint (JSON-RPC over POST; every tool reads).
_READ_ONLY_PREFIXES = ("/mcp",)

#: What the current request sees: ``{"app": ..., "gateway": ..., "principal": ...}``.
_VIEW: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("aifinops_view", default=None)


def register_read_only(method: str, path: str) -> None:
    """Mark a non-GET route as a read (e.g. a POST query with a body), so read-only keys may call it."""
    _READ_ONLY.add((method.upper(), path))


def principal_of(request: Request) -> Principal:
    """The principal of the current request (the local principal when access control is not installed)."""
    from aifinops.access.keys import LOCAL_PRINCIPAL

    view = _VIEW.get()
    return view["principal"] if view else LOCAL_PRINCIPAL


class _ScopedState(State):
    """``server.state`` whose ``app`` and ``gateway`` are the current request's view of them."""

    def __getattr__(self, key: Any) -> Any:
        view = _VIEW.get()
        if view is not None and key in view:
            return view[key]
        return super().__getattr__(key)


class _TeamAudit:
    """The guardrail audit log as a team sees it: the decisions about its own requests."""

    def __init__(self, audit: Any, team: str) -> None:
        self._audit = audit
        self._team = team

    def read(self, *, limit: int = 100, decision: str | None = None) -> list[dict[str, Any]]:
        rows = self._audit.read(limit=max(limit * 20, 1_000), decision=decision)
        mine = [
            r for r in rows if isinstance(r.get("subject"), dict) and r["subject"].get("team") == self._team
        ]
        return mine[:limit]

    def write(self, entry: dict[str, Any]) -> None:
        raise Forbidden("a team key cannot write the audit log")


class _TeamGateway:
    """The gateway as a team sees it: its live counters, and only its own audit entries."""

    def __init__(self, gateway: Any, team: str) -> None:
        self._gateway = gateway
        self.audit = _TeamAudit(gateway.audit, team)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)


def _token(scope: dict[str, Any], cookie_name: str) -> str | None:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    if headers.get("x-api-key"):
        return headers["x-api-key"].strip()
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == cookie_name and value:
            return value
    return None


#: The principal of a CLI command on this machine that presents the data folder's token.
CLI_PRINCIPAL = Principal(key_id=None, name="cli (data folder owner)", role="admin")


def _cli_principal(scope: dict[str, Any], expected: str | None) -> Principal | None:
    if not expected:
        return None
    for name, value in scope.get("headers", ()):
        if name.lower() == b"x-aifinops-cli-token":
            return CLI_PRINCIPAL if hmac.compare_digest(value, expected.encode()) else None
    return None


#: A gateway of the fleet that presents ``fleet.token``: it ships its records and reads spend to date.
FLEET_PRINCIPAL = Principal(key_id=None, name="fleet gateway", role="admin")
FLEET_ROUTES = frozenset({("POST", "/api/v1/records"), ("GET", "/api/v1/costs")})


def _fleet_principal(scope: dict[str, Any], base: Any) -> Principal | None:
    configured = base.settings.fleet.token
    if not configured:
        return None
    from aifinops.core.settings import resolve_secret

    for name, value in scope.get("headers", ()):
        if name.lower() == b"x-aifinops-fleet-token":
            expected = resolve_secret(configured)
            ok = expected is not None and hmac.compare_digest(value, str(expected).encode())
            return FLEET_PRINCIPAL if ok else None
    return None


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class AccessMiddleware:
    """Authenticate, authorize and scope every non-public request (pure ASGI, so contextvars reach routes)."""

    def __init__(self, app: Any, server: Any) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or _is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        state = self.server.state
        base = state._state["app"]
        try:
            principal = self._authorize(scope, base, bool(state._state.get("local_mode")))
        except AifinopsError as exc:
            await _error(send, exc)
            return
        gateway = state._state.get("gateway")
        team = principal.scoped_team
        try:
            view = {
                "app": base.scoped(principal),
                "gateway": _TeamGateway(gateway, team) if team and gateway is not None else gateway,
                "principal": principal,
            }
        except AifinopsError as exc:
            await _error(send, exc)
            return
        scope.setdefault("state", {})["principal"] = principal
        extra = [(b"x-aifinops-role", principal.role.encode())]
        if principal.local:
            extra.append((b"x-aifinops-access", b"local-mode; no API key required on loopback"))

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        token = _VIEW.set(view)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            _VIEW.reset(token)

    def _authorize(self, scope: dict[str, Any], base: Any, loopback: bool) -> Principal:
        principal = _cli_principal(scope, self.server.state._state.get("cli_token"))
        if principal is None and _fleet_principal(scope, base) is not None:
            if (scope["method"].upper(), scope["path"]) not in FLEET_ROUTES:
                raise Forbidden(f"the fleet token only ships records and reads spend, not {scope['path']}")
            return FLEET_PRINCIPAL
        if principal is None:
            principal = base.authenticate(_token(scope, base.settings.access.cookie_name), loopback=loopback)
        path, method = scope["path"], scope["method"].upper()
        if path.startswith(ADMIN_PREFIXES) and principal.role != "admin":
            raise Forbidden(f"{path} needs an admin key; this is a {principal.role} key")
        if principal.scoped_team is not None and path.startswith(TEAM_DENIED_PREFIXES):
            raise Forbidden(f"{path} shows the configuration of every team; a team key cannot read it")
        reads = (
            method in _READ_METHODS or (method, path) in _READ_ONLY or path.startswith(_READ_ONLY_PREFIXES)
        )
        if not reads and not principal.can_write:
            raise Forbidden(f"a {principal.role} key can only read; {method} {path} needs an admin key")
        return principal


async def _error(send: Any, exc: AifinopsError) -> None:
    headers = [(b"content-type", b"application/json")]
    if exc.status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="aifinops"'))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": orjson.dumps(jsonable(exc.to_dict()))})


def install_access(server: Any) -> None:
    """Put the access gate in front of ``server`` (a FastAPI app whose ``state.app`` is the facade)."""
    server.state = _ScopedState(dict(server.state._state))
    # `aifinops serve` writes this token to the data folder (owner-only) for CLI commands: whoever can read
    # the data folder could open the ledger itself, so the token acts as admin
    server.state.cli_token = secrets.token_urlsafe(32)
    server.add_middleware(AccessMiddleware, server=server)


# -- routes -------------------------------------------------------------------------------------
class KeyCreate(BaseModel):
    """A new API key."""

    name: str = Field(min_length=1, max_length=200)
    role: str = Field(pattern="^(admin|finance|team)$")
    team: str | None = Field(default=None, max_length=200)


class Login(BaseModel):
    """An API key to keep in the dashboard's cookie."""

    key: str = Field(min_length=1, max_length=200)


@router.get("/whoami", summary="Who the API key (or local mode) is: role, team, local mode")
def whoami(request: Request) -> dict[str, Any]:
    return principal_of(request).to_dict()


@router.get("/keys", summary="API keys (admin only; never their secrets)")
def keys_list(
    request: Request, include_revoked: Annotated[bool, Query(description="also list revoked keys")] = False
) -> list[dict[str, Any]]:
    return jsonable(request.app.state.app.keys_list(include_revoked=include_revoked))


@router.post("/keys", status_code=201, summary="Create an API key (admin only); the key is shown once")
def keys_create(request: Request, body: KeyCreate) -> dict[str, Any]:
    return jsonable(request.app.state.app.keys_create(name=body.name, role=body.role, team=body.team))


@router.delete("/keys/{key_id}", summary="Revoke an API key (admin only)")
def keys_revoke(request: Request, key_id: Annotated[str, PathParam(max_length=100)]) -> dict[str, Any]:
    return jsonable(request.app.state.app.keys_revoke(key_id))


@router.post("/login", summary="Check an API key and keep it in an HttpOnly cookie for the dashboard")
def login(request: Request, body: Login) -> JSONResponse:
    app = request.app.state.app
    principal = app.authenticate(body.key)
    response = JSONResponse(jsonable(principal.to_dict()))
    response.set_cookie(
        app.settings.access.cookie_name, body.key, httponly=True, samesite="strict", max_age=30 * 86_400
    )
    return response


@router.post("/logout", summary="Forget the dashboard's API key cookie")
def logout(request: Request) -> JSONResponse:
    response = JSONResponse({"logged_out": True})
    response.delete_cookie(request.app.state.app.settings.access.cookie_name)
    return response


@router.get("/login", include_in_schema=False, response_class=HTMLResponse)
def login_page() -> HTMLResponse:
    return HTMLResponse(_LOGIN_PAGE)


_LOGIN_PAGE = """<!doctype html><meta charset="utf-8"><title>aifinops: sign in</title>
<style>body{font:15px system-ui;margin:4em auto;max-width:28em}input{width:100%;padding:.4em}</style>
<h1>aifinops</h1><p>This server needs an API key (<code>aifinops keys create</code>).</p>
<form id="f"><input id="k" type="password" placeholder="afk_..." autofocus><p><button>Sign in</button>
<span id="m"></span></form>
<script>
document.getElementById("f").onsubmit = async (e) => {
  e.preventDefault();
  const r = await fetch("/api/v1/login", {method: "POST", headers: {"content-type": "application/json"},
    body: JSON.stringify({key: document.getElementById("k").value})});
  if (r.ok) { location.href = "/"; return; }
  document.getElementById("m").textContent = (await r.json()).error.message;
};
</script>"""
