"""SQL for rollups and filters: identifiers come from a fixed list, values are always parameters."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from aifinops.core.errors import InputError
from aifinops.core.records import DIMENSIONS
from aifinops.ledger.base import GRAINS, RollupQuery

__all__ = ["authoritative_clause", "build_rollup", "build_where", "dimension_sql"]

_COST_COLUMNS = ("list_cost", "effective_cost", "billed_cost")
_GLOB = re.compile(r"[*?\[]")
_ORDERABLE = {"cost", "list_cost", "effective_cost", "billed_cost", "requests", "records", "output_tokens"}


def dimension_sql(name: str, params: list[Any]) -> str:
    """SQL for one dimension: a known column, or a tag (``tag:KEY`` or any other name)."""
    if name in DIMENSIONS:
        return f'r."{name}"'
    key = name[4:] if name.startswith("tag:") else name
    if not key or len(key) > 200:
        raise InputError(f"invalid dimension {name!r}")
    params.append(key)
    return "r.tags[?]"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def build_where(
    since: datetime | None, until: datetime | None, where: Mapping[str, Any], params: list[Any] | None = None
) -> tuple[str, list[Any]]:
    """A WHERE clause for a time range and dimension filters."""
    params = [] if params is None else params
    clauses: list[str] = []
    for label, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InputError(f"{label} must be timezone-aware")
    if since is not None:
        clauses.append("r.charge_period_start >= ?")
        params.append(since)
    if until is not None:
        clauses.append("r.charge_period_start < ?")
        params.append(until)
    for name, value in where.items():
        dimension_sql(name, [])  # validates the name
        values = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
        present = [str(v) for v in values if v is not None]
        exact = [v for v in present if not _GLOB.search(v)]
        parts = []
        if exact:  # each use of a tag column binds its key again, so params stay in order
            parts.append(f"{dimension_sql(name, params)} IN ({', '.join('?' for _ in exact)})")
            params.extend(exact)
        for pattern in (v for v in present if _GLOB.search(v)):
            parts.append(f"{dimension_sql(name, params)} GLOB ?")
            params.append(pattern)
        if len(present) != len(values):
            parts.append(f"{dimension_sql(name, params)} IS NULL")
        clauses.append("(" + " OR ".join(parts) + ")")
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


_METRIC_SQL = {
    "list_cost": "sum(r.list_cost) AS list_cost",
    "effective_cost": "sum(r.effective_cost) AS effective_cost",
    "billed_cost": "sum(r.billed_cost) AS billed_cost",
    "input_tokens": "CAST(sum(r.input_tokens) AS BIGINT) AS input_tokens",
    "cached_input_tokens": "CAST(sum(r.cached_input_tokens) AS BIGINT) AS cached_input_tokens",
    "cache_write_tokens": "CAST(sum(r.cache_write_5m_tokens + r.cache_write_1h_tokens) AS BIGINT) AS cache_write_tokens",
    "output_tokens": "CAST(sum(r.output_tokens) AS BIGINT) AS output_tokens",
    "reasoning_tokens": "CAST(sum(r.reasoning_tokens) AS BIGINT) AS reasoning_tokens",
    "requests": "CAST(sum(r.requests) AS BIGINT) AS requests",
    "gpu_hours": "CAST(sum(r.gpu_seconds) / 3600 AS DECIMAL(38, 6)) AS gpu_hours",
    "records": "count(*) AS records",
    "unpriced_records": "CAST(sum(CASE WHEN r.cost_status = 'unpriced' THEN CASE WHEN r.corrects IS NULL "
    "THEN 1 ELSE -1 END ELSE 0 END) AS BIGINT) AS unpriced_records",
}


def _metrics(cost_column: str, wanted: tuple[str, ...] | None = None) -> str:
    if cost_column not in _COST_COLUMNS:
        raise InputError(f"cost column must be one of {', '.join(_COST_COLUMNS)}")
    names = list(_METRIC_SQL) if wanted is None else [m for m in wanted if m != "cost"]
    unknown = [m for m in names if m not in _METRIC_SQL]
    if unknown:
        raise InputError(
            f"unknown metric(s) {', '.join(unknown)}; choose from cost, {', '.join(_METRIC_SQL)}"
        )
    return ", ".join([f"sum(r.{cost_column}) AS cost", *(_METRIC_SQL[m] for m in names)])


def _authority(source_priority: Sequence[str], params: list[Any]) -> str:
    """Exclude a source's records for a provider-day where a higher-priority source also reports."""
    values = ", ".join("(?, ?)" for _ in source_priority)
    for rank, source in enumerate(source_priority):
        params.extend((source, rank))
    return (
        "NOT EXISTS (SELECT 1 FROM ("
        f"  WITH prio(source, rank) AS (VALUES {values}),"
        "   cov AS (SELECT c.provider, c.day, c.source, p.rank FROM (SELECT DISTINCT provider, day, source "
        "FROM source_coverage) c JOIN prio p USING (source)),"
        "   best AS (SELECT provider, day, min(rank) AS rank FROM cov GROUP BY ALL)"
        "   SELECT cov.provider, cov.day, cov.source FROM cov JOIN best USING (provider, day) "
        "WHERE cov.rank > best.rank"
        ") x WHERE x.provider = coalesce(r.provider, '') AND x.source = r.source "
        "AND x.day = CAST(r.charge_period_start AS DATE))"
    )


def authoritative_clause(source_priority: Sequence[str], params: list[Any]) -> str:
    """The SQL condition (records aliased ``r``) that keeps only the authoritative source of each
    provider-day, exactly as :func:`build_rollup` applies ``source_priority``; appends its parameters."""
    return _authority(source_priority, params)


def build_rollup(
    query: RollupQuery, *, cost_column: str = "effective_cost", source_priority: Sequence[str] = ()
) -> tuple[str, list[Any]]:
    """SQL and parameters for a rollup."""
    select_params: list[Any] = []
    select = []
    for name in query.by:
        select.append(f"{dimension_sql(name, select_params)} AS {_quote(name)}")
    if query.grain is not None:
        if query.grain not in GRAINS:
            raise InputError(f"grain must be one of {', '.join(GRAINS)}, got {query.grain!r}")
        # date_trunc on a naive timestamp is several times cheaper than on TIMESTAMPTZ; the two agree because
        # every ledger connection runs with TimeZone = 'UTC'.
        select.append(
            f"make_timestamptz(epoch_us(date_trunc('{query.grain}', make_timestamp(epoch_us(r.charge_period_start)))))"
            " AS period"
        )
    if query.order_by not in _ORDERABLE:
        raise InputError(f"order_by must be one of {', '.join(sorted(_ORDERABLE))}")
    if query.metrics is not None and query.order_by not in ("cost", *query.metrics):
        raise InputError(f"order_by {query.order_by!r} must be one of the requested metrics")
    select.append(_metrics(cost_column, query.metrics))
    where_params: list[Any] = []
    where, where_params = build_where(query.since, query.until, query.where, where_params)
    if source_priority:
        clause = _authority(source_priority, where_params)
        where = f"{where} AND {clause}" if where else f"WHERE {clause}"
    group = ", ".join(str(i + 1) for i in range(len(query.by) + (query.grain is not None)))
    order = ("period, " if query.grain is not None else "") + f"{query.order_by} DESC NULLS LAST"
    if query.by:
        order += ", " + ", ".join(str(i + 1) for i in range(len(query.by)))
    sql = f"SELECT {', '.join(select)} FROM records r {where}"
    if group:
        sql += f" GROUP BY {group}"
    sql += f" ORDER BY {order}" if group else ""
    params = [*select_params, *where_params]
    if query.limit is not None:
        sql += " LIMIT ?"
        params.append(int(query.limit))
    return sql, params
