"""``gen_ai.client.token.usage`` histograms to records (source ``otlp-metrics``): a cheaper signal than
spans when spans are sampled.

Each data point holds the tokens of one ``gen_ai.token.type`` (``input`` / ``output``) for one provider,
model and operation over a time window; its ``sum`` becomes one record through
:func:`aifinops.core.normalize.from_otel_metric`, and its ``count`` (the operations) the record's
requests, on input points only so that a call is not counted twice.

Temporality matters: a DELTA point covers ``[start, time)``. A CUMULATIVE point (the Python SDK's default)
repeats everything since the stream started, so only the growth since the stream's previous point is
recorded, over ``[previous time, time)``. :class:`CumulativeState` remembers the last point of each
stream; after a restart it asks ``loader`` (the ledger) for the last one recorded. A point at or before
the last one seen is a re-sent duplicate and adds nothing; a smaller sum or a new start time is a reset.

Records from metrics never add to span records: reports read one source per provider and day, and
``otlp`` (spans) comes before ``otlp-metrics`` in ``reporting.source_priority``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aifinops.core.normalize import from_otel_metric
from aifinops.core.records import UsageRecord, make_record_id
from aifinops.ingest.otlp import _time
from aifinops.ingest.otlp_attrs import AttributeMap, attributes, mode_of, model_of, provider_of

__all__ = ["MetricBatch", "CumulativeState", "Point", "convert_metrics", "TOKEN_USAGE", "SOURCE"]

SOURCE = "otlp-metrics"
TOKEN_USAGE = "gen_ai.client.token.usage"
_DELTA, _CUMULATIVE = 1, 2
#: Tags that let a restarted receiver find a cumulative stream's last point in the ledger.
STREAM_TAG = "otlp.stream"
POINT_TAG = "otlp.point"


@dataclass(frozen=True, slots=True)
class Point:
    """A cumulative stream's last point: its start, its time (ns), its running sum and count."""

    start: int
    time: int
    total: float
    count: int

    def encode(self) -> str:
        return f"{self.start}:{self.time}:{self.total!r}:{self.count}"

    @classmethod
    def decode(cls, text: str) -> Point:
        start, time, total, count = text.split(":")
        return cls(int(start), int(time), float(total), int(count))


@dataclass(slots=True)
class MetricBatch:
    """What one metrics export turned into; ``updates`` are committed to the state once stored."""

    records: list[UsageRecord] = field(default_factory=list)
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)
    updates: dict[str, Point] = field(default_factory=dict)


class CumulativeState:
    """The last point of every cumulative stream (bounded; a forgotten stream is looked up again)."""

    def __init__(self, loader: Callable[[str], str | None] | None = None, capacity: int = 100_000) -> None:
        self.loader = loader
        self.capacity = capacity
        self.lock = threading.Lock()  # held by the caller across convert, store and commit
        self._last: dict[str, Point] = {}

    def last(self, stream: str) -> Point | None:
        point = self._last.get(stream)
        if point is None and self.loader is not None:
            text = self.loader(stream)
            if text:
                point = Point.decode(text)
                self._last[stream] = point
        return point

    def commit(self, updates: dict[str, Point]) -> None:
        self._last.update(updates)
        while len(self._last) > self.capacity:
            self._last.pop(next(iter(self._last)))


def _stream_key(resource: dict[str, Any], scope: str, name: str, point: dict[str, Any]) -> str:
    text = repr((sorted(resource.items()), scope, name, sorted(point.items())))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _window(
    dp: Any, temporality: int, previous: Point | None
) -> tuple[tuple[int, int, float, int] | None, Point | None]:
    """``((start, end, tokens, operations) or None, the stream's new last point or None)`` for one point."""
    start, time = dp.start_time_unix_nano, dp.time_unix_nano
    if not time or (start and time < start):
        raise ValueError("time_unix_nano is missing or before start_time_unix_nano")
    total, count = dp.sum, dp.count
    if temporality == _DELTA:
        return ((start or time), time, total, count), None
    point = Point(start, time, total, count)
    if previous is None or start > previous.start or (start == previous.start and total < previous.total):
        return ((start or time), time, total, count), point  # first sight, or a reset
    if start < previous.start or time <= previous.time:
        return None, None  # an old or re-sent point
    return (previous.time, time, total - previous.total, count - previous.count), point


def _point_record(
    stream: str,
    window: tuple[int, int, float, int],
    point: Point | None,
    attrs: dict[str, Any],
    resource: dict[str, Any],
    amap: AttributeMap,
) -> UsageRecord:
    start, end, tokens, operations = window
    usage = from_otel_metric(attrs, tokens)
    kind = str(attrs.get("gen_ai.token.type") or "").lower()
    provider = provider_of(attrs)
    model, requested = model_of(attrs)
    mode, _ = mode_of(provider, attrs)
    owners, tags = amap.resolve(attrs, resource)
    tags = dict(tags)
    tags[STREAM_TAG] = stream
    if point is not None:
        tags[POINT_TAG] = point.encode()
    op = attrs.get("gen_ai.operation.name")
    operation = str(op)[:64] if op is not None else None
    return UsageRecord(
        record_id=make_record_id(SOURCE, f"{stream}:{start}:{end}"),
        source=SOURCE,
        charge_period_start=_time(start),
        charge_period_end=_time(end),
        provider=provider,
        model=model,
        model_requested=requested,
        operation=operation,
        category="embedding" if operation == "embeddings" else "hosted_inference",
        pricing_mode=mode,
        input_tokens=usage.input_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        cache_write_5m_tokens=usage.cache_write_5m_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
        output_tokens=usage.output_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        requests=max(0, operations) if kind in ("input", "prompt") else 0,
        tags=tags,
        status="ok",
        **owners,
    )


def convert_metrics(request: Any, amap: AttributeMap, state: CumulativeState) -> MetricBatch:
    """Records from the ``gen_ai.client.token.usage`` histograms of an ``ExportMetricsServiceRequest``.

    Other metrics are ignored. Call with ``state.lock`` held, and ``state.commit(batch.updates)`` once
    the records are stored.
    """
    batch = MetricBatch()
    for resource_metrics in request.resource_metrics:
        resource = attributes(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope.name
            for metric in scope_metrics.metrics:
                if metric.name != TOKEN_USAGE:
                    continue
                if metric.WhichOneof("data") != "histogram":
                    points = getattr(metric, metric.WhichOneof("data") or "gauge").data_points
                    batch.rejected += max(1, len(points))
                    batch.reasons.append(f"{TOKEN_USAGE}: expected a histogram")
                    continue
                temporality = metric.histogram.aggregation_temporality
                for dp in metric.histogram.data_points:
                    attrs = attributes(dp.attributes)
                    try:
                        if temporality not in (_DELTA, _CUMULATIVE):
                            raise ValueError("aggregation_temporality is unspecified")
                        if not dp.HasField("sum"):
                            raise ValueError("the data point has no sum")
                        stream = _stream_key(resource, scope, metric.name, attrs)
                        previous = None
                        if temporality == _CUMULATIVE:
                            previous = batch.updates.get(stream) or state.last(stream)
                        window, point = _window(dp, temporality, previous)
                        if window is not None and (window[2] or window[3]):
                            record = _point_record(stream, window, point, attrs, resource, amap)
                            batch.records.append(record)
                        if point is not None:
                            batch.updates[stream] = point
                    except ValueError as exc:
                        batch.rejected += 1
                        batch.reasons.append(
                            f"{TOKEN_USAGE} data point {dict(list(attrs.items())[:4])}: {exc}"
                        )
    return batch
