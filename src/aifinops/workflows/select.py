"""Choose, with Arrow, the ledger rows a question needs before any tree is built.

Most traces are a single call (every gateway request may carry a trace id). A workflow made of one record and
no span is a one-node tree whose depth is 1, so for "the top N" only the N most expensive of them can rank,
by cost or by depth (depth ties are broken by cost). Trees are built for every other workflow and for those
N; the answer is the same as building them all, at a fraction of the cost.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["rows_for_ranking", "rows_for_agents", "AGENT_OPERATIONS"]

AGENT_OPERATIONS = ("invoke_agent", "create_agent")


def _conversation_traces(records: pa.Table, spans: pa.Table) -> pa.Array:
    """Trace ids that belong to a conversation (``gen_ai.conversation.id``): their workflow spans traces."""
    in_spans = spans.filter(pc.is_valid(spans["conversation_id"]))["trace_id"]
    otlp = pc.and_(
        pc.equal(records["source"], "otlp"), pc.not_equal(records["workflow"], records["trace_id"])
    )
    in_records = records.filter(pc.fill_null(otlp, False))["trace_id"]
    return pa.concat_arrays([in_spans.combine_chunks(), in_records.combine_chunks()]).cast(pa.string())


def rows_for_ranking(
    records: pa.Table, spans: pa.Table, top: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The record and span rows of every workflow that could be in the top ``top`` (see the module docstring)."""
    if records.num_rows == 0:
        return [], spans.to_pylist()
    counts = pc.value_counts(records["trace_id"])
    single = counts.filter(pc.equal(counts.field("counts"), 1)).field("values")
    structured = pa.concat_arrays(
        [spans["trace_id"].combine_chunks().cast(pa.string()), _conversation_traces(records, spans)]
    )
    lone = pc.and_(
        pc.is_in(records["trace_id"], single), pc.invert(pc.is_in(records["trace_id"], structured))
    )
    trivial = records.filter(lone)
    rest = records.filter(pc.invert(lone))
    if trivial.num_rows > top:
        trivial = trivial.take(pc.select_k_unstable(trivial, k=top, sort_keys=[("cost", "descending")]))
    return rest.to_pylist() + trivial.to_pylist(), spans.to_pylist()


def rows_for_agents(records: pa.Table, spans: pa.Table) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of the workflows that ran an agent, or whose gateway calls name them (the rest cannot change
    per-agent statistics)."""
    agent_spans = spans.filter(pc.is_in(spans["operation"], pa.array(AGENT_OPERATIONS)))
    labelled = pc.and_(pc.not_equal(records["source"], "otlp"), pc.is_valid(records["workflow"]))
    traces = pa.concat_arrays(
        [
            agent_spans["trace_id"].combine_chunks().cast(pa.string()),
            records.filter(pc.fill_null(labelled, False))["trace_id"].combine_chunks().cast(pa.string()),
        ]
    )
    if len(traces) == 0:
        return [], []
    conversations = pc.unique(
        spans.filter(pc.is_in(spans["trace_id"], traces))["conversation_id"].combine_chunks()
    ).drop_null()
    if len(conversations):  # the other turns of those conversations belong to the same workflows
        more = spans.filter(pc.is_in(spans["conversation_id"], conversations))["trace_id"].combine_chunks()
        more_records = records.filter(pc.fill_null(pc.is_in(records["workflow"], conversations), False))[
            "trace_id"
        ].combine_chunks()
        traces = pa.concat_arrays([traces, more.cast(pa.string()), more_records.cast(pa.string())])
    keep_records = records.filter(pc.is_in(records["trace_id"], traces))
    keep_spans = spans.filter(pc.is_in(spans["trace_id"], traces))
    return keep_records.to_pylist(), keep_spans.to_pylist()
