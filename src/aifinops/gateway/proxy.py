"""The gateway: a raw ASGI app speaking the OpenAI and Anthropic APIs, metering every call.

Hot path rules (DESIGN §5): no blocking I/O but one ``os.write`` to the write-ahead log per call, before the
response completes; the ledger is written later, in batches, by the WAL shipper.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson

from aifinops.budgets.policy import Policy, compile_policy
from aifinops.core.errors import InputError
from aifinops.gateway.audit import AuditLog
from aifinops.gateway.cache import CachedResponse, ResponseCache
from aifinops.gateway.counters import Counters, make_counters
from aifinops.gateway.errors import error_response
from aifinops.gateway.fingerprint import fingerprint
from aifinops.gateway.guard import Guard, Refused, subject_of
from aifinops.gateway.keys import KeyRing, attribution_from_headers, hash_key
from aifinops.gateway.metering import CallContext, build_record, estimate_usage
from aifinops.gateway.metrics import GatewayMetrics
from aifinops.gateway.routing import Router, Target
from aifinops.gateway.streaming import relay_stream
from aifinops.gateway.wal import WalWriter
from aifinops.gateway.wire import down_headers, error_text, models_listing, usage_of

__all__ = ["Gateway", "ROUTES"]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

#: path -> (protocol, route, upstream suffix)
ROUTES = {
    "/v1/chat/completions": ("openai", "chat", "/chat/completions"),
    "/v1/responses": ("openai", "responses", "/responses"),
    "/v1/embeddings": ("openai", "embeddings", "/embeddings"),
    "/v1/messages": ("anthropic", "messages", "/messages"),
}
_RETRYABLE = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
_UP_PASS = ("anthropic-version", "anthropic-beta", "openai-organization", "openai-project", "openai-beta")
_JSON = (b"content-type", b"application/json")


class Gateway:
    """Meter every call: attribution, routing with fallback, exact cache, WAL, metrics."""

    def __init__(
        self,
        app: Any,
        *,
        wal: WalWriter | None = None,
        local_mode: bool = True,
        counters: Counters | None = None,
        audit: AuditLog | None = None,
        spent_loader: Any = None,
    ) -> None:
        self.app = app
        self.catalog = app.catalog
        self.metrics = GatewayMetrics()
        self.wal = wal
        self.local_mode = local_mode
        self.sink: Callable[[Any], None] | None = None  # extra observer of records (tests, live views)
        self.embed_queue: Any = None  # an EmbedQueue when value.keep_embeddings is on (gateway/embedder.py)
        self._session: aiohttp.ClientSession | None = None
        self.audit = audit or AuditLog(None)
        self.counters = counters or make_counters(app.settings.redis_url, app.settings.redis_prefix)
        self.guard = Guard(Policy(), self.counters, self.catalog, self.audit, spent_loader)
        self.reload(app.settings)

    def reload(self, settings: Any) -> None:
        """Apply new settings without a restart: keys, routing, cache and the guardrail policy.
        Live counters (reservations, buckets) are kept."""
        self.settings = settings
        self.catalog = self.app.catalog
        self.guard.catalog = self.catalog
        self.router = Router(settings, self.catalog)
        self.keys = KeyRing(settings.keys)
        require = settings.gateway.require_key
        self.require_key = (len(self.keys) > 0 or bool(settings.keys)) if require is None else require
        self.cache = ResponseCache(settings.gateway.cache)
        self.max_body = settings.gateway.max_body_bytes
        self.guard.policy = compile_policy(
            settings.budgets, settings.rate_limits, settings.models, settings.agents, settings.guardrails
        )

    # -- plumbing -------------------------------------------------------------------------------
    def session(self) -> aiohttp.ClientSession:
        """The upstream connection pool (created in the running event loop)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=60)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=True)
        return self._session

    async def aclose(self) -> None:
        """Close upstream connections."""
        if self._session is not None:
            await self._session.close()

    def emit(self, record: Any, total_s: float, overhead_s: float) -> None:
        """A finished call: WAL first (durable), then metrics."""
        if self.wal is not None:
            self.wal.record(record)
        if self.sink is not None:
            self.sink(record)
        self.metrics.observe(record, total_s, overhead_s)

    def emit_for(self, ctx: CallContext, record: Any, total_s: float, overhead_s: float) -> None:
        """:meth:`emit`, remembering the record on the call (the guardrails settle from it)."""
        ctx.record = record
        self.emit(record, total_s, overhead_s)

    @staticmethod
    async def _respond(
        send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        hdrs = headers if headers is not None else [_JSON]
        hdrs = [*hdrs, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": hdrs})
        await send({"type": "http.response.body", "body": body})

    async def _error(
        self,
        send: Send,
        protocol: str,
        status: int,
        message: str,
        *,
        headers: list[tuple[bytes, bytes]] | None = None,
        **kw: Any,
    ) -> None:
        status, body = error_response(protocol, status, message, **kw)
        await self._respond(send, status, body, [_JSON, *(headers or [])])

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body:
                return None
        chunks = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ConnectionResetError("client disconnected while sending the request")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    # -- ASGI -----------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if path == "/v1/models" or path.startswith("/v1/models/"):
            await self._models(path, headers, send)
            return
        route = ROUTES.get(path)
        if route is None:
            await self._error(send, "openai", 404, f"unknown path {path}")
            return
        protocol, name, suffix = route
        if scope["method"] != "POST":
            await self._error(send, protocol, 405, f"{path} takes POST")
            return
        started = time.perf_counter()
        try:
            raw = await self._read_body(scope, receive)
        except ConnectionResetError:
            return
        if raw is None:
            await self._error(send, protocol, 413, f"request body is larger than {self.max_body} bytes")
            return
        await self._serve(scope, receive, send, headers, raw, protocol, name, suffix, started)

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: dict[str, str],
        raw: bytes,
        protocol: str,
        name: str,
        suffix: str,
        started: float,
    ) -> None:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            await self._error(send, protocol, 400, f"request body is not valid JSON: {exc}")
            return
        if not isinstance(body, dict):
            await self._error(send, protocol, 400, "request body must be a JSON object")
            return
        model = body.get("model")
        if not isinstance(model, str) or not model:
            await self._error(send, protocol, 400, "model is required", param="model")
            return
        auth = headers.get("authorization", "")
        presented = (
            auth[7:].strip()
            if auth[:7].lower() == "bearer "
            else (headers.get("x-api-key") or headers.get("api-key"))
        )
        key = self.keys.lookup(presented)
        if self.require_key and key is None:
            await self._error(send, protocol, 401, "missing or unknown aifinops gateway key")
            return
        try:
            attribution = attribution_from_headers(headers, key, body)
        except InputError as exc:
            await self._error(send, protocol, 400, exc.message)
            return
        key_name = key.name if key else (f"passthrough:{hash_key(presented)[:12]}" if presented else None)
        targets = self.router.targets(protocol, model)
        if not targets:
            await self._error(send, protocol, 404, f"no upstream serves model {model!r}", param="model")
            return
        stream = body.get("stream") is True and name != "embeddings"
        ctx = CallContext(
            protocol=protocol,
            route=name,
            model_requested=model,
            attribution=attribution,
            api_key_name=key_name,
            stream=stream,
            prompt_chars=len(raw),
            fingerprint=fingerprint(name, body, raw),
        )
        if self.embed_queue is not None:  # opt-in: the last user turn, to the embedder thread (never blocks)
            self.embed_queue.offer(ctx.request_id, name, body, attribution.fields)
        ticket = None
        if not self.guard.policy.empty:
            upstream = targets[0].upstream
            subject = subject_of(
                attribution.fields,
                attribution.tags,
                key.name if key else None,
                model,
                upstream.pricing_provider,
            )
            try:
                ticket, refused, new_body = await self.guard.admit(
                    ctx.request_id, subject, body, raw, name, upstream.type
                )
            except Exception as exc:  # noqa: BLE001 - e.g. Redis unreachable: fail closed, say why
                refused = Refused(
                    503,
                    "guardrails_unavailable",
                    "guardrails",
                    f"guardrails unavailable ({type(exc).__name__}: {exc}); the call was not forwarded",
                )
                ticket = new_body = None
            if refused is not None:
                await self._refused(send, ctx, targets[0], refused, started)
                return
            if new_body is not None:
                body, raw = new_body, orjson.dumps(new_body)
                if body["model"] != model:
                    targets = self.router.targets(protocol, body["model"]) or targets
        try:
            await self._admitted(
                scope, receive, send, ctx, body, raw, targets, suffix, key, presented, headers, started
            )
        finally:
            if ticket is not None:
                await self._finish(ticket, ctx.record)

    async def _finish(self, ticket: Any, record: Any) -> None:
        """Settle or release a ticket after the response; a failure here is logged, never raised at the client."""
        try:
            if record is None:
                await asyncio.shield(self.guard.release(ticket))
            else:
                tokens = record.input_tokens + record.cached_input_tokens + record.cache_write_5m_tokens
                tokens += record.cache_write_1h_tokens + record.output_tokens
                await asyncio.shield(self.guard.settle(ticket, record.effective_cost, tokens))
        except Exception as exc:  # noqa: BLE001 - reservations expire on their own
            self.audit.write(
                {
                    "decision": "settle_failed",
                    "request_id": ticket.id,
                    "message": f"{type(exc).__name__}: {exc}",
                }
            )

    def _failed(
        self,
        ctx: CallContext,
        target: Target,
        started: float,
        status: str,
        http_status: int,
        error: str,
        tags: dict[str, str] | None,
    ) -> None:
        """Record a call that used no tokens: refused by a guardrail, or no upstream answered (cost $0)."""
        elapsed = time.perf_counter() - started
        record = build_record(
            ctx,
            self.catalog,
            target=target,
            usage=None,
            served_model=None,
            service_tier=None,
            status=status,
            http_status=http_status,
            latency_ms=elapsed * 1000,
            error=error,
            extra_tags=tags,
        )
        self.emit_for(ctx, record, elapsed, elapsed if status == "rejected" else 0.0)

    async def _refused(
        self, send: Send, ctx: CallContext, target: Target, refused: Refused, started: float
    ) -> None:
        tags = {"guardrail": refused.kind, "rule": refused.rule}
        self._failed(ctx, target, started, "rejected", refused.status, refused.message, tags)
        await self._error(
            send, ctx.protocol, refused.status, refused.message, code=refused.kind, headers=refused.headers
        )

    async def _admitted(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        ctx: CallContext,
        body: dict[str, Any],
        raw: bytes,
        targets: list[Target],
        suffix: str,
        key: Any,
        presented: str | None,
        headers: dict[str, str],
        started: float,
    ) -> None:
        name = ctx.route
        model = body["model"]
        stream = ctx.stream
        cache_key = None
        if not stream and self.cache.enabled_for(name, model):
            cache_key = self.cache.key(name, body, ctx.api_key_name or ctx.attribution.fields.get("team", ""))
            hit = self.cache.get(cache_key)
            if hit is not None:
                await self._cache_hit(send, ctx, hit, targets[0], started)
                return
        passthrough = presented if (key is None and presented) else None
        await self._forward(
            scope, receive, send, ctx, body, raw, targets, suffix, passthrough, headers, cache_key, started
        )

    async def _cache_hit(
        self, send: Send, ctx: CallContext, hit: CachedResponse, target: Target, started: float
    ) -> None:
        elapsed = time.perf_counter() - started
        record = build_record(
            ctx,
            self.catalog,
            target=target,
            usage=hit.usage,
            served_model=hit.served_model,
            service_tier=hit.service_tier,
            status="ok",
            http_status=hit.status,
            latency_ms=elapsed * 1000,
            cache_hit=True,
        )
        self.emit_for(ctx, record, elapsed, elapsed)
        extra = [(b"x-aifinops-request-id", ctx.request_id.encode()), (b"x-aifinops-cache", b"hit")]
        await self._respond(send, hit.status, hit.body, [*hit.headers, *extra])

    def _upstream_request(
        self,
        target: Target,
        ctx: CallContext,
        body: dict[str, Any],
        raw: bytes,
        suffix: str,
        passthrough: str | None,
        client_headers: dict[str, str],
        strip: bool,
    ) -> tuple[str, bytes, dict[str, str]]:
        upstream = target.upstream
        payload = raw  # raw always matches body (a policy rewrite re-serializes both)
        if target.model != body["model"] or strip:
            out = dict(body)
            out["model"] = target.model
            if strip:
                out["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
            payload = orjson.dumps(out)
        hdrs = {"content-type": "application/json"}
        for name in _UP_PASS:
            if name in client_headers:
                hdrs[name] = client_headers[name]
        credential = upstream.api_key or passthrough
        if upstream.type == "anthropic":
            hdrs.setdefault("anthropic-version", "2023-06-01")
            if credential:
                hdrs["x-api-key"] = credential
        elif upstream.type == "azure":
            if credential:
                hdrs["api-key"] = credential
        elif credential:
            hdrs["authorization"] = f"Bearer {credential}"
        hdrs.update(upstream.headers)
        return upstream.url(suffix, target.model), payload, hdrs

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        ctx: CallContext,
        body: dict[str, Any],
        raw: bytes,
        targets: list[Target],
        suffix: str,
        passthrough: str | None,
        client_headers: dict[str, str],
        cache_key: str | None,
        started: float,
    ) -> None:
        strip = False
        if ctx.stream and ctx.route == "chat":
            options = body.get("stream_options")
            strip = not (isinstance(options, dict) and options.get("include_usage"))
        session = self.session()
        last_error = "no upstream tried"
        response = None
        tried: list[str] = []
        up_started = time.perf_counter()
        for i, target in enumerate(targets):
            url, payload, hdrs = self._upstream_request(
                target, ctx, body, raw, suffix, passthrough, client_headers, strip
            )
            tried.append(target.upstream.name)
            timeout = aiohttp.ClientTimeout(
                total=None if ctx.stream else target.upstream.timeout,
                sock_connect=10,
                sock_read=target.upstream.timeout,
            )
            try:
                response = await session.post(url, data=payload, headers=hdrs, timeout=timeout)
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                last_error = f"{target.upstream.name}: {type(exc).__name__}: {exc}"
                response = None
                continue
            if response.status in _RETRYABLE and i < len(targets) - 1:
                last_error = f"{target.upstream.name}: HTTP {response.status}"
                await response.read()
                response.release()
                response = None
                continue
            break
        tags = {"fallback_from": tried[0]} if len(tried) > 1 else None
        if response is None:
            self._failed(ctx, targets[-1], started, "upstream_unavailable", 502, last_error, tags)
            await self._error(send, ctx.protocol, 502, f"upstream unavailable: {last_error}")
            return
        target = targets[len(tried) - 1]
        try:
            if ctx.stream and 200 <= response.status < 300:
                await relay_stream(self, send, receive, ctx, target, response, strip, started, tags)
            else:
                await self._complete(send, ctx, target, response, started, up_started, cache_key, tags)
        finally:
            response.release()

    async def _complete(
        self,
        send: Send,
        ctx: CallContext,
        target: Target,
        response: aiohttp.ClientResponse,
        started: float,
        up_started: float,
        cache_key: str | None,
        tags: dict[str, str] | None,
    ) -> None:
        try:
            data = await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            self._failed(
                ctx, target, started, "upstream_unavailable", 502, f"{type(exc).__name__}: {exc}", tags
            )
            await self._error(send, ctx.protocol, 502, "upstream failed while sending its response")
            return
        up_done = time.perf_counter()
        status = response.status
        usage = served = tier = None
        estimated = False
        error = None
        if 200 <= status < 300:
            try:
                parsed = orjson.loads(data)
                usage = usage_of(ctx.route, parsed)
                served = parsed.get("model")
                tier = parsed.get("service_tier")
            except (orjson.JSONDecodeError, ValueError, AttributeError) as exc:
                usage, estimated, error = estimate_usage(ctx, 0), True, f"unreadable usage: {exc}"
            record_status = "ok"
        else:
            record_status, error = "error", error_text(data)
        elapsed = time.perf_counter() - started
        record = build_record(
            ctx,
            self.catalog,
            target=target,
            usage=usage,
            served_model=served,
            service_tier=tier,
            status=record_status,
            http_status=status,
            latency_ms=elapsed * 1000,
            error=error,
            estimated=estimated,
            extra_tags=tags,
        )
        headers = down_headers(response.headers)
        if cache_key is not None and record_status == "ok" and not estimated:
            self.cache.put(
                cache_key,
                CachedResponse(status, tuple(headers), data, usage, served, tier, self.cache.expiry()),
            )
        self.emit_for(ctx, record, elapsed, elapsed - (up_done - up_started))
        cost = record.effective_cost
        headers += [
            (b"x-aifinops-request-id", ctx.request_id.encode()),
            (b"x-aifinops-cost", (str(cost) if cost is not None else "unpriced").encode()),
            (b"x-aifinops-upstream", target.upstream.name.encode()),
        ]
        await self._respond(send, status, data, headers)

    async def _models(self, path: str, headers: dict[str, str], send: Send) -> None:
        """The models this gateway can route: the catalog's chat and embedding models plus aliases."""
        names = sorted({*(m.model for m in self.catalog.models), *self.router.aliases})
        protocol, status, body = models_listing(path, headers, names)
        if status != 200:
            await self._error(send, protocol, status, body)
            return
        await self._respond(send, 200, body)
