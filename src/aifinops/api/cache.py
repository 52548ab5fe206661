"""A response cache for the read API (issue 10): the dashboard's heavy reports computed once per TTL.

:class:`ResponseCacheMiddleware` sits *inside* the access gate (:mod:`aifinops.api.access`), where the
principal is known: a successful ``GET /api/v1/...`` JSON response is kept under (path, sorted query string,
``Accept``, the principal's role and team scope), so a team key only ever gets bodies computed for its own
team, and an admin or finance key never gets a team's. Entries live ``reporting.cache_seconds`` (0 turns the
cache off); concurrent identical requests wait for one computation (single flight); the cache is a bounded
LRU. Any successful write under ``/api/v1`` (ingest, apply, ack, keys ...) and any configuration reload drop
everything. An expired entry is served for up to :data:`STALE_FACTOR` TTLs more (``stale``) while one
request recomputes it in the background. Responses carry ``x-aifinops-cache: hit|stale|miss`` and ``age``;
``Cache-Control: no-cache`` on a request recomputes it.

Only the heavy reports are cached (:data:`CACHED_PREFIXES`: KPIs, recommendations, workflows and agents,
forecasts, value, maturity, the dashboard's overview, GPU reports, coverage); raw records, spend rollups,
prices, anomalies, budgets and everything else stay live, so a call just metered by the gateway or an OTLP
span just received shows at once there. Within the cached prefixes, :data:`EXCLUDED_PREFIXES` are never
cached, nor anything not ``application/json``, errors, or bodies over :data:`MAX_BODY_BYTES`. Records the
gateway's write-ahead log ships into the ledger do not invalidate: the heavy reports lag them by at most the
TTL (``age`` says by how much).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

__all__ = [
    "ResponseCache",
    "ResponseCacheMiddleware",
    "install_cache",
    "cache_key",
    "CACHED_PREFIXES",
    "EXCLUDED_PREFIXES",
]

#: GET paths never cached: live gateway state, the audit log, per-principal or admin data, files and streams.
EXCLUDED_PREFIXES = (
    "/api/v1/whoami",
    "/api/v1/audit",
    "/api/v1/budgets",  # spend to date plus the gateway's live reservations
    "/api/v1/keys",
    "/api/v1/config",
    "/api/v1/login",
    "/api/v1/logout",
    "/api/v1/export/",
    "/api/v1/statements/",  # JSON, CSV or printable HTML of one owner's month (cheap)
    "/api/v1/openapi.json",
    "/api/v1/docs",
)
#: GET paths that are cached: the reports that take seconds at millions of records.
CACHED_PREFIXES = (
    "/api/v1/kpis",
    "/api/v1/recommendations",
    "/api/v1/workflows",
    "/api/v1/agents",
    "/api/v1/forecast",
    "/api/v1/value",
    "/api/v1/zombies",
    "/api/v1/savings",
    "/api/v1/maturity",
    "/api/v1/overview",
    "/api/v1/usage/models",
    "/api/v1/gpus",
    "/api/v1/training",
    "/api/v1/allocation/coverage",
)
PREFIX = "/api/v1/"
MAX_ENTRIES = 512
MAX_BYTES = 128 * 1024 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
#: An expired entry is still served (``x-aifinops-cache: stale``) for this many TTLs while one request
#: recomputes it in the background: at 10 million records some reports take longer than the TTL.
STALE_FACTOR = 10
#: Scope flags set by the in-process warmer (clients cannot set ASGI scope keys).
WARM_FLAG = "aifinops.cache_warm"

Key = tuple[str, str, str, str, str]


@dataclass
class Entry:
    """One cached response."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    created: float
    expires: float


@dataclass
class _Flight:
    generation: int
    future: concurrent.futures.Future[Entry | None] = field(default_factory=concurrent.futures.Future)


def cache_key(scope: dict[str, Any], principal: Any) -> Key:
    """(path, sorted query string, Accept, role, team scope) of a request."""
    query = scope.get("query_string", b"").decode("latin-1")
    normal = urlencode(sorted(parse_qsl(query, keep_blank_values=True)))
    accept = ""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"accept":
            accept = value.decode("latin-1")
    return (scope["path"], normal, accept, principal.role, principal.scoped_team or "")


class ResponseCache:
    """A thread-safe LRU of responses with a TTL, single-flight computations and a generation counter."""

    def __init__(
        self,
        *,
        max_entries: int = MAX_ENTRIES,
        max_bytes: int = MAX_BYTES,
        prefixes: tuple[str, ...] = CACHED_PREFIXES,
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.prefixes = prefixes  # the GET paths cached (see CACHED_PREFIXES)
        self._entries: OrderedDict[Key, Entry] = OrderedDict()
        self._flights: dict[Key, _Flight] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        self.generation = 0
        self.requested: dict[Key, float] = {}  # key -> when a client (not the warmer) last asked for it
        self.durations: dict[Key, float] = {}  # key -> seconds its last computation took
        self.settings: Any = None  # the settings object the entries were computed under

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Key, now: float | None = None, stale_for: float = 0.0) -> Entry | None:
        """The entry of ``key`` (marked recently used), or None: live, or expired less than ``stale_for`` ago."""
        now = time.monotonic() if now is None else now
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires + stale_for <= now:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry

    def peek(self, key: Key) -> Entry | None:
        """The entry of ``key``, expired or not, without touching the LRU order."""
        with self._lock:
            return self._entries.get(key)

    def begin(self, key: Key) -> tuple[bool, _Flight]:
        """Join the computation of ``key`` under way, or lead a new one: ``(leader, flight)``."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None and flight.generation == self.generation:
                return False, flight  # (one begun before a write would answer with the old figures)
            flight = self._flights[key] = _Flight(self.generation)
            return True, flight

    def finish(self, key: Key, flight: _Flight, entry: Entry | None) -> None:
        """End a computation: keep ``entry`` unless the cache was invalidated meanwhile; wake the waiters."""
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]
            if entry is not None and flight.generation == self.generation:
                self._put(key, entry)
        flight.future.set_result(entry)

    def note_request(self, key: Key, now: float) -> None:
        """Remember that a client asked for ``key`` (the warmer keeps such entries fresh); bounded."""
        self.requested[key] = now
        if len(self.requested) > 4 * self.max_entries:
            with self._lock:
                for old in sorted(self.requested, key=lambda k: self.requested.get(k, 0.0))[
                    : self.max_entries
                ]:
                    self.requested.pop(old, None)
                    self.durations.pop(old, None)

    def clear(self) -> None:
        """Drop every entry; computations under way will not store theirs."""
        with self._lock:
            self.generation += 1
            self._entries.clear()
            self._bytes = 0

    def check_settings(self, settings: Any) -> None:
        """Drop everything when the configuration was reloaded (a new settings object)."""
        if settings is not self.settings:
            if self.settings is not None:
                self.clear()
            self.settings = settings

    def _put(self, key: Key, entry: Entry) -> None:
        if key in self._entries:
            self._drop(key)
        if len(entry.body) > self.max_bytes:
            return
        self._entries[key] = entry
        self._bytes += len(entry.body)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: Key) -> None:
        entry = self._entries.pop(key)
        self._bytes -= len(entry.body)


def _is_write(scope: dict[str, Any]) -> bool:
    from aifinops.api.access import _READ_ONLY, _READ_ONLY_PREFIXES

    method, path = scope["method"].upper(), scope["path"]
    if method in ("GET", "HEAD", "OPTIONS") or (method, path) in _READ_ONLY:
        return False
    return path.startswith(PREFIX) and not path.startswith(_READ_ONLY_PREFIXES)


def _cacheable_path(path: str, prefixes: tuple[str, ...] = CACHED_PREFIXES) -> bool:
    return path.startswith(prefixes) and not path.startswith(EXCLUDED_PREFIXES)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes:
    for key, value in headers:
        if key.lower() == name:
            return value
    return b""


class ResponseCacheMiddleware:
    """Pure ASGI middleware; must run inside :class:`aifinops.api.access.AccessMiddleware`."""

    def __init__(self, app: Any, server: Any, cache: ResponseCache) -> None:
        self.app = app
        self.server = server
        self.cache = cache
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        principal = scope.get("state", {}).get("principal") if scope["type"] == "http" else None
        if principal is None:  # not http, or a public path the gate did not scope
            await self.app(scope, receive, send)
            return
        base = self.server.state._state["app"]
        self.cache.check_settings(base.settings)
        ttl = float(base.settings.reporting.cache_seconds)
        if _is_write(scope):
            await self._write(scope, receive, send)
            return
        if (
            ttl <= 0
            or scope["method"].upper() != "GET"
            or not _cacheable_path(scope["path"], self.cache.prefixes)
        ):
            await self.app(scope, receive, send)
            return
        key = cache_key(scope, principal)
        warm = bool(scope.get(WARM_FLAG))
        now = time.monotonic()
        if not warm:
            self.cache.note_request(key, now)
        refresh = warm or b"no-cache" in _header(scope.get("headers", []), b"cache-control")
        entry = None if refresh else self.cache.get(key, now, STALE_FACTOR * ttl)
        if entry is not None:
            fresh = entry.expires > now
            await _replay(send, entry, b"hit" if fresh else b"stale", now)
            if not fresh:  # stale while revalidating: one recomputation in the background
                self._revalidate(scope, key, ttl)
            return
        leader, flight = self.cache.begin(key)
        if not leader:
            entry = await asyncio.wrap_future(flight.future)
            if entry is not None:
                await _replay(send, entry, b"hit", time.monotonic())
                return
            await self.app(scope, receive, send)  # the leader's response was not cacheable: compute our own
            return
        await self._lead(scope, receive, send, key, flight, ttl)

    def _revalidate(self, scope: dict[str, Any], key: Key, ttl: float) -> None:
        leader, flight = self.cache.begin(key)
        if not leader:
            return  # already being recomputed

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def discard(message: dict[str, Any]) -> None:
            return None

        task = asyncio.get_running_loop().create_task(
            self._lead(dict(scope), receive, discard, key, flight, ttl)
        )
        self._tasks.add(task)  # (a reference, so it is not collected while it runs)
        task.add_done_callback(self._tasks.discard)

    async def _lead(self, scope: Any, receive: Any, send: Any, key: Key, flight: _Flight, ttl: float) -> None:
        start: dict[str, Any] = {}
        chunks: list[bytes] = []
        size = 0
        began = time.monotonic()

        async def capture(message: dict[str, Any]) -> None:
            nonlocal size
            if message["type"] == "http.response.start":
                start.update(message)
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-aifinops-cache", b"miss")],
                }
            elif message["type"] == "http.response.body" and size <= MAX_BODY_BYTES:
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
            await send(message)

        entry = None
        try:
            await self.app(scope, receive, capture)
            headers = list(start.get("headers", []))
            json = _header(headers, b"content-type").startswith(b"application/json")
            if start.get("status") == 200 and json and size <= MAX_BODY_BYTES:
                done = time.monotonic()
                self.cache.durations[key] = done - began
                entry = Entry(200, headers, b"".join(chunks), done, done + ttl)
        finally:
            self.cache.finish(key, flight, entry)

    async def _write(self, scope: Any, receive: Any, send: Any) -> None:
        status = 0
        invalidates = _is_invalidating(scope)

        async def watch(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if status < 400 and invalidates:
                    self.cache.clear()  # before the client can read again, so it never sees the old figures
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            if 0 < status < 400 and invalidates:
                self.cache.clear()  # and again after, for reads that started while the write ran


def _is_invalidating(scope: dict[str, Any]) -> bool:
    from aifinops.api.access import FLEET_PRINCIPAL

    # records shipped by a fleet gateway are like the local gateway's WAL: they lag by at most the TTL
    return scope.get("state", {}).get("principal") is not FLEET_PRINCIPAL


async def _replay(send: Any, entry: Entry, state: bytes, now: float) -> None:
    age = str(max(0, int(now - entry.created))).encode()
    headers = [*entry.headers, (b"x-aifinops-cache", state), (b"age", age)]
    await send({"type": "http.response.start", "status": entry.status, "headers": headers})
    await send({"type": "http.response.body", "body": entry.body})


def install_cache(server: Any, cache: ResponseCache | None = None) -> ResponseCache:
    """Put a response cache just inside the access gate of ``server`` (call before it serves)."""
    from starlette.middleware import Middleware

    cache = cache or ResponseCache()
    # user_middleware[0] is the outermost: appending puts the cache innermost, after the principal is known
    server.user_middleware.append(Middleware(ResponseCacheMiddleware, server=server, cache=cache))
    server.state.response_cache = cache
    return cache
