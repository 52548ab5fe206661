"""OTLP/HTTP wire handling: content types, gzip, protobuf and JSON bodies (hex ids), responses."""

from __future__ import annotations

import base64
import gzip

import orjson
import pytest
from google.protobuf import json_format
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.json.common._internal.trace_encoder import encode_spans as encode_json
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as encode_proto
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from aifinops.ingest import otlp_wire as wire
from tests.ingest.otlp_helpers import chat, span, traces


def sdk_spans() -> list:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "wire"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("invoke_agent a", attributes={"gen_ai.operation.name": "invoke_agent"}):
        with tracer.start_as_current_span("chat m", attributes=chat(**{"gen_ai.request.temperature": 0.5})):
            pass
    provider.shutdown()
    return list(exporter.get_finished_spans())


@pytest.mark.parametrize(
    ("header", "fmt"),
    [
        ("application/x-protobuf", "protobuf"),
        ("application/protobuf", "protobuf"),
        ("application/json", "json"),
        ("Application/JSON; charset=utf-8", "json"),
    ],
)
def test_content_types(header: str, fmt: str) -> None:
    assert wire.body_format(header) == fmt


@pytest.mark.parametrize("header", [None, "text/plain", "application/grpc", "multipart/form-data"])
def test_other_content_types_are_415(header: str | None) -> None:
    with pytest.raises(wire.WireError) as err:
        wire.body_format(header)
    assert err.value.status == 415 and "content type" in err.value.message


def test_gzip_is_inflated_within_the_limit() -> None:
    assert wire.decompress(gzip.compress(b"x" * 1000), "gzip", 1000) == b"x" * 1000
    assert wire.decompress(b"plain", None, 10) == b"plain"
    with pytest.raises(wire.WireError) as bomb:
        wire.decompress(gzip.compress(b"\0" * 1_000_000), "GZIP", 10_000)
    assert bomb.value.status == 413


@pytest.mark.parametrize(
    "body", [b"not gzip at all", gzip.compress(b"y" * 100, mtime=0)[:-12]], ids=["garbage", "truncated"]
)
def test_gzip_garbage_or_truncated_is_400(body: bytes) -> None:
    with pytest.raises(wire.WireError) as err:
        wire.decompress(body, "gzip", 1000)
    assert err.value.status == 400 and "gzip" in err.value.message


def test_unknown_content_encoding_is_415() -> None:
    with pytest.raises(wire.WireError) as err:
        wire.decompress(b"x", "br", 10)
    assert err.value.status == 415


def test_json_from_the_official_encoder_parses_to_the_same_message_as_protobuf() -> None:
    spans = sdk_spans()
    expected = encode_proto(spans)
    parsed, rejected = wire.parse_traces(encode_json(spans).to_json().encode(), wire.JSON)
    assert rejected == []
    assert parsed == expected
    again, _ = wire.parse_traces(expected.SerializeToString(), wire.PROTOBUF)
    assert again == expected


@pytest.mark.parametrize(
    "body", [b"\xff\x00garbage", b"{not protobuf}", b"\x0a\x05abc"], ids=["garbage", "json", "truncated"]
)
def test_malformed_protobuf_is_400(body: bytes) -> None:
    with pytest.raises(wire.WireError) as err:
        wire.parse_traces(body, wire.PROTOBUF)
    assert err.value.status == 400 and "protobuf" in err.value.message


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"resourceSpans": [', "malformed JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"resourceSpans": {"a": 1}}', "must be an array"),
        (b'{"resourceSpans": [{"resource": {"attributes": 7}}]}', "resourceSpans[0]"),
    ],
)
def test_malformed_json_is_400_with_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(wire.WireError) as err:
        wire.parse_traces(body, wire.JSON)
    assert err.value.status == 400 and reason in err.value.message


def test_a_bad_json_span_is_rejected_alone() -> None:
    data = json_format.MessageToDict(traces([span(attrs=chat()), span(attrs=chat())]))
    spans = data["resourceSpans"][0]["scopeSpans"][0]["spans"]
    for item in spans:  # protobuf JSON writes ids in base64; OTLP/JSON wants hex
        for key in ("traceId", "spanId"):
            item[key] = base64.b64decode(item[key]).hex()
    spans.append({**spans[0], "spanId": "zz-not-hex", "name": "bad one"})
    spans.append({**spans[0], "startTimeUnixNano": "soon"})
    parsed, rejected = wire.parse_traces(orjson.dumps(data), wire.JSON)
    assert len(parsed.resource_spans[0].scope_spans[0].spans) == 2
    assert len(rejected) == 2 and "bad one" in rejected[0] and "spanId" in rejected[0]


def test_responses_in_the_request_encoding() -> None:
    body = wire.encode_response("traces", wire.PROTOBUF, 2, ["span 1: bad", "span 2: worse"])
    response = ExportTraceServiceResponse.FromString(body)
    assert response.partial_success.rejected_spans == 2
    assert response.partial_success.error_message == "span 1: bad; span 2: worse"
    assert wire.encode_response("traces", wire.PROTOBUF, 0, []) == b""
    assert orjson.loads(wire.encode_response("traces", wire.JSON, 0, [])) == {}
    as_json = orjson.loads(wire.encode_response("metrics", wire.JSON, 3, ["x"]))
    assert as_json == {"partialSuccess": {"rejectedDataPoints": "3", "errorMessage": "x"}}


def test_error_bodies_are_google_rpc_status() -> None:
    status = Status.FromString(wire.encode_status(wire.PROTOBUF, 400, "malformed protobuf: é" * 30))
    assert status.code == 3 and status.message == "malformed protobuf: é" * 30
    assert orjson.loads(wire.encode_status(wire.JSON, 413, "too big")) == {"code": 8, "message": "too big"}
