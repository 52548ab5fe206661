"""Workflow trees and statistics from ledger rows (pure domain: rows in, numbers out)."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from aifinops.workflows import (
    agent_stats,
    build_workflows,
    depth,
    percentile,
    rank,
    retries,
    steps,
    summarize,
    tree,
)
from tests.factories import T0

TRACE = "a" * 32


def span_row(
    sid: str, parent: str | None, op: str | None = None, *, trace: str = TRACE, at: int = 0, **kw
) -> dict:
    row = {
        "trace_id": trace,
        "span_id": sid,
        "parent_span_id": parent,
        "name": kw.pop("name", f"{op or 'span'} {sid}"),
        "kind": "internal",
        "operation": op,
        "agent_name": None,
        "tool_name": None,
        "workflow_name": None,
        "conversation_id": None,
        "service": "svc",
        "start_time": T0 + timedelta(seconds=at),
        "end_time": T0 + timedelta(seconds=at + 1),
        "status": "ok",
        "request_hash": None,
    }
    row.update(kw)
    return row


def record_row(
    sid: str | None, parent: str | None, cost: str | None, *, trace: str = TRACE, at: int = 0, **kw
) -> dict:
    row = {
        "trace_id": trace,
        "span_id": sid,
        "parent_span_id": parent,
        "workflow": trace,
        "source": "otlp",
        "provider": "openai",
        "model": "gpt-4o",
        "operation": "chat",
        "status": "ok",
        "start_time": T0 + timedelta(seconds=at),
        "end_time": T0 + timedelta(seconds=at + 2),
        "cost": Decimal(cost) if cost is not None else None,
        "cost_status": "priced" if cost is not None else "unpriced",
        "corrects": None,
        "requests": 1,
        "request_hash": None,
    }
    row.update(kw)
    return row


def agent_flow() -> tuple[list[dict], list[dict]]:
    """HTTP root -> planner agent -> (chat, search tool, researcher agent -> (chat, chat))."""
    spans = [
        span_row("root", None, name="POST /ask"),
        span_row("plan", "root", "invoke_agent", agent_name="planner", at=1),
        span_row("tool", "plan", "execute_tool", tool_name="search", at=3),
        span_row("res", "plan", "invoke_agent", agent_name="researcher", at=4),
    ]
    records = [
        record_row("m1", "plan", "0.10", at=2),
        record_row("m2", "res", "0.25", at=5),
        record_row("m3", "res", "0.05", at=8, model="gpt-4o-mini"),
    ]
    return records, spans


def test_a_workflow_tree_its_totals_and_depth() -> None:
    (flow,) = build_workflows(*agent_flow())
    summary = summarize(flow)
    assert summary["cost"] == Decimal("0.40")
    assert (summary["model_calls"], summary["tool_calls"], summary["agent_runs"]) == (3, 1, 2)
    assert summary["depth"] == 3  # planner -> researcher -> chat; the HTTP span is transparent
    assert summary["duration_ms"] == 10_000 and summary["retries"] == 0
    assert summary["name"] == "invoke_agent planner" and summary["workflow"] == TRACE
    (root,) = tree(flow)
    assert root["name"] == "POST /ask" and root["subtree_cost"] == Decimal("0.40")
    planner = root["children"][0]
    assert [c["name"] for c in planner["children"]] == [
        "chat gpt-4o",
        "execute_tool search",
        "invoke_agent researcher",
    ]
    assert planner["children"][2]["subtree_cost"] == Decimal("0.30")


def test_cost_by_step_goes_to_the_nearest_agent_and_adds_up() -> None:
    records, spans = agent_flow()
    records.append(record_row("m4", "root", "0.01", at=9))  # a call outside any agent
    (flow,) = build_workflows(records, spans)
    rows = {r["step"]: (r["calls"], r["cost"]) for r in steps(flow)}
    assert rows == {
        "invoke_agent researcher": (2, Decimal("0.30")),
        "invoke_agent planner": (1, Decimal("0.10")),
        "chat gpt-4o": (1, Decimal("0.01")),
    }
    assert sum(r["cost"] for r in steps(flow)) == summarize(flow)["cost"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 6)), min_size=1, max_size=40), st.randoms())
def test_workflow_cost_is_exactly_the_sum_of_its_records(costs: list, rnd: random.Random) -> None:
    spans = [
        span_row(f"s{i}", f"s{rnd.randrange(i)}" if i else None, "invoke_agent", agent_name=f"a{i % 3}")
        for i in range(6)
    ]
    records = []
    for i, (nanos, parent) in enumerate(costs):
        records.append(record_row(f"m{i}", f"s{parent}", str(Decimal(nanos) / Decimal(10**12))))
    records.append(record_row("m-unpriced", "s0", None))
    (flow,) = build_workflows(records, spans)
    expected = sum((r["cost"] for r in records if r["cost"] is not None), Decimal(0))
    summary = summarize(flow)
    assert summary["cost"] == expected
    assert sum(r["cost"] for r in steps(flow)) == expected
    assert sum(n["subtree_cost"] for n in tree(flow)) == expected
    assert summary["model_calls"] == len(records) and summary["unpriced_calls"] == 1


def test_retries_identical_requests_and_calls_after_a_failure_under_the_same_parent() -> None:
    spans = [span_row("plan", None, "invoke_agent", agent_name="p"), span_row("other", None, "invoke_agent")]
    records = [
        record_row("m1", "plan", "0.1", at=1, request_hash="h1"),
        record_row("m2", "plan", "0.1", at=2, request_hash="h1"),  # identical: a retry
        record_row("m3", "plan", "0.1", at=3, request_hash="h2"),  # a new request (the loop went on)
        record_row("m4", "plan", "0", at=4, request_hash="h3", status="error"),
        record_row("m5", "plan", "0.1", at=5, request_hash="h4"),  # after a failed call to the same model
        record_row("m6", "other", "0.1", at=6, request_hash="h1"),  # same request, other parent: not a retry
    ]
    (flow,) = build_workflows(records, spans)
    assert retries(flow) == 2
    assert summarize(flow)["errors"] == 1


def test_a_conversation_groups_its_traces_and_gateway_records_join_by_trace() -> None:
    t1, t2 = "1" * 32, "2" * 32
    spans = [span_row("a1", None, "invoke_agent", trace=t1, conversation_id="conv-9")]
    records = [
        record_row("m1", "a1", "1", trace=t1, workflow="conv-9"),
        record_row("m2", None, "2", trace=t2, workflow="conv-9"),
        record_row("g1", "m2", "4", trace=t2, source="gateway", workflow="research"),
        record_row("g2", None, "8", trace="3" * 32, source="gateway", workflow="research"),
    ]
    flows = {f.id: f for f in build_workflows(records, spans)}
    assert set(flows) == {"conv-9", "3" * 32}  # a gateway workflow label is a name, not an id
    conversation = summarize(flows["conv-9"])
    assert (conversation["traces"], conversation["cost"], conversation["depth"]) == (2, Decimal("7"), 2)
    assert conversation["name"] == "research" and conversation["sources"] == ["gateway", "otlp"]


def test_corrections_add_their_money_but_not_calls() -> None:
    records = [
        record_row("m1", None, None, record_id="orig"),
        record_row("m1", None, None, corrects="orig"),  # the reversal of an unpriced record
        record_row("m1", None, "0.30"),  # its priced replacement
    ]
    (flow,) = build_workflows(records, [])
    summary = summarize(flow)
    assert (summary["model_calls"], summary["cost"], summary["unpriced_calls"]) == (2, Decimal("0.30"), 0)


def test_parent_cycles_do_not_hang_and_keep_every_node() -> None:
    spans = [span_row("x", "y", "invoke_agent"), span_row("y", "x", "invoke_agent")]
    records = [record_row("m", "x", "0.5")]
    (flow,) = build_workflows(records, spans)
    assert summarize(flow)["cost"] == Decimal("0.5")
    assert len(flow.roots) == 1 and depth(flow) == 2  # the cycle is cut at one node

    def count(items: list) -> int:
        return sum(1 + count(item["children"]) for item in items)

    assert count(tree(flow)) == 3


def test_a_long_chain_is_walked_without_recursion() -> None:
    spans = [span_row(f"s{i}", f"s{i - 1}" if i else None, "invoke_agent") for i in range(5000)]
    (flow,) = build_workflows([record_row("m", "s4999", "1")], spans)
    assert depth(flow) == 5001 and summarize(flow)["cost"] == 1
    assert len(tree(flow, max_nodes=10)) == 1


def test_rank_by_cost_or_depth() -> None:
    cheap_deep = [
        span_row("a", None, "invoke_agent", trace="1" * 32),
        span_row("b", "a", "invoke_agent", trace="1" * 32),
    ]
    records = [record_row("m", "b", "0.01", trace="1" * 32), record_row("n", None, "5", trace="2" * 32)]
    flows = build_workflows(records, cheap_deep)
    assert [r["workflow"] for r in rank(flows, "cost", 5)] == ["2" * 32, "1" * 32]
    assert [r["workflow"] for r in rank(flows, "depth", 1)] == ["1" * 32]


def test_agent_statistics_per_name() -> None:
    spans, records = [], []
    for run, cost in enumerate(["1", "2", "3", "4", "10"]):
        trace = f"{run:032x}"
        spans.append(span_row("ag", None, "invoke_agent", trace=trace, agent_name="writer"))
        records.append(record_row("m", "ag", cost, trace=trace))
    spans.append(span_row("ag2", None, "invoke_agent", trace="f" * 32, name="invoke_agent critic"))
    (writer, critic) = agent_stats(build_workflows(records, spans))
    assert writer["agent"] == "writer" and writer["runs"] == 5
    assert writer["cost"] == Decimal(20) and writer["cost_per_run"] == Decimal(4)
    assert (writer["cost_p50"], writer["cost_p95"]) == (Decimal(3), Decimal(10))
    assert writer["model_calls_per_run"] == 1
    assert critic["agent"] == "invoke_agent critic" and critic["cost"] == 0


def test_percentile_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([5], 95) == 5
    assert [percentile(list(range(1, 101)), p) for p in (50, 95, 100)] == [50, 95, 100]


def test_a_labelled_gateway_workflow_without_agent_spans_is_one_run_of_its_name() -> None:
    records = [
        record_row("g1", None, "1", trace="1" * 32, source="gateway", workflow="research"),
        record_row("g2", "g1", "2", trace="1" * 32, source="gateway", workflow="research"),
        record_row("g3", None, "5", trace="2" * 32, source="gateway", workflow="research"),
        # no label: not a run of anything
        record_row("g4", None, "9", trace="3" * 32, source="gateway", workflow=None),
    ]
    (row,) = agent_stats(build_workflows(records, []))
    assert (row["agent"], row["kind"], row["runs"], row["cost"]) == ("research", "workflow", 2, Decimal(8))
    assert row["model_calls_per_run"] == 1.5
