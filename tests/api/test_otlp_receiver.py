"""The OTLP/HTTP receiver fed by the real OpenTelemetry SDK exporters (protobuf and JSON), an instrumented
OpenAI SDK app against the emulator, and bad input over raw HTTP."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import openai
import orjson
import pytest
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter as JsonSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace import Status as SpanStatus

from aifinops.core.jsonable import jsonable
from tests.api.otlp_server import serve_otlp
from tests.emulators.conftest import RunningEmulator
from tests.gateway.conftest import RunningGateway, upstreams
from tests.ingest.otlp_helpers import chat, span, traces

M = Decimal(1_000_000)
GPT4O_MINI = {"input": Decimal("0.15"), "output": Decimal("0.60")}  # list prices, USD per 1M tokens
CONFIG = "otlp: {attribute_map: {app.team: team}, max_body_bytes: 200000}\n"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningGateway]:
    with serve_otlp(CONFIG, tmp_path) as (running, receiver):
        running.receiver = receiver  # receiver.flush(): answered exports are in the ledger
        yield running


def tracer_provider(exporter: object) -> TracerProvider:
    resource = Resource.create(
        {"service.name": "support-bot", "app.team": "care", "deployment.environment": "prod"}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def agent_run(provider: TracerProvider, *, calls: int = 2) -> None:
    """An agent with `calls` chat calls and a tool call, like an instrumented framework emits them."""
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("POST /chat", kind=SpanKind.SERVER):
        attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "helper"}
        with tracer.start_as_current_span("invoke_agent helper", attributes=attrs):
            for i in range(calls):
                with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as call:
                    call.set_attributes(chat(inp=1000 * (i + 1), out=100))
            with tracer.start_as_current_span("execute_tool lookup") as tool:
                tool.set_attributes({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup"})
                tool.set_status(SpanStatus(StatusCode.ERROR, "timeout"))
    with tracer.start_as_current_span("GET /health"):  # no GenAI in its trace: not kept
        pass
    assert provider.force_flush(10_000)


def expected_cost(inp: int, out: int) -> Decimal:
    return (inp * GPT4O_MINI["input"] + out * GPT4O_MINI["output"]) / M


@pytest.mark.parametrize(
    "exporter",
    [
        lambda url: OTLPSpanExporter(endpoint=url, compression=Compression.Gzip),
        lambda url: OTLPSpanExporter(endpoint=url),
        lambda url: JsonSpanExporter(endpoint=url),
    ],
    ids=["protobuf-gzip", "protobuf", "json"],
)
def test_real_exporters_feed_priced_records_and_workflow_structure(server: RunningGateway, exporter) -> None:
    provider = tracer_provider(exporter(f"{server.url}/v1/traces"))
    agent_run(provider)
    provider.shutdown()
    assert server.receiver.flush()
    records = server.app.records(since=None, limit=100)
    assert sorted(r.input_tokens for r in records) == [1000, 2000]
    for record in records:
        assert record.source == "otlp" and record.cost_status == "priced"
        assert record.effective_cost == expected_cost(record.input_tokens, record.output_tokens)
        assert (record.team, record.project, record.environment) == ("care", "support-bot", "prod")
    names = {row["name"] for row in server.app.ledger.query("SELECT name FROM spans")}
    assert names == {"POST /chat", "invoke_agent helper", "execute_tool lookup"}
    (flow,) = httpx.get(f"{server.url}/api/v1/workflows", params={"since": "3650d"}).json()
    assert Decimal(flow["cost"]) == sum(r.effective_cost for r in records)
    assert (flow["model_calls"], flow["tool_calls"], flow["agent_runs"], flow["depth"]) == (2, 1, 1, 2)
    assert flow["errors"] == 1 and flow["workflow"] == records[0].trace_id


def test_a_span_exported_twice_is_recorded_once(server: RunningGateway) -> None:
    exporter = OTLPSpanExporter(endpoint=f"{server.url}/v1/traces")
    provider = TracerProvider()
    finished: list = []
    provider.add_span_processor(BatchSpanProcessor(_Collect(finished)))
    agent_run(provider, calls=3)
    for _ in range(2):  # an exporter retrying after a lost response
        assert exporter.export(finished).name == "SUCCESS"
        assert server.receiver.flush()
    assert len(server.app.records(since=None, limit=100)) == 3
    assert server.app.ledger.query("SELECT count(*) AS n FROM spans")[0]["n"] == 3


class _Collect:
    """A span exporter that only keeps what it is given (to replay it through a real exporter)."""

    def __init__(self, into: list) -> None:
        self.into = into

    def export(self, spans: list) -> object:
        from opentelemetry.sdk.trace.export import SpanExportResult

        self.into.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 0) -> bool:
        return True


def test_an_instrumented_openai_app_through_the_official_instrumentation(
    tmp_path: Path, emu: RunningEmulator
) -> None:
    with serve_otlp(upstreams(emu), tmp_path) as (server, receiver):
        tracer = TracerProvider(resource=Resource.create({"service.name": "faq", "app.env": "test"}))
        tracer.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{server.url}/v1/traces")))
        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=f"{server.url}/v1/metrics"), export_interval_millis=3_600_000
        )
        meter = MeterProvider(metric_readers=[reader])
        instrumentor = OpenAIInstrumentor()
        instrumentor.instrument(tracer_provider=tracer, meter_provider=meter)
        try:
            client = openai.OpenAI(base_url=emu.openai_base_url, api_key="sk-app", max_retries=0)
            usages = []
            for _ in range(3):
                response = client.chat.completions.create(
                    model="gpt-4o-mini",
                    messages=[
                        {"role": "user", "content": "[emulator prompt_tokens=1200 output_tokens=60] hi"}
                    ],
                )
                usages.append(response.usage)
            assert tracer.force_flush(10_000) and meter.force_flush(10_000)
        finally:
            instrumentor.uninstrument()
            tracer.shutdown()
            meter.shutdown()
        assert receiver.flush()
        spans = [r for r in server.app.records(since=None, limit=100) if r.source == "otlp"]
        assert len(spans) == 3
        for record, usage in zip(spans, usages, strict=True):
            assert record.input_tokens + record.cached_input_tokens == usage.prompt_tokens == 1200
            assert record.output_tokens == usage.completion_tokens == 60
            assert record.effective_cost == expected_cost(1200, 60) and record.project == "faq"
        from_metrics = server.app.records(since=None, where={"source": "otlp-metrics"}, limit=100)
        assert sum(r.input_tokens for r in from_metrics) == 3 * 1200
        assert sum(r.output_tokens for r in from_metrics) == 3 * 60
        assert sum(r.requests for r in from_metrics) == 3
        # one authoritative source per provider and day: the spans, not spans + metrics
        (row,) = server.app.report_costs(since=None, by=["provider"])
        assert (row["input_tokens"], row["requests"]) == (3 * 1200, 3)
        assert row["cost"] == 3 * expected_cost(1200, 60)
        (both,) = server.app.report_costs(since=None, by=["provider"], sources="all")
        assert both["input_tokens"] == 6 * 1200


def test_gateway_calls_join_the_workflow_of_their_trace(tmp_path: Path, emu: RunningEmulator) -> None:
    with serve_otlp(upstreams(emu), tmp_path) as (server, receiver):
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{server.url}/v1/traces")))
        tracer = provider.get_tracer("tests")
        attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "router"}
        with tracer.start_as_current_span("invoke_agent router", attributes=attrs) as agent:
            context = agent.get_span_context()
            client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-x", max_retries=0)
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "hi"}],
                extra_headers={
                    "x-aifinops-trace-id": format(context.trace_id, "032x"),
                    "x-aifinops-parent-id": format(context.span_id, "016x"),
                },
            )
        assert provider.force_flush(10_000) and receiver.flush()
        server.wait_records(1)
        server.shipper.ship_once()
        flow = server.app.workflow(format(context.trace_id, "032x"))
        (gateway_record,) = server.app.records(since=None, where={"source": "gateway"})
        assert flow["sources"] == ["gateway", "otlp"] and flow["depth"] == 2
        assert flow["cost"] == gateway_record.effective_cost > 0
        assert flow["steps"][0]["step"] == "invoke_agent router"


# -- bad input over raw HTTP -------------------------------------------------------------------------
PB = {"content-type": "application/x-protobuf"}
JS = {"content-type": "application/json"}


def _status(response: httpx.Response) -> Status:
    return Status.FromString(response.content)


def test_malformed_bodies_are_400_with_the_reason(server: RunningGateway) -> None:
    url = f"{server.url}/v1/traces"
    bad = httpx.post(url, content=b"\x0a\xff\xff not protobuf", headers=PB)
    assert bad.status_code == 400 and "malformed protobuf" in _status(bad).message
    bad_json = httpx.post(url, content=b'{"resourceSpans": [', headers=JS)
    assert bad_json.status_code == 400 and "malformed JSON" in bad_json.json()["message"]
    garbage = httpx.post(url, content=b"no gzip here", headers={**PB, "content-encoding": "gzip"})
    assert garbage.status_code == 400 and "gzip" in _status(garbage).message
    assert server.app.records(since=None) == []


def test_wrong_content_type_method_and_size(server: RunningGateway) -> None:
    url = f"{server.url}/v1/traces"
    wrong = httpx.post(url, content=b"hello", headers={"content-type": "text/plain"})
    assert wrong.status_code == 415 and "content type" in _status(wrong).message
    assert httpx.get(url).status_code == 405
    big = traces([span(attrs=chat(**{"gen_ai.input.messages": "x" * 250_000}))]).SerializeToString()
    assert httpx.post(url, content=big, headers=PB).status_code == 413
    bomb = gzip.compress(b"\0" * 1_000_000)  # small on the wire, too big inflated
    response = httpx.post(
        f"{server.url}/v1/metrics", content=bomb, headers={**PB, "content-encoding": "gzip"}
    )
    assert response.status_code == 413


def test_a_batch_with_one_bad_span_keeps_the_rest(server: RunningGateway) -> None:
    request = traces([span(attrs=chat()), span(attrs=chat(inp=-1), name="broken"), span(attrs=chat())])
    response = httpx.post(f"{server.url}/v1/traces", content=request.SerializeToString(), headers=PB)
    assert response.status_code == 200
    partial = ExportTraceServiceResponse.FromString(response.content).partial_success
    assert partial.rejected_spans == 1 and "broken" in partial.error_message
    assert "negative" in partial.error_message
    assert server.receiver.flush()
    assert len(server.app.records(since=None)) == 2


def test_a_json_batch_with_one_bad_span_keeps_the_rest(server: RunningGateway) -> None:
    data = json_format.MessageToDict(traces([span(attrs=chat()), span(attrs=chat())]))
    spans = data["resourceSpans"][0]["scopeSpans"][0]["spans"]
    for item in spans:
        for key in ("traceId", "spanId"):
            item[key] = base64.b64decode(item[key]).hex()
    spans[1]["traceId"] = "not-hex"
    response = httpx.post(f"{server.url}/v1/traces", content=orjson.dumps(data), headers=JS)
    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert server.receiver.flush()
    assert len(server.app.records(since=None)) == 1


def test_a_fully_accepted_export_gets_an_empty_response(server: RunningGateway) -> None:
    response = httpx.post(
        f"{server.url}/v1/traces", content=traces([span(attrs=chat())]).SerializeToString(), headers=PB
    )
    assert response.status_code == 200 and response.headers["content-type"] == "application/x-protobuf"
    assert response.content == b""
    assert server.receiver.flush()
    assert jsonable(server.app.records(since=None))[0]["source"] == "otlp"
