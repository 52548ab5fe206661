"""Choosing rows with Arrow before building trees gives the same answers as building every tree."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from aifinops.core.spans import SpanRow
from aifinops.ledger import DuckDBLedger
from aifinops.workflows import agent_stats, build_workflows, rank, rows_for_agents, rows_for_ranking
from tests.factories import T0, rec


@pytest.fixture(scope="module")
def tables():
    rnd = random.Random(7)
    ledger = DuckDBLedger()
    records, spans = [], []
    for t in range(300):
        trace = f"{t:032x}"
        kind = rnd.choice(["single", "single", "single", "chain", "agent", "conversation"])
        at = T0 + timedelta(minutes=t)
        cost = lambda: Decimal(rnd.randint(0, 10**6)) / 10**6  # noqa: E731
        if kind == "single":
            records.append(rec(f"{t}", trace_id=trace, span_id="s0", effective_cost=cost(), at=at))
            continue
        if kind in ("agent", "conversation"):
            conversation = f"conv-{t % 7}" if kind == "conversation" else None
            spans.append(
                SpanRow(
                    trace_id=trace,
                    span_id="ag",
                    start_time=at,
                    end_time=at + timedelta(seconds=9),
                    operation="invoke_agent",
                    agent_name=rnd.choice("xyz"),
                    conversation_id=conversation,
                )
            )
        for i in range(rnd.randint(1, 4)):
            parent = "ag" if kind != "chain" else (f"s{i - 1}" if i else None)
            records.append(
                rec(
                    f"{t}-{i}",
                    source="otlp" if kind != "chain" else "gateway",
                    trace_id=trace,
                    span_id=f"s{i}",
                    parent_span_id=parent,
                    workflow=trace if kind != "chain" else "chains",
                    effective_cost=cost(),
                    at=at,
                )
            )
    ledger.append(records)
    ledger.append_spans(spans)
    yield ledger.workflow_rows()
    ledger.close()


@pytest.mark.parametrize(("order", "top"), [("cost", 1), ("cost", 10), ("depth", 5), ("depth", 400)])
def test_ranking_from_chosen_rows_equals_ranking_everything(tables, order: str, top: int) -> None:
    records, spans = tables
    everything = rank(build_workflows(records.to_pylist(), spans.to_pylist()), order, top)
    chosen = rank(build_workflows(*rows_for_ranking(records, spans, top)), order, top)
    assert chosen == everything


def test_agent_statistics_from_chosen_rows_equal_everything(tables) -> None:
    records, spans = tables
    everything = agent_stats(build_workflows(records.to_pylist(), spans.to_pylist()))
    assert agent_stats(build_workflows(*rows_for_agents(records, spans))) == everything
    assert {row["kind"] for row in everything} == {"agent", "workflow"}
