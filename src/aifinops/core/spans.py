"""A structure span: one step of an agent workflow that is not itself a charge.

OpenTelemetry spans that carry a model call's usage become :class:`~aifinops.core.records.UsageRecord`
rows (the cost). Every other span that belongs to an AI workflow (``invoke_agent``, ``execute_tool``,
``invoke_workflow``, or any span of a trace that has GenAI spans) is kept as a :class:`SpanRow`, so that
a workflow's tree (agents, tools, model calls, retries) can be rebuilt. Spans never carry money.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

__all__ = ["SpanRow", "SPAN_FIELDS", "SPAN_KINDS"]

#: OTLP ``Span.SpanKind`` values by number (0 is unspecified).
SPAN_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")


@dataclass(slots=True, kw_only=True)
class SpanRow:
    """One stored span (ids are lowercase hex, times are UTC)."""

    trace_id: str
    span_id: str
    start_time: datetime
    end_time: datetime
    parent_span_id: str | None = None
    name: str | None = None
    kind: str | None = None
    operation: str | None = None  # gen_ai.operation.name
    agent_name: str | None = None  # gen_ai.agent.name
    tool_name: str | None = None  # gen_ai.tool.name
    workflow_name: str | None = None  # gen_ai.workflow.name
    conversation_id: str | None = None  # gen_ai.conversation.id
    service: str | None = None  # service.name
    status: str = "ok"  # "ok" or "error"
    error: str | None = None  # error.type or the status message
    request_hash: str | None = None  # identical requests share it (retry detection)
    source: str = "otlp"


SPAN_FIELDS = tuple(f.name for f in fields(SpanRow))
