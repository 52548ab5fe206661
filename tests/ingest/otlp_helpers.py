"""Build OTLP protobuf messages by hand, for tests that need exact ids, times and (bad) values."""

from __future__ import annotations

import os
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import HistogramDataPoint, Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tests.factories import T0

T0_NS = int(T0.timestamp()) * 1_000_000_000
SECOND = 1_000_000_000


def value(v: Any) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, list | tuple):
        out = AnyValue()
        out.array_value.values.extend(value(x) for x in v)
        return out
    return AnyValue(string_value=str(v))


def kvs(attrs: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=value(v)) for k, v in attrs.items()]


def new_trace() -> bytes:
    return os.urandom(16)


def new_span_id() -> bytes:
    return os.urandom(8)


def span(
    name: str = "chat gpt-4o-mini",
    attrs: dict[str, Any] | None = None,
    *,
    trace: bytes | None = None,
    span_id: bytes | None = None,
    parent: bytes = b"",
    start: int = T0_NS,
    duration: int = SECOND,
    kind: int = 3,
    error: bool = False,
) -> Span:
    """A span (a CLIENT chat call by default)."""
    out = Span(
        trace_id=trace if trace is not None else new_trace(),
        span_id=span_id if span_id is not None else new_span_id(),
        parent_span_id=parent,
        name=name,
        kind=kind,
        start_time_unix_nano=start,
        end_time_unix_nano=start + duration,
    )
    out.attributes.extend(kvs(attrs or {}))
    if error:
        out.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="boom"))
    return out


def chat(
    model: str = "gpt-4o-mini", inp: int = 1000, out: int = 200, provider: str = "openai", **extra: Any
) -> dict:
    """Attributes of a chat span with usage."""
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "gen_ai.usage.input_tokens": inp,
        "gen_ai.usage.output_tokens": out,
        **extra,
    }


def traces(spans: list[Span], resource: dict[str, Any] | None = None) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.extend(kvs(resource or {"service.name": "shop"}))
    ss = rs.scope_spans.add()
    ss.scope.name = "tests"
    ss.spans.extend(spans)
    return request


def token_metric(
    points: list[dict[str, Any]], *, temporality: int = 1, name: str = "gen_ai.client.token.usage"
) -> Metric:
    """A histogram; each point: attrs, sum, count, start, time (ns)."""
    metric = Metric(name=name, unit="{token}")
    metric.histogram.aggregation_temporality = temporality
    for p in points:
        dp = HistogramDataPoint(
            start_time_unix_nano=p.get("start", T0_NS),
            time_unix_nano=p.get("time", T0_NS + 60 * SECOND),
            count=p.get("count", 1),
        )
        if "sum" in p:
            dp.sum = p["sum"]
        dp.attributes.extend(kvs(p["attrs"]))
        metric.histogram.data_points.append(dp)
    return metric


def metrics(items: list[Metric], resource: dict[str, Any] | None = None) -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    rm.resource.attributes.extend(kvs(resource or {"service.name": "shop"}))
    sm = rm.scope_metrics.add()
    sm.scope.name = "tests"
    sm.metrics.extend(items)
    return request


def usage_attrs(token_type: str, model: str = "gpt-4o-mini", provider: str = "openai") -> dict[str, Any]:
    return {
        "gen_ai.token.type": token_type,
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
    }
