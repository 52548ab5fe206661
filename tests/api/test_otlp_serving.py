"""The OTLP receiver inside `aifinops serve`: the write-behind spool, a full spool, metrics over JSON, port 4318."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.json.http.metric_exporter import OTLPMetricExporter as JsonMetricExporter
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader

from aifinops.api.otlp_spool import Spool
from aifinops.app import App
from aifinops.cli.serving import build_root
from aifinops.core.errors import StorageError
from aifinops.core.settings import Settings
from aifinops.ingest.otlp import convert_traces
from aifinops.ingest.otlp_attrs import AttributeMap
from tests.gateway.conftest import RunningGateway, free_port, serve_gateway, spawn_aifinops
from tests.ingest.otlp_helpers import SECOND, T0_NS, chat, span, traces

PB = {"content-type": "application/x-protobuf"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningGateway]:
    with serve_gateway("", tmp_path) as running:
        yield running


def _tables(app: App, n: int, at: int = 0) -> tuple:
    spans = [span(attrs=chat(inp=100 + i), start=T0_NS + (at + i) * SECOND) for i in range(n)]
    batch = convert_traces(traces(spans), AttributeMap())
    return app.prepare_otlp(batch.records, batch.spans)


def test_the_spool_batches_exports_and_a_crash_loses_none(tmp_path: Path) -> None:
    app = App(Settings(), tmp_path)
    stored: list[int] = []
    gate = threading.Event()

    def store(records: list, spans: list) -> None:
        gate.wait(10)  # the ledger is slow: exports queue up meanwhile
        stored.append(sum(t.num_rows for t in records))
        app.store_otlp(records, spans)

    spool = Spool(tmp_path / "spool", store, app.prepare_otlp([], []), linger=0)
    for i in range(4):
        spool.put(*_tables(app, 5, at=10 * i))
    assert len(list((tmp_path / "spool").glob("*.records.arrow"))) == 4  # answered = on disk
    gate.set()
    assert spool.flush(10)
    assert sum(stored) == 20 and len(stored) < 4  # several exports per transaction
    assert list((tmp_path / "spool").iterdir()) == []
    spool.close()

    def killed(records: list, spans: list) -> None:
        raise StorageError("the process died before the ledger got these rows")

    crashed = Spool(tmp_path / "spool", killed, app.prepare_otlp([], []), linger=0)
    answered = _tables(app, 3, at=100)
    crashed.put(*answered)
    crashed.put(*_tables(app, 2, at=200))
    (tmp_path / "spool" / "half-written.records.arrow.tmp").write_bytes(b"never answered")
    crashed.close(timeout=0.3)
    assert len(list((tmp_path / "spool").glob("*.records.arrow"))) == 2
    restarted = Spool(tmp_path / "spool", app.store_otlp, app.prepare_otlp([], []))
    assert restarted.flush(10)
    restarted.close()
    assert list((tmp_path / "spool").iterdir()) == []
    assert len(app.records(since=None, limit=1000)) == 25
    restarted = Spool(tmp_path / "spool", app.store_otlp, app.prepare_otlp([], []))
    restarted.put(*answered)  # an exporter's retry of an export already stored
    restarted.close()
    assert len(app.records(since=None, limit=1000)) == 25
    app.close()


def test_a_failing_ledger_is_retried_and_a_full_spool_refuses(tmp_path: Path) -> None:
    app = App(Settings(), None)
    failures = [StorageError("disk full")]

    def store(records: list, spans: list) -> None:
        if failures:
            raise failures.pop()
        app.store_otlp(records, spans)

    spool = Spool(None, store, app.prepare_otlp([], []), linger=0, max_pending_rows=6)
    spool.put(*_tables(app, 5))
    assert spool.flush(10) and spool.last_error is None  # stored on the retry
    assert len(app.records(since=None)) == 5
    failures.append(StorageError("disk full"))
    spool.put(*_tables(app, 7, at=50))
    time.sleep(0.2)
    with pytest.raises(StorageError, match="spool holds 7 rows"):
        spool.put(*_tables(app, 1, at=90))
    spool.close()


async def _post(root: object, path: str, body: bytes) -> tuple[int, dict[bytes, bytes]]:
    """One request straight into the ASGI app of `aifinops serve`."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(b"content-type", PB["content-type"].encode())],
    }
    answer: dict = {}

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answer.update(status=message["status"], headers=dict(message["headers"]))

    await root(scope, receive, send)
    return answer["status"], answer["headers"]


def test_a_full_spool_answers_503_to_retry_later(tmp_path: Path) -> None:
    app = App(Settings(), tmp_path)
    root, gateway, _ = build_root(app, tmp_path, local=True)
    root.otlp.spool.max_pending_rows = 0  # the ledger is far behind
    body = traces([span(attrs=chat())]).SerializeToString()
    status, headers = asyncio.run(_post(root, "/v1/traces", body))
    assert status == 503 and headers[b"retry-after"] == b"5"
    root.otlp.spool.max_pending_rows = 1000
    assert asyncio.run(_post(root, "/v1/traces", body))[0] == 200  # the exporter's retry lands
    root.otlp.close()
    assert len(app.records(since=None)) == 1
    gateway.wal.close()
    app.close()


def test_token_usage_histograms_over_json_with_delta_temporality(server: RunningGateway) -> None:
    exporter = JsonMetricExporter(
        endpoint=f"{server.url}/v1/metrics", preferred_temporality={Histogram: AggregationTemporality.DELTA}
    )
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    meter = MeterProvider(metric_readers=[reader])
    histogram = meter.get_meter("tests").create_histogram("gen_ai.client.token.usage", unit="{token}")
    base = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
    }
    for tokens in (100, 250):
        histogram.record(tokens, {**base, "gen_ai.token.type": "input"})
    assert meter.force_flush(10_000)
    histogram.record(40, {**base, "gen_ai.token.type": "output"})
    assert meter.force_flush(10_000)
    meter.shutdown()
    records = server.app.records(since=None, where={"source": "otlp-metrics"})
    assert sorted((r.input_tokens, r.output_tokens, r.requests) for r in records) == [(0, 40, 0), (350, 0, 2)]
    assert all(r.cost_status == "priced" and r.effective_cost > 0 for r in records)


@pytest.mark.slow
def test_serve_also_listens_on_the_otlp_port(tmp_path: Path) -> None:
    port, otlp_port = free_port(), free_port()
    config = tmp_path / "aifinops.yaml"
    config.write_text(f"otlp: {{port: {otlp_port}}}\n")
    proc = spawn_aifinops(
        ["--config", str(config), "--data-dir", str(tmp_path), "serve", "--port", str(port)], port
    )
    try:
        body = traces([span(attrs=chat())]).SerializeToString()
        for target in (port, otlp_port):
            response = httpx.post(
                f"http://127.0.0.1:{target}/v1/traces", content=body, headers=PB, timeout=10
            )
            assert response.status_code == 200
        url = f"http://127.0.0.1:{port}/api/v1/records"
        deadline = time.monotonic() + 10
        while not httpx.get(url, params={"since": "2020-01-01"}).json()["data"]:
            assert time.monotonic() < deadline, "the spans never reached the ledger"
            time.sleep(0.05)  # stored a moment after the answer
        time.sleep(0.5)  # let the second copy reach the ledger too
        rows = httpx.get(url, params={"since": "2020-01-01"}).json()["data"]
        assert len(rows) == 1 and rows[0]["source"] == "otlp"  # the same span twice, stored once
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
