"""Span storage for the DuckDB ledger: workflow structure (agents, tools) beside the records (the cost).

Spans are appended idempotently like records: a span whose ``(trace_id, span_id)`` is already stored is
dropped (an exporter that retries sends the same spans again). :func:`node_query` reads the rows a
workflow tree is built from: the spans, and the records that carry a trace id (OTLP model calls and
gateway calls made with ``x-aifinops-trace-id``), read under the same source authority as reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from aifinops.core.errors import InputError, StorageError
from aifinops.core.spans import SPAN_FIELDS, SpanRow
from aifinops.ledger.base import AppendResult
from aifinops.ledger.query import _authority
from aifinops.ledger.schema import SPAN_SCHEMA

__all__ = ["spans_to_table", "insert_spans", "node_queries", "SPAN_COLUMNS_SQL"]

SPAN_COLUMNS_SQL = ", ".join(f'"{n}"' for n in SPAN_SCHEMA.names)
_GET = attrgetter(*SPAN_FIELDS)
_COST_COLUMNS = ("list_cost", "effective_cost", "billed_cost")


def spans_to_table(spans: Sequence[SpanRow]) -> pa.Table:
    """Span rows as an Arrow table in the ledger's span schema."""
    if not spans:
        return SPAN_SCHEMA.empty_table()
    columns = list(zip(*map(_GET, spans), strict=True))
    for name, values in zip(SPAN_FIELDS, columns, strict=True):
        if name in ("start_time", "end_time") and any(v.tzinfo is None for v in values):
            raise InputError(f"span {name} must be timezone-aware (UTC)")
    try:
        arrays = [pa.array(values, type=typ) for values, typ in zip(columns, SPAN_SCHEMA.types, strict=True)]
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
        raise InputError(f"spans: {exc}") from None
    return pa.Table.from_arrays(arrays, schema=SPAN_SCHEMA)


def insert_spans(con: duckdb.DuckDBPyConnection, spans: Sequence[SpanRow] | pa.Table) -> AppendResult:
    """Insert spans not stored yet (inside the caller's transaction)."""
    table = spans if isinstance(spans, pa.Table) else spans_to_table(list(spans))
    if table.num_rows == 0:
        return AppendResult()
    keys = pc.binary_join_element_wise(table["trace_id"], table["span_id"], ":")
    distinct = pc.count_distinct(keys).as_py()
    lo, hi = pc.min_max(table["start_time"]).values()
    con.register("_spans", table)
    try:
        source = "_spans"
        if distinct != table.num_rows:  # the same span twice in one request: keep the first
            source = "(SELECT * FROM _spans QUALIFY row_number() OVER (PARTITION BY trace_id, span_id) = 1)"
        inserted = con.execute(
            f"INSERT INTO spans ({SPAN_COLUMNS_SQL}) SELECT {SPAN_COLUMNS_SQL} FROM {source} b "
            "WHERE NOT EXISTS (SELECT 1 FROM spans t WHERE t.trace_id = b.trace_id AND t.span_id = b.span_id "
            "AND t.start_time BETWEEN ? AND ?)",
            [lo.as_py(), hi.as_py()],
        ).fetchone()[0]
    except duckdb.Error as exc:
        raise StorageError(f"append to spans failed: {exc}") from None
    finally:
        try:
            con.unregister("_spans")
        except duckdb.Error:
            pass  # the transaction is aborted; the caller rolls back
    return AppendResult(inserted=int(inserted), duplicates=table.num_rows - int(inserted))


def node_queries(
    *,
    cost_column: str,
    source_priority: Sequence[str],
    since: datetime | None = None,
    until: datetime | None = None,
    workflow_id: str | None = None,
) -> tuple[tuple[str, list[Any]], tuple[str, list[Any]]]:
    """SQL (and parameters) for the record rows and the span rows of workflows.

    With ``workflow_id``: every row of the traces that make up that workflow (a trace id, or a
    ``gen_ai.conversation.id`` that names several traces), whatever their time. Otherwise the rows that
    start in ``[since, until)``. ``source_priority`` (when not empty) keeps the authoritative source
    of each provider-day only, as reports do, so a call seen by the gateway and by OTLP counts once.
    """
    if cost_column not in _COST_COLUMNS:
        raise InputError(f"cost column must be one of {', '.join(_COST_COLUMNS)}")
    rec_params: list[Any] = []
    span_params: list[Any] = []
    rec_where = ["r.trace_id IS NOT NULL"]
    span_where: list[str] = []
    if workflow_id is not None:
        traces = (
            "(SELECT trace_id FROM records WHERE trace_id = ? OR (source = 'otlp' AND workflow = ?) "
            "UNION SELECT trace_id FROM spans WHERE trace_id = ? OR conversation_id = ?)"
        )
        rec_where.append(f"r.trace_id IN {traces}")
        span_where.append(f"s.trace_id IN {traces}")
        rec_params.extend([workflow_id] * 4)
        span_params.extend([workflow_id] * 4)
    else:
        if since is not None:
            rec_where.append("r.charge_period_start >= ?")
            span_where.append("s.start_time >= ?")
            rec_params.append(since)
            span_params.append(since)
        if until is not None:
            rec_where.append("r.charge_period_start < ?")
            span_where.append("s.start_time < ?")
            rec_params.append(until)
            span_params.append(until)
    if source_priority:
        rec_where.append(_authority(source_priority, rec_params))
    records_sql = (
        "SELECT r.trace_id, r.span_id, r.parent_span_id, r.workflow, r.source, r.provider, r.model, "
        "r.operation, r.status, r.charge_period_start AS start_time, r.charge_period_end AS end_time, "
        f"r.{cost_column} AS cost, r.cost_status, r.corrects, r.requests, r.tags['request_hash'] AS request_hash "
        f"FROM records r WHERE {' AND '.join(rec_where)}"
    )
    spans_sql = (
        "SELECT s.trace_id, s.span_id, s.parent_span_id, s.name, s.kind, s.operation, s.agent_name, "
        "s.tool_name, s.workflow_name, s.conversation_id, s.service, s.start_time, s.end_time, s.status, "
        "s.request_hash FROM spans s" + (f" WHERE {' AND '.join(span_where)}" if span_where else "")
    )
    return (records_sql, rec_params), (spans_sql, span_params)
