"""The OTLP/HTTP receiver: ``POST /v1/traces`` and ``POST /v1/metrics`` as a raw ASGI app (no routing layer).

The body is read up to ``otlp.max_body_bytes`` (413 beyond, compressed or not); decoding, conversion and
pricing then run in a worker thread, so the event loop (the gateway's hot path in ``aifinops serve``) is
never blocked by a large export. The priced rows go to the :class:`~aifinops.api.otlp_spool.Spool` (a
durable write-behind queue under ``<data-dir>/otlp-spool/``), which stores many exports per ledger
transaction; an export is answered once it is in the spool. Metrics exports are stored before they are
answered (they are few, and the cumulative-stream state must follow what is stored).

Answers: 200 with an empty response, or with ``partial_success`` when some spans (data points) were
rejected (each one alone; the rest is stored); 400 for a body that cannot be read (don't retry); 405, 413,
415; 503 with ``Retry-After`` when the spool is full because the ledger is far behind, or a metrics export
cannot be stored (the exporter retries later). Bodies are in the request's encoding (protobuf or JSON).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aifinops.api.otlp_spool import Spool
from aifinops.core.errors import AifinopsError
from aifinops.ingest import otlp_wire as wire
from aifinops.ingest.otlp import RecentTraces, convert_traces
from aifinops.ingest.otlp_attrs import AttributeMap
from aifinops.ingest.otlp_metrics import CumulativeState, convert_metrics

__all__ = ["OtlpReceiver", "PATHS"]

PATHS = ("/v1/traces", "/v1/metrics")


class OtlpReceiver:
    """ASGI app for the OTLP paths; ``app`` is the facade (:class:`aifinops.app.App`). ``spool_dir`` keeps
    answered exports safe until stored (None: in memory only). Call :meth:`close` on shutdown."""

    def __init__(self, app: Any, spool_dir: Path | None = None) -> None:
        self.app = app
        self.recent = RecentTraces()
        self.metric_state = CumulativeState(loader=app.otlp_metric_point)
        if spool_dir is not None:
            app.ledger  # noqa: B018 - open it here, not first in the spool's thread
        self.spool = Spool(spool_dir, app.store_otlp, app.prepare_otlp([], []), fsync=app.settings.otlp.fsync)
        self._amap: tuple[Any, AttributeMap] | None = None

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every answered export is in the ledger."""
        return self.spool.flush(timeout)

    def close(self) -> None:
        """Store what the spool holds and stop its thread."""
        self.spool.close()

    def _attribute_map(self) -> AttributeMap:
        mapping = self.app.settings.otlp.attribute_map
        if self._amap is None or self._amap[0] is not mapping:  # rebuilt after a config reload
            self._amap = (mapping, AttributeMap(mapping))
        return self._amap[1]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = _headers(scope)
        fmt = wire.JSON if "json" in headers.get("content-type", "") else wire.PROTOBUF
        try:
            if scope["path"] not in PATHS:
                raise wire.WireError(
                    404, f"no OTLP endpoint at {scope['path']}; use /v1/traces or /v1/metrics"
                )
            if scope["method"] != "POST":
                raise wire.WireError(405, "OTLP export requests are POST")
            fmt = wire.body_format(headers.get("content-type"))
            limit = self.app.settings.otlp.max_body_bytes
            body = await _read_body(receive, headers, limit)
            kind = "traces" if scope["path"] == "/v1/traces" else "metrics"
            handler = self.ingest_traces if kind == "traces" else self.ingest_metrics
            rejected, reasons = await asyncio.to_thread(
                handler, body, fmt, headers.get("content-encoding"), limit
            )
            await _respond(send, 200, fmt, wire.encode_response(kind, fmt, rejected, reasons))
        except wire.WireError as exc:
            extra = [(b"allow", b"POST")] if exc.status == 405 else []
            await _respond(send, exc.status, fmt, wire.encode_status(fmt, exc.status, exc.message), extra)
        except AifinopsError as exc:
            status = 503 if exc.status >= 500 else exc.status
            body = wire.encode_status(fmt, status, f"{exc.code}: {exc.message}")
            await _respond(send, status, fmt, body, [(b"retry-after", b"5")] if status == 503 else [])

    def ingest_traces(self, body: bytes, fmt: str, encoding: str | None, limit: int) -> tuple[int, list[str]]:
        """Decode, convert, price and store one trace export; returns the rejected spans and reasons."""
        request, reasons = wire.parse_traces(wire.decompress(body, encoding, limit), fmt)
        batch = convert_traces(request, self._attribute_map(), self.recent)
        if batch.records or batch.spans:
            self.spool.put(*self.app.prepare_otlp(batch.records, batch.spans))
        self.recent.add(batch.genai_traces)
        return batch.rejected + len(reasons), reasons + batch.reasons

    def ingest_metrics(
        self, body: bytes, fmt: str, encoding: str | None, limit: int
    ) -> tuple[int, list[str]]:
        """Decode, convert, price and store one metrics export; returns the rejected data points and reasons."""
        request, rejected, reasons = wire.parse_metrics(wire.decompress(body, encoding, limit), fmt)
        state = self.metric_state
        with state.lock:
            batch = convert_metrics(request, self._attribute_map(), state)
            if batch.records:
                self.app.append_otlp(batch.records)
            state.commit(batch.updates)
        return rejected + batch.rejected, reasons + batch.reasons


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}


async def _read_body(receive: Any, headers: dict[str, str], limit: int) -> bytes:
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise wire.WireError(413, f"the body ({int(declared):,} bytes) exceeds the limit of {limit:,} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise wire.WireError(400, "the client disconnected before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise wire.WireError(413, f"the body exceeds the limit of {limit:,} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(
    send: Any, status: int, fmt: str, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [
        (b"content-type", wire.content_type_of(fmt)),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
