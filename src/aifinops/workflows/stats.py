"""What a workflow cost and how it ran: totals, depth, retries, cost by step, and per-agent statistics.

- **cost**: exactly the sum of its nodes' own costs, i.e. of its records' costs (Decimal, no rounding);
  unpriced calls add nothing and are counted in ``unpriced_calls``.
- **depth**: the most GenAI steps (agents, tools, model calls, workflow steps) on one root-to-leaf path;
  plain spans (HTTP handlers...) are transparent.
- **retries**: a model or tool call is a retry when an earlier sibling (same parent) made the identical
  request (same request hash), or when the previous sibling call of the same model or tool failed.
- **cost by step**: each call's cost goes to its nearest enclosing agent or tool (``invoke_agent planner``),
  or to itself (``chat gpt-4o``) when none encloses it; the steps add up to the workflow's cost.
- **agents**: each ``invoke_agent`` step is one run of that agent; a run's cost is its subtree's cost
  (nested agents included), with p50/p95 by the nearest-rank method.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from aifinops.core.money import quantize
from aifinops.workflows.tree import ZERO, Node, Workflow

__all__ = ["summarize", "steps", "tree", "retries", "depth", "rank", "agent_stats", "percentile", "ORDERS"]

ORDERS = ("cost", "depth")


def _walk(roots: Iterable[Node]) -> Iterable[tuple[Node, Node | None, int]]:
    """(node, nearest agent-or-tool ancestor-or-self, GenAI depth) for every node, iteratively."""
    stack: list[tuple[Node, Node | None, int]] = [(r, None, 0) for r in reversed(list(roots))]
    while stack:
        node, step, level = stack.pop()
        if node.kind in ("agent", "tool"):
            step = node
        level += node.genai
        yield node, step, level
        stack.extend((child, step, level) for child in reversed(node.children))


def depth(flow: Workflow) -> int:
    """The most GenAI steps on one path from a root."""
    return max((level for _, _, level in _walk(flow.roots)), default=0)


def _groups(flow: Workflow) -> Iterable[list[Node]]:
    """Siblings: the children of each node, and the roots of each trace."""
    by_trace: dict[str, list[Node]] = {}
    for root in flow.roots:
        by_trace.setdefault(root.trace_id, []).append(root)
    yield from by_trace.values()
    for node in flow.nodes:
        if node.children:
            yield node.children


def _target(node: Node) -> str:
    if node.kind == "tool":
        return node.tool_name or node.name
    return node.model or node.name


def retries(flow: Workflow) -> int:
    """Calls that repeat an identical earlier sibling request, or follow a failed sibling call of the same target."""
    count = 0
    for siblings in _groups(flow):
        seen: set[str] = set()
        failed: set[tuple[str, str]] = set()
        for node in sorted(siblings, key=lambda n: (n.start, n.span_id)):
            if node.kind not in ("model", "tool"):
                continue
            target = (node.kind, _target(node))
            if (node.request_hash is not None and node.request_hash in seen) or target in failed:
                count += 1
            if node.request_hash is not None:
                seen.add(node.request_hash)
            if node.status == "error":
                failed.add(target)
            else:
                failed.discard(target)
    return count


def summarize(flow: Workflow) -> dict[str, Any]:
    """One row per workflow: cost, calls, depth, retries, duration."""
    start = min(n.start for n in flow.nodes)
    end = max(n.end for n in flow.nodes)
    return {
        "workflow": flow.id,
        "name": flow.name,
        "traces": len(flow.traces),
        "start": start,
        "end": end,
        "duration_ms": round((end - start).total_seconds() * 1000, 3),
        "cost": sum((n.cost for n in flow.nodes), ZERO),
        "model_calls": sum(n.calls for n in flow.nodes),
        "tool_calls": sum(n.kind == "tool" for n in flow.nodes),
        "agent_runs": sum(n.kind == "agent" for n in flow.nodes),
        "depth": depth(flow),
        "retries": retries(flow),
        "errors": sum(n.status == "error" and n.kind in ("model", "tool") for n in flow.nodes),
        "unpriced_calls": sum(n.unpriced for n in flow.nodes),
        "sources": sorted(set().union(*(n.sources for n in flow.nodes))),
    }


def steps(flow: Workflow) -> list[dict[str, Any]]:
    """Cost by step (see the module docstring), most expensive first; it sums to the workflow's cost."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for node, step, _ in _walk(flow.roots):
        if not node.calls and not node.cost:
            continue
        owner = step or node
        key = (owner.kind, owner.label)
        row = rows.setdefault(key, {"step": owner.label, "kind": owner.kind, "calls": 0, "cost": ZERO})
        row["calls"] += node.calls
        row["cost"] += node.cost
    total = sum((r["cost"] for r in rows.values()), ZERO)
    for row in rows.values():
        row["share"] = float(row["cost"] / total) if total else None
    return sorted(rows.values(), key=lambda r: (-r["cost"], r["step"]))


def _subtree_costs(flow: Workflow) -> dict[int, Decimal]:
    """Each node's cost plus its descendants', bottom-up without recursion."""
    order = [node for node, _, _ in _walk(flow.roots)]
    totals: dict[int, Decimal] = {}
    for node in reversed(order):
        totals[id(node)] = node.cost + sum((totals[id(c)] for c in node.children), ZERO)
    return totals


def tree(flow: Workflow, *, max_nodes: int = 5000) -> list[dict[str, Any]]:
    """The workflow's tree as nested dicts (own and subtree cost per node), the first ``max_nodes`` nodes
    in depth-first order."""
    totals = _subtree_costs(flow)
    out: list[dict[str, Any]] = []
    stack: list[tuple[Node, list[dict[str, Any]]]] = [(r, out) for r in reversed(flow.roots)]
    count = 0
    while stack and count < max_nodes:
        node, siblings = stack.pop()
        count += 1
        item = {
            "span_id": node.span_id,
            "trace_id": node.trace_id,
            "kind": node.kind,
            "name": node.label,
            "model": node.model,
            "status": node.status,
            "start": node.start,
            "duration_ms": round((node.end - node.start).total_seconds() * 1000, 3),
            "calls": node.calls,
            "cost": node.cost,
            "subtree_cost": totals[id(node)],
            "children": [],
        }
        siblings.append(item)
        stack.extend((child, item["children"]) for child in reversed(node.children))
    return out


def rank(flows: Sequence[Workflow], order: str = "cost", top: int = 20) -> list[dict[str, Any]]:
    """The ``top`` workflows by cost (then depth) or by depth (then cost), as summaries."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}")
    rows = [summarize(f) for f in flows]
    if order == "cost":
        rows.sort(key=lambda r: (-r["cost"], -r["depth"], r["workflow"]))
    else:
        rows.sort(key=lambda r: (-r["depth"], -r["cost"], r["workflow"]))
    return rows[: max(0, top)]


def percentile(values: Sequence[Any], p: float) -> Any:
    """The nearest-rank percentile (a value of the data, exact for Decimals); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def agent_stats(flows: Iterable[Workflow]) -> list[dict[str, Any]]:
    """Per agent name: runs, total cost, cost per run (mean, p50, p95), duration p50/p95, calls, errors.

    A workflow without agent spans whose gateway calls name it (``x-aifinops-workflow``) counts as one run
    of that name, with ``kind`` "workflow".
    """
    runs: dict[tuple[str, str], list[tuple[Decimal, float, int, bool]]] = {}
    for flow in flows:
        totals = _subtree_costs(flow)
        agents = [node for node in flow.nodes if node.kind == "agent"]
        for node in agents:
            calls = sum(n.calls for n, _, _ in _walk([node]))
            millis = (node.end - node.start).total_seconds() * 1000
            key = (node.agent_name or node.name, "agent")
            runs.setdefault(key, []).append((totals[id(node)], millis, calls, node.status == "error"))
        if not agents and flow.label:
            summary = summarize(flow)
            run = (summary["cost"], summary["duration_ms"], summary["model_calls"], summary["errors"] > 0)
            runs.setdefault((flow.label, "workflow"), []).append(run)
    rows = []
    for (name, kind), items in runs.items():
        costs = [c for c, _, _, _ in items]
        durations = [d for _, d, _, _ in items]
        total = sum(costs, ZERO)
        rows.append(
            {
                "agent": name,
                "kind": kind,
                "runs": len(items),
                "cost": total,
                "cost_per_run": quantize(total / len(items)),
                "cost_p50": percentile(costs, 50),
                "cost_p95": percentile(costs, 95),
                "duration_ms_p50": round(percentile(durations, 50), 3),
                "duration_ms_p95": round(percentile(durations, 95), 3),
                "model_calls_per_run": sum(c for _, _, c, _ in items) / len(items),
                "errors": sum(e for _, _, _, e in items),
            }
        )
    return sorted(rows, key=lambda r: (-r["cost"], r["agent"]))
