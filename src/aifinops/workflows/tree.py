"""Workflow trees from ledger rows: spans give the structure, records give the cost.

A **workflow** is one trace, or every trace that shares a ``gen_ai.conversation.id`` (a conversation
of several turns). Its nodes are keyed by ``(trace_id, span_id)``: a structure span (agent, tool,
workflow step or any other span) and the records of a model call with the same ids become one node,
whose own cost is exactly the sum of those records' costs (corrections included). A node whose parent
is unknown (not exported, or dropped) is a root; so is a node caught in a parent cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

__all__ = ["Node", "Workflow", "build_workflows", "KINDS"]

#: Node kinds; all but "span" are GenAI steps (they count towards depth).
KINDS = ("agent", "tool", "model", "workflow", "span")
_KIND_OF_OPERATION = {
    "invoke_agent": "agent",
    "create_agent": "agent",
    "execute_tool": "tool",
    "invoke_workflow": "workflow",
}
ZERO = Decimal(0)


@dataclass(slots=True, eq=False)
class Node:
    """One step of a workflow."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    kind: str
    name: str
    start: datetime
    end: datetime
    status: str = "ok"
    request_hash: str | None = None
    agent_name: str | None = None
    tool_name: str | None = None
    model: str | None = None
    cost: Decimal = ZERO  # own cost: the sum of this node's priced records
    calls: int = 0  # model calls recorded on this node (corrections are not calls)
    unpriced: int = 0
    sources: set[str] = field(default_factory=set)
    children: list[Node] = field(default_factory=list)

    @property
    def genai(self) -> bool:
        return self.kind != "span"

    @property
    def label(self) -> str:
        """What the step is, e.g. ``invoke_agent planner``, ``execute_tool search``, ``chat gpt-4o``."""
        if self.kind == "agent":
            return f"invoke_agent {self.agent_name or self.name}"
        if self.kind == "tool":
            return f"execute_tool {self.tool_name or self.name}"
        return self.name


@dataclass(slots=True, eq=False)
class Workflow:
    """A workflow: its id, the traces in it, its nodes and the roots of its tree.

    ``label`` is the workflow name a gateway call carried (``x-aifinops-workflow``), if any.
    """

    id: str
    name: str | None
    traces: list[str]
    nodes: list[Node]
    roots: list[Node]
    label: str | None = None


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _span_node(row: Mapping[str, Any]) -> Node:
    op = row.get("operation")
    kind = _KIND_OF_OPERATION.get(op or "", "span")
    name = row.get("name") or op or "span"
    if kind == "workflow" and row.get("workflow_name"):
        name = row["workflow_name"]
    return Node(
        trace_id=row["trace_id"],
        span_id=row["span_id"],
        parent_span_id=_text(row.get("parent_span_id")),
        kind=kind,
        name=name,
        start=row["start_time"],
        end=row["end_time"],
        status=row.get("status") or "ok",
        request_hash=_text(row.get("request_hash")),
        agent_name=_text(row.get("agent_name")),
        tool_name=_text(row.get("tool_name")),
        sources={"otlp"},
    )


def _add_record(node: Node, row: Mapping[str, Any]) -> None:
    cost = row.get("cost")
    if cost is not None:
        node.cost += cost
    if row.get("corrects") is None:
        node.calls += 1
        if row.get("cost_status") == "unpriced":
            node.unpriced += 1
        if row.get("status") not in (None, "ok", "streaming"):
            node.status = "error"
        node.request_hash = node.request_hash or _text(row.get("request_hash"))
        node.model = node.model or _text(row.get("model"))
    elif row.get("cost_status") == "unpriced":
        node.unpriced -= 1  # a reversal cancels its original's unpriced mark
    node.start = min(node.start, row["start_time"])
    node.end = max(node.end, row["end_time"])
    if row.get("source"):
        node.sources.add(row["source"])


def _record_node(row: Mapping[str, Any], key: str) -> Node:
    model = _text(row.get("model"))
    op = _text(row.get("operation")) or "call"
    return Node(
        trace_id=row["trace_id"],
        span_id=key,
        parent_span_id=_text(row.get("parent_span_id")),
        kind="model",
        name=f"{op} {model}" if model else op,
        start=row["start_time"],
        end=row["end_time"],
        status="ok",
    )


def _workflow_ids(records: list[Mapping[str, Any]], spans: list[Mapping[str, Any]]) -> dict[str, str]:
    """trace id -> workflow id: the trace's conversation id when any of its rows names one."""
    conversation: dict[str, str] = {}
    for row in spans:
        if row.get("conversation_id"):
            conversation.setdefault(row["trace_id"], row["conversation_id"])
    for row in records:
        workflow = row.get("workflow")
        if row.get("source") == "otlp" and workflow and workflow != row["trace_id"]:
            conversation.setdefault(row["trace_id"], workflow)
    return conversation


def _link(nodes: list[Node]) -> list[Node]:
    """Attach children to parents (same trace); returns the roots, cycles broken."""
    by_key = {(n.trace_id, n.span_id): n for n in nodes}
    roots = []
    for node in nodes:
        parent = by_key.get((node.trace_id, node.parent_span_id)) if node.parent_span_id else None
        if parent is None or parent is node:
            roots.append(node)
        else:
            parent.children.append(node)
    reached: set[int] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        reached.add(id(node))
        stack.extend(node.children)
    for node in nodes:  # nodes in a parent cycle are unreachable from any root
        if id(node) not in reached:
            for other in nodes:
                if node in other.children:
                    other.children.remove(node)
            roots.append(node)
            stack = [node]
            while stack:
                current = stack.pop()
                reached.add(id(current))
                stack.extend(c for c in current.children if id(c) not in reached)
    for node in nodes:
        node.children.sort(key=lambda n: (n.start, n.span_id))
    roots.sort(key=lambda n: (n.start, n.span_id))
    return roots


def build_workflows(
    records: Iterable[Mapping[str, Any]], spans: Iterable[Mapping[str, Any]]
) -> list[Workflow]:
    """Group record and span rows (as :meth:`DuckDBLedger.workflow_rows` returns them) into workflows."""
    records, spans = list(records), list(spans)
    conversation = _workflow_ids(records, spans)
    nodes: dict[tuple[str, str], Node] = {}
    for row in spans:
        nodes.setdefault((row["trace_id"], row["span_id"]), _span_node(row))
    for i, row in enumerate(records):
        key = row.get("span_id") or f"record-{i}"
        node = nodes.get((row["trace_id"], key))
        if node is None:
            node = nodes[(row["trace_id"], key)] = _record_node(row, key)
        _add_record(node, row)
    groups: dict[str, list[Node]] = {}
    labels: dict[str, str] = {}
    for row in records:  # a gateway record's workflow is a label (x-aifinops-workflow), not an id
        if row.get("source") != "otlp" and row.get("workflow"):
            labels.setdefault(conversation.get(row["trace_id"], row["trace_id"]), row["workflow"])
    for node in nodes.values():
        groups.setdefault(conversation.get(node.trace_id, node.trace_id), []).append(node)
    flows = []
    for workflow_id, members in groups.items():
        roots = _link(members)
        name = labels.get(workflow_id) or _name(members, roots)
        traces = sorted({n.trace_id for n in members})
        flows.append(Workflow(workflow_id, name, traces, members, roots, labels.get(workflow_id)))
    return flows


def _name(members: list[Node], roots: list[Node]) -> str | None:
    """A workflow's name: its invoke_workflow step, else its top-most agent, else its first root."""
    for node in members:
        if node.kind == "workflow":
            return node.name
    level = list(roots)
    while level:  # breadth first: the agent closest to a root
        for node in level:
            if node.kind == "agent":
                return node.label
        level = [child for node in level for child in node.children]
    return roots[0].label if roots else None
