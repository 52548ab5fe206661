"""Ledger readers for the detectors: owner series at a resolution, workflows, endpoint hours, training runs.

Spend series come from records no longer than the resolution (metered requests) bucketed with
``time_bucket``; records covering longer periods (hourly GPU instances and training nodes, hourly or daily
usage reports) form a second, hourly series per owner, so an hourly charge never looks like a 5-minute spike.
GPU records (endpoint instances, training nodes) are left to the idle-endpoint and runaway-training
detectors: scheduled training runs would otherwise read as recurring spikes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from aifinops.anomaly import EndpointHour, OwnerSeries, TrainingRun, Workflow
from aifinops.ledger.query import authoritative_clause, dimension_sql

__all__ = ["read_series", "read_workflows", "read_endpoint_hours", "read_training_runs"]


def _owner_sql(owner_by: str) -> tuple[str, list[Any]]:
    params: list[Any] = []
    return f"coalesce(CAST({dimension_sql(owner_by, params)} AS VARCHAR), '(unattributed)')", params


def _authoritative(ledger: Any, params: list[Any]) -> str:
    """`` AND <condition>`` keeping the authoritative source of each provider-day (as rollups do: a call
    seen by both the gateway and OTLP counts once); appends its parameters. Empty without a priority."""
    priority = tuple(getattr(ledger, "source_priority", ()) or ())
    return f" AND {authoritative_clause(priority, params)}" if priority else ""


def read_series(
    ledger: Any, cost_column: str, owner_by: str, since: datetime, until: datetime, step: timedelta
) -> list[OwnerSeries]:
    """Per owner: the short-record series at ``step`` and, when there are any, the long-record hourly series."""
    owner, owner_params = _owner_sql(owner_by)
    out: list[OwnerSeries] = []
    seconds = int(step.total_seconds())
    for short, size in ((True, seconds), (False, 3600)):
        if not short and seconds >= 3600:
            break
        length = "<=" if short else ">"
        params: list[Any] = [*owner_params, since, until, seconds]
        authority = _authoritative(ledger, params)
        rows = ledger.query(
            f"SELECT {owner} AS owner, coalesce(r.model, r.service, '?') AS model, "
            f"CAST(epoch(time_bucket(to_seconds({size}), r.charge_period_start)) AS BIGINT) AS b, "
            f"CAST(sum(r.{cost_column}) AS DOUBLE) AS cost, CAST(sum(r.requests) AS DOUBLE) AS requests, "
            "CAST(sum(r.input_tokens + r.cached_input_tokens + r.cache_write_5m_tokens + r.cache_write_1h_tokens) "
            "AS DOUBLE) AS input_tokens, "
            "CAST(sum(CASE WHEN r.status = 'error' THEN r.requests ELSE 0 END) AS DOUBLE) AS errors, "
            "CAST(sum(CASE WHEN coalesce(r.attempt, 1) > 1 THEN r.requests ELSE 0 END) AS DOUBLE) AS retries "
            "FROM records r WHERE r.charge_period_start >= ? AND r.charge_period_start < ? "
            f"AND epoch(r.charge_period_end) - epoch(r.charge_period_start) {length} ? "
            f"AND coalesce(r.gpu_seconds, 0) = 0{authority} GROUP BY ALL",
            params,
        )
        out.extend(_pivot(rows, since, until, timedelta(seconds=size), suffix="" if short else " (hourly)"))
    return out


def _pivot(
    rows: list[dict[str, Any]], since: datetime, until: datetime, step: timedelta, suffix: str
) -> list[OwnerSeries]:
    origin = int(since.timestamp()) // int(step.total_seconds()) * int(step.total_seconds())
    n = int((until.timestamp() - origin) // step.total_seconds())
    if n <= 0:
        return []
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        grouped[r["owner"]].append(r)
    out = []
    start = datetime.fromtimestamp(origin, tz=since.tzinfo)
    for owner, items in sorted(grouped.items()):
        arrays = {k: np.zeros(n) for k in ("cost", "requests", "input_tokens", "errors", "retries")}
        models: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for r in items:
            i = (r["b"] - origin) // int(step.total_seconds())
            if not 0 <= i < n:
                continue
            for k, arr in arrays.items():
                arr[i] += r[k] or 0.0
            req, cost = models.setdefault(r["model"], (np.zeros(n), np.zeros(n)))
            req[i] += r["requests"] or 0.0
            cost[i] += r["cost"] or 0.0
        out.append(OwnerSeries(owner + suffix, start, step, models=models, **arrays))
    return out


def read_workflows(
    ledger: Any, cost_column: str, owner_by: str, since: datetime, until: datetime
) -> list[Workflow]:
    """Agent workflow runs (one trace each; the agent is the workflow name) with at least two calls."""
    owner, params = _owner_sql(owner_by)
    args: list[Any] = [*params, since, until]
    rows = ledger.query(
        f"SELECT r.trace_id AS id, any_value({owner}) AS owner, "
        "coalesce(any_value(r.workflow), any_value(r.use_case), any_value(r.feature), 'agent') AS agent, "
        f"min(r.charge_period_start) AS s, max(r.charge_period_end) AS e, count(*) AS calls, "
        f"CAST(sum(r.{cost_column}) AS DOUBLE) AS cost "
        "FROM records r WHERE r.charge_period_start >= ? AND r.charge_period_start < ? "
        f"AND r.trace_id IS NOT NULL{_authoritative(ledger, args)} GROUP BY 1 HAVING count(*) >= 2",
        args,
    )
    return [
        Workflow(r["id"], r["owner"], r["agent"], r["s"], r["e"], int(r["calls"]), r["cost"] or 0.0)
        for r in rows
    ]


def read_endpoint_hours(
    ledger: Any, cost_column: str, owner_by: str, since: datetime, until: datetime
) -> list[EndpointHour]:
    """Hourly mean GPU utilisation and cost of each self-hosted endpoint (records tagged ``endpoint``)."""
    owner, params = _owner_sql(owner_by)
    args: list[Any] = [*params, since, until]
    rows = ledger.query(
        f"SELECT r.tags['endpoint'] AS endpoint, any_value({owner}) AS owner, "
        "time_bucket(INTERVAL 1 HOUR, r.charge_period_start) AS hour, "
        "avg(TRY_CAST(r.tags['gpu_util'] AS DOUBLE)) AS util, "
        f"CAST(sum(r.{cost_column}) AS DOUBLE) AS cost, CAST(sum(r.requests) AS BIGINT) AS requests "
        "FROM records r WHERE r.charge_period_start >= ? AND r.charge_period_start < ? "
        f"AND r.tags['endpoint'] IS NOT NULL AND r.gpu_seconds > 0{_authoritative(ledger, args)} GROUP BY 1, 3",
        args,
    )
    return [
        EndpointHour(
            r["endpoint"],
            r["owner"],
            r["hour"],
            r["util"] if r["util"] is not None else 1.0,
            r["cost"] or 0.0,
            int(r["requests"] or 0),
        )
        for r in rows
    ]


def read_training_runs(
    ledger: Any, cost_column: str, owner_by: str, since: datetime, until: datetime
) -> list[TrainingRun]:
    """Training runs (records tagged ``run_id``) with their job (tag ``job``, else the feature)."""
    owner, params = _owner_sql(owner_by)
    args: list[Any] = [*params, since, until]
    rows = ledger.query(
        f"SELECT r.tags['run_id'] AS run_id, coalesce(any_value(r.tags['job']), any_value(r.feature), '?') AS job, "
        f"any_value({owner}) AS owner, min(r.charge_period_start) AS s, max(r.charge_period_end) AS e, "
        f"CAST(sum(r.{cost_column}) AS DOUBLE) AS cost FROM records r "
        "WHERE r.charge_period_start >= ? AND r.charge_period_start < ? AND r.tags['run_id'] IS NOT NULL "
        f"AND r.category = 'training'{_authoritative(ledger, args)} GROUP BY 1",
        args,
    )
    return [TrainingRun(r["run_id"], r["job"], r["owner"], r["s"], r["e"], r["cost"] or 0.0) for r in rows]


def read_breakdown(
    ledger: Any,
    cost_column: str,
    owner_by: str,
    owner: str,
    start: datetime,
    end: datetime,
    since: datetime,
    weeks: int = 4,
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """An owner's spend by feature and by model in ``[start, end)`` and, on average, over the same hours of
    up to ``weeks`` earlier weeks that are not before ``since``: ``(current, usual)``, each
    ``{"feature": {...}, "model": {...}}``. GPU records are left out, as in :func:`read_series`."""
    lags = [k for k in range(weeks + 1) if k == 0 or start - timedelta(weeks=k) >= since]
    cases, params = [], []
    for k in lags:
        cases.append("WHEN r.charge_period_start >= ? AND r.charge_period_start < ? THEN ?")
        params.extend([start - timedelta(weeks=k), end - timedelta(weeks=k), k])
    owner_expr, owner_params = _owner_sql(owner_by)
    params.extend(owner_params)
    params.append(owner)
    bounds = " OR ".join("(r.charge_period_start >= ? AND r.charge_period_start < ?)" for _ in lags)
    for k in lags:
        params.extend([start - timedelta(weeks=k), end - timedelta(weeks=k)])
    authority = _authoritative(ledger, params)
    rows = ledger.query(
        f"SELECT CASE {' '.join(cases)} END AS lag, coalesce(r.feature, '(no feature)') AS feature, "
        f"coalesce(r.model, r.service, '?') AS model, CAST(sum(r.{cost_column}) AS DOUBLE) AS cost "
        f"FROM records r WHERE {owner_expr} = ? AND ({bounds}) AND coalesce(r.gpu_seconds, 0) = 0{authority} "
        "GROUP BY ALL",
        params,
    )
    current: dict[str, dict[str, float]] = {"feature": defaultdict(float), "model": defaultdict(float)}
    usual: dict[str, dict[str, float]] = {"feature": defaultdict(float), "model": defaultdict(float)}
    n_usual = max(len(lags) - 1, 1)
    for r in rows:
        target, share = (current, 1.0) if r["lag"] == 0 else (usual, 1.0 / n_usual)
        for dim in ("feature", "model"):
            target[dim][r[dim]] += (r["cost"] or 0.0) * share
    return current, usual
