"""OTLP/HTTP on the wire: content types, gzip, protobuf and JSON bodies, responses (REFERENCE §2.6).

Requests are ``ExportTraceServiceRequest`` / ``ExportMetricsServiceRequest`` messages, binary
(``application/x-protobuf``) or JSON (``application/json``: the proto3 JSON mapping except that trace and
span ids are hex strings, not base64). A body may be gzip-compressed (``Content-Encoding: gzip``).
Responses use the request's encoding: a ``partial_success`` naming rejected spans or data points, or for
an error a ``google.rpc.Status`` (``code``, ``message``).

A JSON body is parsed one span (one metric) at a time, so a bad one is rejected alone; a protobuf body
is parsed whole (the wire format cannot be resynchronised after a corrupt byte), so it is all or nothing.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsPartialSuccess,
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span

__all__ = [
    "WireError",
    "PROTOBUF",
    "JSON",
    "body_format",
    "decompress",
    "parse_traces",
    "parse_metrics",
    "encode_response",
    "encode_status",
    "content_type_of",
]

PROTOBUF = "protobuf"
JSON = "json"
_MEDIA = {
    "application/x-protobuf": PROTOBUF,
    "application/protobuf": PROTOBUF,
    "application/json": JSON,
}
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})
#: google.rpc.Code for each HTTP status we answer with.
_RPC_CODES = {400: 3, 404: 5, 405: 12, 413: 8, 415: 3, 503: 14}


class WireError(Exception):
    """A request the receiver cannot take: ``status`` is the HTTP status, the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def body_format(content_type: str | None) -> str:
    """``"protobuf"`` or ``"json"`` from a Content-Type header; anything else is a 415."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    fmt = _MEDIA.get(media)
    if fmt is None:
        shown = media or "none"
        raise WireError(
            415, f"unsupported content type {shown!r}: use application/x-protobuf or application/json"
        )
    return fmt


def content_type_of(fmt: str) -> bytes:
    """The Content-Type of a response in ``fmt``."""
    return b"application/json" if fmt == JSON else b"application/x-protobuf"


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The body without its Content-Encoding (``gzip`` or none); more than ``limit`` bytes is a 413."""
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        return body
    if name != "gzip":
        raise WireError(415, f"unsupported content encoding {name!r}: use gzip or none")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        raw = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise WireError(400, f"the body is not valid gzip: {exc}") from None
    if len(raw) > limit:
        raise WireError(413, f"the decompressed body exceeds the limit of {limit:,} bytes")
    if not inflater.eof:
        raise WireError(400, "the body is not valid gzip: truncated stream")
    return raw


def _parse_binary(message: Message, raw: bytes, what: str) -> None:
    try:
        message.ParseFromString(raw)
    except DecodeError:
        raise WireError(400, f"malformed protobuf: the body is not an {what}") from None


def _load_json(raw: bytes, what: str) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise WireError(400, f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise WireError(400, f"malformed JSON: an {what} must be a JSON object, got {type(data).__name__}")
    return data


def _items(data: dict[str, Any], camel: str, snake: str, where: str) -> list[Any]:
    value = data.get(camel, data.get(snake))
    if value is None:
        return []
    if not isinstance(value, list):
        raise WireError(400, f"malformed JSON: {where}.{camel} must be an array")
    return value


def _hex_ids(node: Any) -> Any:
    """A copy of a JSON span (or exemplar) with its hex ids turned into the base64 protobuf JSON expects."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                try:
                    value = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError:
                    raise ValueError(f"{key}: {value[:40]!r} is not a hex id") from None
            else:
                value = _hex_ids(value)
            out[key] = value
        return out
    if isinstance(node, list):
        return [_hex_ids(v) for v in node]
    return node


def _parse_part(part: Any, target: Message, where: str) -> None:
    """A resource or scope object (not rejectable alone: a bad one fails the request)."""
    try:
        json_format.ParseDict(part, target, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise WireError(400, f"malformed JSON: {where}: {exc}") from None


def _label(item: Any, index: int, what: str) -> str:
    name = item.get("name") if isinstance(item, dict) else None
    return f"{what} {index}" + (f" ({str(name)[:80]})" if name else "")


def parse_traces(raw: bytes, fmt: str) -> tuple[ExportTraceServiceRequest, list[str]]:
    """The request, and the reasons of the spans rejected while parsing (JSON only)."""
    request = ExportTraceServiceRequest()
    if fmt == PROTOBUF:
        _parse_binary(request, raw, "ExportTraceServiceRequest")
        return request, []
    data = _load_json(raw, "ExportTraceServiceRequest")
    rejected: list[str] = []
    index = 0
    for r, rs in enumerate(_items(data, "resourceSpans", "resource_spans", "request")):
        if not isinstance(rs, dict):
            raise WireError(400, f"malformed JSON: resourceSpans[{r}] must be an object")
        out = request.resource_spans.add()
        _parse_part(
            {k: v for k, v in rs.items() if k not in ("scopeSpans", "scope_spans")},
            out,
            f"resourceSpans[{r}]",
        )
        for s, ss in enumerate(_items(rs, "scopeSpans", "scope_spans", f"resourceSpans[{r}]")):
            if not isinstance(ss, dict):
                raise WireError(400, f"malformed JSON: resourceSpans[{r}].scopeSpans[{s}] must be an object")
            scope = out.scope_spans.add()
            _parse_part(
                {k: v for k, v in ss.items() if k != "spans"}, scope, f"resourceSpans[{r}].scopeSpans[{s}]"
            )
            for item in _items(ss, "spans", "spans", f"resourceSpans[{r}].scopeSpans[{s}]"):
                span = Span()
                try:
                    if not isinstance(item, dict):
                        raise ValueError("a span must be a JSON object")
                    json_format.ParseDict(_hex_ids(item), span, ignore_unknown_fields=True)
                except (json_format.ParseError, ValueError, TypeError) as exc:
                    rejected.append(f"{_label(item, index, 'span')}: {exc}")
                else:
                    scope.spans.append(span)
                index += 1
    return request, rejected


def _points(metric: Any) -> int:
    """How many data points a (possibly malformed) JSON metric holds, for the rejected count."""
    if not isinstance(metric, dict):
        return 1
    for kind in ("gauge", "sum", "histogram", "exponentialHistogram", "summary"):
        body = metric.get(kind)
        if isinstance(body, dict) and isinstance(body.get("dataPoints"), list):
            return max(1, len(body["dataPoints"]))
    return 1


def parse_metrics(raw: bytes, fmt: str) -> tuple[ExportMetricsServiceRequest, int, list[str]]:
    """The request, and the data points rejected while parsing (JSON only) with their reasons."""
    request = ExportMetricsServiceRequest()
    if fmt == PROTOBUF:
        _parse_binary(request, raw, "ExportMetricsServiceRequest")
        return request, 0, []
    data = _load_json(raw, "ExportMetricsServiceRequest")
    rejected, reasons = 0, []
    index = 0
    for r, rm in enumerate(_items(data, "resourceMetrics", "resource_metrics", "request")):
        if not isinstance(rm, dict):
            raise WireError(400, f"malformed JSON: resourceMetrics[{r}] must be an object")
        out = request.resource_metrics.add()
        where = f"resourceMetrics[{r}]"
        _parse_part({k: v for k, v in rm.items() if k not in ("scopeMetrics", "scope_metrics")}, out, where)
        for s, sm in enumerate(_items(rm, "scopeMetrics", "scope_metrics", where)):
            if not isinstance(sm, dict):
                raise WireError(400, f"malformed JSON: {where}.scopeMetrics[{s}] must be an object")
            scope = out.scope_metrics.add()
            _parse_part({k: v for k, v in sm.items() if k != "metrics"}, scope, f"{where}.scopeMetrics[{s}]")
            for item in _items(sm, "metrics", "metrics", f"{where}.scopeMetrics[{s}]"):
                metric = Metric()
                try:
                    if not isinstance(item, dict):
                        raise ValueError("a metric must be a JSON object")
                    json_format.ParseDict(_hex_ids(item), metric, ignore_unknown_fields=True)
                except (json_format.ParseError, ValueError, TypeError) as exc:
                    rejected += _points(item)
                    reasons.append(f"{_label(item, index, 'metric')}: {exc}")
                else:
                    scope.metrics.append(metric)
                index += 1
    return request, rejected, reasons


def _summary(reasons: list[str], limit: int = 10) -> str:
    text = "; ".join(reasons[:limit])
    if len(reasons) > limit:
        text += f"; and {len(reasons) - limit} more"
    return text


def encode_response(kind: str, fmt: str, rejected: int, reasons: list[str]) -> bytes:
    """The 200 body: empty when all was accepted, else a ``partial_success`` (rejected count, reasons)."""
    if kind == "traces":
        response: Message = ExportTraceServiceResponse()
        if rejected or reasons:
            response.partial_success.CopyFrom(
                ExportTracePartialSuccess(rejected_spans=rejected, error_message=_summary(reasons))
            )
    else:
        response = ExportMetricsServiceResponse()
        if rejected or reasons:
            response.partial_success.CopyFrom(
                ExportMetricsPartialSuccess(rejected_data_points=rejected, error_message=_summary(reasons))
            )
    if fmt == JSON:
        return orjson.dumps(json_format.MessageToDict(response))
    return response.SerializeToString()


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_status(fmt: str, status: int, message: str) -> bytes:
    """An error body: a ``google.rpc.Status`` (code, message) in the request's encoding."""
    code = _RPC_CODES.get(status, 2)
    if fmt == JSON:
        return orjson.dumps({"code": code, "message": message})
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text
