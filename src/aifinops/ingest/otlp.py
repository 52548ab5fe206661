"""OpenTelemetry GenAI spans to records (the cost) and structure spans (the workflow tree).

A span is a **model call** when it reports usage (``gen_ai.usage.*``), or its ``gen_ai.operation.name``
is an inference operation (chat, text_completion, generate_content, embeddings), or it names a model
without an agent/tool/workflow operation. A model call becomes one :class:`UsageRecord`:

- ``record_id = make_record_id("otlp", trace_id + span_id)``: a span exported twice is stored once;
- tokens from :func:`aifinops.core.normalize.from_otel` (old and new attribute names);
- provider from ``gen_ai.provider.name`` / ``gen_ai.system`` in the catalog's spelling; model from
  ``gen_ai.response.model``, else ``gen_ai.request.model``; pricing mode from the OpenAI service tier;
- time and latency from the span; status ``error`` when the span status is ERROR or ``error.type`` is set;
- ``workflow`` = the trace's ``gen_ai.conversation.id``, else the trace id; attribution through an
  :class:`~aifinops.ingest.otlp_attrs.AttributeMap`; ``tags["request_hash"]`` for retry detection.

``invoke_agent``, ``create_agent``, ``execute_tool`` and ``invoke_workflow`` spans are **structure**
(an ``invoke_agent`` span of kind CLIENT that reports usage is a remote agent: also a record, since its
model calls are not visible). So is any other span of a trace that has GenAI spans, in this request or
recently (:class:`RecentTraces`); spans of traces without GenAI activity are dropped. An agent span's
own usage is never recorded when the agent runs in process: its model calls are, and that would count
them twice.

A span with bad ids, times or token counts is rejected alone, with its reason.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aifinops.core.normalize import from_otel, is_known_service_tier
from aifinops.core.records import UsageRecord, make_record_id
from aifinops.core.spans import SPAN_KINDS, SpanRow
from aifinops.ingest.otlp_attrs import AttributeMap, attributes, mode_of, model_of, provider_of

__all__ = ["TraceBatch", "RecentTraces", "convert_traces", "MODEL_OPERATIONS", "STRUCTURE_OPERATIONS"]

SOURCE = "otlp"
MODEL_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "embeddings", "responses"})
STRUCTURE_OPERATIONS = frozenset({"invoke_agent", "create_agent", "execute_tool", "invoke_workflow"})
_USAGE_KEYS = frozenset(
    {
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.prompt_tokens",
        "gen_ai.usage.completion_tokens",
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_creation.input_tokens",
    }
)
_HASHED_PARAMS = (
    "gen_ai.request.max_tokens",
    "gen_ai.request.temperature",
    "gen_ai.request.top_p",
    "gen_ai.request.seed",
    "gen_ai.system_instructions",
    "gen_ai.input.messages",
)
_ZERO_TRACE, _ZERO_SPAN = bytes(16), bytes(8)
_CLIENT = 3
_ERROR = 2


@dataclass(slots=True)
class TraceBatch:
    """What one export request turned into."""

    records: list[UsageRecord] = field(default_factory=list)
    spans: list[SpanRow] = field(default_factory=list)
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)
    dropped: int = 0  # spans of traces without GenAI activity (not an error)
    genai_traces: set[str] = field(default_factory=set)


class RecentTraces:
    """The trace ids that had GenAI spans lately (bounded, oldest forgotten first), so that a trace's
    other spans are kept when they arrive in a later export than its model calls."""

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, trace_id: object) -> bool:
        return trace_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, trace_ids: Iterable[str]) -> None:
        with self._lock:
            ids = self._ids
            for trace_id in trace_ids:
                ids[trace_id] = None
                ids.move_to_end(trace_id)
            while len(ids) > self.capacity:
                ids.popitem(last=False)


def _time(nanos: int) -> datetime:
    """A UTC time from Unix nanoseconds, exact to the microsecond."""
    return datetime.fromtimestamp(nanos // 1_000_000_000, UTC).replace(microsecond=nanos // 1000 % 1_000_000)


def _digest(parts: tuple[Any, ...]) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()


def _name_after(name: str, prefix: str) -> str | None:
    if not name.startswith(prefix):
        return None
    return name[len(prefix) :].strip()[:256] or None


class _Resource:
    """Per-resource context shared by its spans."""

    __slots__ = ("attrs", "fields", "tags", "service")

    def __init__(self, attrs: dict[str, Any], amap: AttributeMap) -> None:
        self.attrs = attrs
        self.fields, self.tags = amap.resolve({}, attrs)
        service = attrs.get("service.name")
        self.service = str(service)[:256] if service is not None else None


def _ids(span: Any) -> tuple[str, str, str | None]:
    trace, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
    if len(trace) != 16 or trace == _ZERO_TRACE:
        raise ValueError("trace_id must be 16 bytes, not all zero")
    if len(span_id) != 8 or span_id == _ZERO_SPAN:
        raise ValueError("span_id must be 8 bytes, not all zero")
    if parent and len(parent) != 8:
        raise ValueError("parent_span_id must be 8 bytes or empty")
    return trace.hex(), span_id.hex(), parent.hex() if parent and parent != _ZERO_SPAN else None


def _times(span: Any) -> tuple[datetime, datetime, int]:
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    if not start:
        raise ValueError("start_time_unix_nano is missing")
    if end < start:
        raise ValueError("end_time_unix_nano is before start_time_unix_nano")
    return _time(start), _time(end), end - start


def _status(span: Any, attrs: Mapping[str, Any]) -> tuple[str, str | None]:
    error_type = attrs.get("error.type")
    if span.status.code == _ERROR or error_type is not None:
        return "error", str(error_type or span.status.message or "error")[:256]
    return "ok", None


def _has_usage(attrs: Mapping[str, Any]) -> bool:
    return not _USAGE_KEYS.isdisjoint(attrs)


def _is_model_call(op: Any, attrs: Mapping[str, Any], kind: int, has_usage: bool) -> bool:
    if op in STRUCTURE_OPERATIONS:
        return op == "invoke_agent" and kind == _CLIENT and has_usage  # a remote agent
    if has_usage or op in MODEL_OPERATIONS:
        return True
    return op is None and "gen_ai.request.model" in attrs


def _request_hash(op: Any, attrs: Mapping[str, Any], prompt_tokens: int | None) -> str:
    """Identical requests share a hash: same operation, model, parameters and prompt (its content when
    captured, else its size in tokens, which differs between the calls of an agent loop)."""
    size = None if "gen_ai.input.messages" in attrs else prompt_tokens
    return _digest((op, attrs.get("gen_ai.request.model"), size, *map(attrs.get, _HASHED_PARAMS)))


def _record(
    span: Any,
    attrs: dict[str, Any],
    ctx: _Resource,
    amap: AttributeMap,
    ids: tuple[str, str, str | None],
    has_usage: bool,
) -> UsageRecord:
    trace_id, span_id, parent = ids
    start, end, nanos = _times(span)
    usage = from_otel(attrs)
    op = attrs.get("gen_ai.operation.name")
    provider = provider_of(attrs)
    model, requested = model_of(attrs)
    mode, tier = mode_of(provider, attrs)
    status, error = _status(span, attrs)
    if amap.touches(attrs):
        owners, tags = amap.resolve(attrs, ctx.attrs)
        tags = dict(tags)
    else:
        owners, tags = ctx.fields, dict(ctx.tags)
    tags["request_hash"] = _request_hash(op, attrs, usage.total_input if has_usage else None)
    if tier is not None and not is_known_service_tier(provider or "", tier):
        tags["service_tier"] = tier
    operation = str(op)[:64] if op is not None else None
    return UsageRecord(
        record_id=make_record_id(SOURCE, trace_id + span_id),
        source=SOURCE,
        charge_period_start=start,
        charge_period_end=end,
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
        requests=1,
        tags=tags,
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        workflow=trace_id,  # the conversation id, when the trace has one, is set afterwards
        status=status,
        error=error,
        latency_ms=nanos / 1e6,
        **owners,
    )


def _structure(
    span: Any, attrs: Mapping[str, Any], ctx: _Resource, ids: tuple[str, str, str | None]
) -> SpanRow:
    trace_id, span_id, parent = ids
    start, end, _ = _times(span)
    status, error = _status(span, attrs)
    op = attrs.get("gen_ai.operation.name")
    name = span.name[:256] or None
    agent = attrs.get("gen_ai.agent.name")
    tool = attrs.get("gen_ai.tool.name")
    if op == "invoke_agent" and agent is None and name:
        agent = _name_after(name, "invoke_agent ")
    if op == "execute_tool" and tool is None and name:
        tool = _name_after(name, "execute_tool ")
    request_hash = None
    if op == "execute_tool" and attrs.get("gen_ai.tool.call.arguments") is not None:
        request_hash = _digest((op, tool, attrs["gen_ai.tool.call.arguments"]))
    conversation = attrs.get("gen_ai.conversation.id")
    workflow = attrs.get("gen_ai.workflow.name")
    return SpanRow(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        start_time=start,
        end_time=end,
        name=name,
        kind=SPAN_KINDS[span.kind] if 0 <= span.kind < len(SPAN_KINDS) else None,
        operation=str(op)[:64] if op is not None else None,
        agent_name=str(agent)[:256] if agent is not None else None,
        tool_name=str(tool)[:256] if tool is not None else None,
        workflow_name=str(workflow)[:256] if workflow is not None else None,
        conversation_id=str(conversation)[:256] if conversation is not None else None,
        service=ctx.service,
        status=status,
        error=error,
        request_hash=request_hash,
    )


def convert_traces(request: Any, amap: AttributeMap, recent: RecentTraces | None = None) -> TraceBatch:
    """Turn an ``ExportTraceServiceRequest`` into records and structure spans (see the module docstring)."""
    batch = TraceBatch()
    conversations: dict[str, str] = {}
    pending: list[tuple[Any, dict[str, Any], _Resource, tuple[str, str, str | None]]] = []
    index = 0
    for resource_spans in request.resource_spans:
        ctx = _Resource(attributes(resource_spans.resource.attributes), amap)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                index += 1
                try:
                    ids = _ids(span)
                    attrs = attributes(span.attributes, deep=False)
                    op = attrs.get("gen_ai.operation.name")
                    genai = op is not None or any(key.startswith("gen_ai.") for key in attrs)
                    if not genai:
                        pending.append((span, attrs, ctx, ids))
                        continue
                    conversation = attrs.get("gen_ai.conversation.id")
                    if conversation is not None:
                        conversations.setdefault(ids[0], str(conversation)[:256])
                    has_usage = _has_usage(attrs)
                    model_call = _is_model_call(op, attrs, span.kind, has_usage)
                    if model_call:
                        batch.records.append(_record(span, attrs, ctx, amap, ids, has_usage))
                    if not model_call or op in STRUCTURE_OPERATIONS:
                        batch.spans.append(_structure(span, attrs, ctx, ids))
                    batch.genai_traces.add(ids[0])
                except ValueError as exc:
                    batch.rejected += 1
                    label = span.span_id.hex() or f"#{index}"
                    batch.reasons.append(f"span {label} ({span.name[:80]}): {exc}")
    for span, attrs, ctx, ids in pending:
        if ids[0] in batch.genai_traces or (recent is not None and ids[0] in recent):
            try:
                batch.spans.append(_structure(span, attrs, ctx, ids))
            except ValueError as exc:
                batch.rejected += 1
                batch.reasons.append(f"span {ids[1]} ({span.name[:80]}): {exc}")
        else:
            batch.dropped += 1
    if conversations:
        for record in batch.records:
            conversation = conversations.get(record.trace_id or "")
            if conversation is not None:
                record.workflow = conversation
        for row in batch.spans:
            if row.conversation_id is None:
                row.conversation_id = conversations.get(row.trace_id)
    return batch
