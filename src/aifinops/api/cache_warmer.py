"""The cache warmer of `aifinops serve` (issue 10): a returning dashboard user finds the heavy reports ready.

A background thread, started only by :func:`aifinops.cli.serving.run_server` when the server owns the ledger,
computes the dashboard's default requests once after start-up, then keeps every admin-view entry that a
client asked for in the last :data:`WINDOW_SECONDS` fresh: shortly before it expires (by as long as its last
computation took, at least :data:`MIN_LEAD_SECONDS`), it is computed again, the warmer staying busy at most
:data:`DUTY` of the time (clients get the entry ``stale`` meanwhile). Requests go through the ASGI app
in-process (the access gate included) as the CLI's admin principal, one at a time, on a thread of its own
with a lower scheduling priority; the worker threads it starts inherit that priority (but not the GIL: a
report that runs Python over millions of rows still slows every request of the process while it runs).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aifinops.api.cache import WARM_FLAG, Key, ResponseCache, cache_key

__all__ = ["CacheWarmer", "startup_requests"]

WINDOW_SECONDS = 15 * 60
MIN_LEAD_SECONDS = 5.0
NICE = 10
#: The share of the time the warmer may spend recomputing after start-up (it sleeps in between).
DUTY = 0.25
#: Pages whose panels are the GET routes under these prefixes (``areaPage`` in ``web/static/areas.js``).
AREA_PREFIXES = (
    "/api/v1/gpus",
    "/api/v1/training",
    "/api/v1/anomalies",
    "/api/v1/alerts",
    "/api/v1/forecast",
    "/api/v1/recommendations",
    "/api/v1/savings",
    "/api/v1/zombies",
    "/api/v1/value",
    "/api/v1/maturity",
)
_TEAM_KPIS = "cost_per_1k_inferences,cost_per_token,cost_per_outcome,ai_roi,gpu_utilization_rate"


def startup_requests(server: Any, now: datetime | None = None) -> list[tuple[str, str]]:
    """``(path, query)`` of the requests the dashboard's pages make with their default parameters."""
    month = (now or datetime.now(UTC)).strftime("%Y-%m-01")
    fixed = [
        ("/api/v1/overview", ""),
        ("/api/v1/anomalies", "limit=5"),
        ("/api/v1/recommendations", "limit=5"),
        ("/api/v1/costs", "since=30d"),
        ("/api/v1/costs", "since=30d&grain=day"),
        ("/api/v1/costs", "since=30d&by=team&limit=500"),
        ("/api/v1/dimensions", ""),
        ("/api/v1/usage/models", "since=30d"),
        ("/api/v1/costs", "by=provider&since=30d"),
        ("/api/v1/doctor", ""),
        ("/api/v1/allocation/coverage", ""),
        ("/api/v1/costs", urlencode({"by": "team", "since": month})),
        ("/api/v1/kpis", urlencode({"by": "team", "since": month, "kpis": _TEAM_KPIS})),
        ("/api/v1/workflows", "top=25&since=30d"),
        ("/api/v1/agents", "since=30d"),
    ]
    try:  # what the dashboard's routeList() reads: the OpenAPI document's GET paths without parameters
        paths = server.openapi().get("paths", {})
    except Exception:  # noqa: BLE001 - the fixed requests are warmed anyway
        paths = {}
    areas = sorted(
        path
        for path, ops in paths.items()
        if "get" in ops
        and "{" not in path
        and any(path == p or path.startswith(p + "/") for p in AREA_PREFIXES)
    )
    out = list(fixed)
    for path in areas:
        if (path, "") not in out:
            out.append((path, ""))
    return out


class CacheWarmer:
    """Keeps the admin view's recently asked-for entries fresh, one request at a time."""

    def __init__(
        self, server: Any, *, window_seconds: float = WINDOW_SECONDS, poll_seconds: float = 1.0
    ) -> None:
        self.server = server
        self.cache: ResponseCache = server.state.response_cache
        self.window_seconds = window_seconds
        self.poll_seconds = poll_seconds
        self.warmed = 0
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aifinops-cache-warmer", daemon=True)

    @property
    def ttl(self) -> float:
        return float(self.server.state._state["app"].settings.reporting.cache_seconds)

    def start(self) -> None:
        """Start the thread (not when the cache is off)."""
        if self.ttl > 0:
            self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to stop and wait for the request under way (like uvicorn waits for a client's):
        the ledger must not close under a running query."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def due(self, now: float | None = None) -> list[Key]:
        """Admin-view keys asked for within the window whose entry is missing or about to expire."""
        now = time.monotonic() if now is None else now
        out = []
        for key, asked in list(self.cache.requested.items()):
            if now - asked > self.window_seconds:
                self.cache.requested.pop(key, None)
                continue
            if key[3] != "admin" or key[4]:
                continue  # finance and team views are computed when asked for
            entry = self.cache.peek(key)
            lead = max(MIN_LEAD_SECONDS, 1.5 * self.cache.durations.get(key, 0.0))
            if entry is None or entry.expires - now <= lead:
                out.append((entry.expires if entry else 0.0, key))
        return [key for _, key in sorted(out)]

    def _run(self) -> None:
        with contextlib.suppress(OSError, AttributeError):  # per thread on Linux; inherited by its workers
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
        loop = asyncio.new_event_loop()
        loop.set_default_executor(_DaemonExecutor())  # (asyncio.to_thread routes must not delay the exit)
        began = time.monotonic()
        try:
            for path, query in startup_requests(self.server):
                if self._stop.is_set() or self.ttl <= 0:
                    return
                # kept fresh for the window like a client's request, so the first visitor finds them
                self.cache.note_request(_admin_key(path, query), time.monotonic())
                self._fetch(loop, path, query, "*/*")
            _say(
                f"cache warmer: start-up pass done in {time.monotonic() - began:.0f} s ({self.warmed} warmed, {self.errors} failed)"
            )
            while not self._stop.wait(self.poll_seconds):
                if self.ttl <= 0:
                    continue
                for key in self.due():
                    if self._stop.is_set():
                        return
                    began = time.monotonic()
                    self._fetch(loop, key[0], key[1], key[2])
                    # at most DUTY of the time busy: a report that holds the GIL for seconds (Python over
                    # millions of rows) must not stall the gateway over and over; clients get it stale meanwhile
                    if self._stop.wait((time.monotonic() - began) * (1 / DUTY - 1)):
                        return
        finally:
            loop.close()

    def _fetch(self, loop: asyncio.AbstractEventLoop, path: str, query: str, accept: str) -> int:
        try:
            status = loop.run_until_complete(self.request(path, query, accept))
        except Exception:  # noqa: BLE001 - a failing report must not stop the warmer
            status = 0
        if status == 200:
            self.warmed += 1
        else:
            self.errors += 1
            _say(
                f"cache warmer: GET {path}{'?' + query if query else ''} answered {status or 'an exception'}"
            )
        return status

    async def request(self, path: str, query: str = "", accept: str = "*/*") -> int:
        """GET ``path?query`` through the ASGI app as the CLI's admin principal; returns the status."""
        token = self.server.state._state.get("cli_token") or ""
        headers = [(b"accept", accept.encode("latin-1")), (b"x-aifinops-cli-token", token.encode())]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode("latin-1"),
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 0),
            "server": ("127.0.0.1", 0),
            WARM_FLAG: True,
        }
        status = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.server(scope, receive, send)
        return status


def _say(message: str) -> None:
    import click

    click.echo(message, err=True)


def _admin_key(path: str, query: str) -> Key:
    from aifinops.api.access import CLI_PRINCIPAL

    scope = {"path": path, "query_string": query.encode("latin-1"), "headers": [(b"accept", b"*/*")]}
    return cache_key(scope, CLI_PRINCIPAL)


class _DaemonExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs each call on a daemon thread: the interpreter's exit does not wait for a report being warmed."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
                future.set_exception(exc)

        threading.Thread(target=run, name="aifinops-cache-warmer-worker", daemon=True).start()
        return future
