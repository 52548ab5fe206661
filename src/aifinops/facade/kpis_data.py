"""Gathering the KPI engine's inputs from the ledger and the other areas (functions of the facade).

Money and additive counts come from ``App.allocated_costs`` (the authoritative view, after allocation).
Measures that a rollup cannot give (mean latency, distinct training runs and traces, utilization-weighted
GPU-hours, first-seen times) are read with one SQL query over the records: they are robust to a call being
seen by two sources (distinct counts, means of the same latency). Outcomes come from ``App.value_summary``
or, while that is not available, straight from the ``outcomes`` table.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aifinops.core.errors import InputError
from aifinops.core.money import ZERO
from aifinops.core.records import OUTCOME_DIMENSIONS
from aifinops.kpis.inputs import (
    INFERENCE_CATEGORIES,
    NON_CALL_CATEGORIES,
    KpiInputs,
    TokenBucket,
    cheapest_per_use_case,
    fit_costs,
    split_token_cost,
)
from aifinops.ledger.query import build_where, dimension_sql

if TYPE_CHECKING:
    from aifinops.app import App

__all__ = ["gather", "OUTCOME_DIMENSIONS"]

_DAY_S = 86400.0
_GLOB = re.compile(r"[*?\[]")
Key = tuple[Any, ...]


def _unique(*names: str) -> list[str]:
    return list(dict.fromkeys(names))


def _values(where: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for value in where.values():
        out.extend(value if isinstance(value, list | tuple | set | frozenset) else [value])
    return out


def _period_sql(column: str, grain: str) -> str:
    return f"make_timestamptz(epoch_us(date_trunc('{grain}', make_timestamp(epoch_us({column})))))"


def _key(row: dict[str, Any], dims: Sequence[str], grain: str | None) -> Key:
    return tuple(row[d] for d in dims) + ((row["period"],) if grain else ())


def gather(
    app: App,
    dims: Sequence[str],
    since: datetime | None,
    until: datetime | None,
    where: dict[str, Any],
    grain: str | None,
) -> dict[Key, KpiInputs]:
    """One :class:`KpiInputs` per group (dimension values, plus the period when ``grain`` is set)."""
    groups: dict[Key, KpiInputs] = defaultdict(KpiInputs)
    features: dict[Key, set[str]] = defaultdict(set)
    customers: dict[Key, set[str]] = defaultdict(set)
    span = {"since": since, "until": until, "where": where, "grain": grain}
    for row in app.allocated_costs(by=_unique(*dims, "category", "feature", "customer"), **span):
        key, cost = _key(row, dims, grain), row["cost"] or ZERO
        inp = groups[key]
        inp.cost += cost
        inp.requests += row.get("requests") or 0
        if row["category"] in INFERENCE_CATEGORIES:
            inp.inference_cost += cost
            inp.inference_requests += row.get("requests") or 0
        if row["category"] not in NON_CALL_CATEGORIES:
            inp.call_cost += cost
        if row["category"] == "training":
            inp.training_cost += cost
        if row["feature"] is not None:
            inp.feature_cost += cost
            features[key].add(row["feature"])
        if row["customer"] is not None:
            inp.customer_cost += cost
            customers[key].add(row["customer"])
    for key, inp in groups.items():
        inp.features, inp.customers = len(features[key]), len(customers[key])
    _tokens(app, groups, dims, span)
    _sql_measures(app, groups, dims, since, until, where, grain)
    _outcomes(app, groups, dims, since, until, where, grain)
    _first_times(app, groups, features, until)
    _gpu(app, groups, dims, since, until, where, grain)
    _anomalies(app, groups, dims, since, until, where)
    return groups


def _tokens(app: App, groups: dict[Key, KpiInputs], dims: Sequence[str], span: dict[str, Any]) -> None:
    """Token spend, its input/output split (catalog rates) and the model fit score's two sums."""
    if "cost_in" in span["where"]:
        return  # the cost_in=gpu requests are the ones left out of token spend (their money is in GPU hours)
    by = _unique(*dims, "category", "provider", "model", "pricing_mode", "use_case")
    where = {**span["where"], "cost_in": None}  # self-hosted requests: their money is in GPU hours
    rows = [
        r
        for r in app.allocated_costs(by=by, **{**span, "where": where})
        if r["cost"] is not None and not r.get("gpu_hours") and _token_count(r)
    ]
    for r in rows:
        r["tokens"] = _token_count(r)
    cheapest = cheapest_per_use_case(rows)
    at = span["until"]
    for r in rows:
        inp = groups[_key(r, dims, span["grain"])]
        output = r.get("output_tokens") or 0
        tokens_in = r["tokens"] - output
        inp.token_cost += r["cost"]
        inp.input_tokens += tokens_in
        inp.output_tokens += output
        bucket = TokenBucket(
            r["cost"],
            {
                "input": r.get("input_tokens") or 0,
                "cached_input": r.get("cached_input_tokens") or 0,
                "cache_write_5m": r.get("cache_write_tokens") or 0,  # 5m and 1h writes are both input side
                "output": r.get("output_tokens") or 0,
            },
            _rates(app, r, r.get("period") or at),
        )
        split = split_token_cost(bucket)
        if split is not None:
            inp.input_cost += split[0]
            inp.output_cost += split[1]
            inp.split_input_tokens += tokens_in
            inp.split_output_tokens += output
        fit = fit_costs(r["cost"], r["tokens"], r["use_case"], cheapest)
        if fit is not None:
            inp.fit_cheapest_cost += fit[0]
            inp.fit_actual_cost += fit[1]


def _token_count(row: dict[str, Any]) -> int:
    return sum(
        row.get(c) or 0
        for c in ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens")
    )


def _rates(app: App, row: dict[str, Any], at: datetime | None) -> dict[str, Decimal | None] | None:
    if not row["model"]:
        return None
    entry = app.catalog.resolve(row["model"], row["provider"], at)
    rates = entry.rates.get(row["pricing_mode"] or "on_demand") if entry is not None else None
    if rates is None:
        return None
    return {c: rates.get(c) for c in ("input", "cached_input", "cache_write_5m", "cache_write_1h", "output")}


def _sql_measures(
    app: App,
    groups: dict[Key, KpiInputs],
    dims: Sequence[str],
    since: datetime | None,
    until: datetime | None,
    where: dict[str, Any],
    grain: str | None,
) -> None:
    """Mean inference latency, distinct training runs, useful GPU-hours and transactions per group."""
    params: list[Any] = []
    select = [f"{dimension_sql(d, params)} AS g{i}" for i, d in enumerate(dims)]
    if grain:
        select.append(_period_sql("r.charge_period_start", grain) + " AS period")
    inference = ", ".join(f"'{c}'" for c in INFERENCE_CATEGORIES)
    select += [
        f"avg(r.latency_ms) FILTER (WHERE r.category IN ({inference}) AND r.corrects IS NULL) AS latency",
        "count(DISTINCT r.tags['run_id']) FILTER (WHERE r.category = 'training') AS runs",
        "sum(CAST(r.gpu_seconds AS DOUBLE) / 3600 * TRY_CAST(r.tags['gpu_util'] AS DOUBLE)) "
        "FILTER (WHERE r.category = 'training' AND r.corrects IS NULL) AS useful",
        "count(DISTINCT coalesce(r.trace_id, r.record_id)) FILTER (WHERE r.requests > 0 AND r.corrects IS NULL)"
        " AS transactions",
    ]
    clause, params = build_where(since, until, where, params)
    n = len(dims) + bool(grain)
    sql = f"SELECT {', '.join(select)} FROM records r {clause}"
    if n:
        sql += " GROUP BY " + ", ".join(str(i + 1) for i in range(n))
    for row in app.ledger.query(sql, params):
        key = tuple(row[f"g{i}"] for i in range(len(dims))) + ((row["period"],) if grain else ())
        if key not in groups:
            continue
        inp = groups[key]
        inp.latency_ms_mean = row["latency"]
        inp.training_runs = int(row["runs"] or 0)
        inp.training_useful_gpu_hours = row["useful"]
        inp.transactions = int(row["transactions"] or 0)


def _outcomes(
    app: App,
    groups: dict[Key, KpiInputs],
    dims: Sequence[str],
    since: datetime | None,
    until: datetime | None,
    where: dict[str, Any],
    grain: str | None,
) -> None:
    """Outcomes and their value per group: ``value_summary`` (the value area) where its grouping fits (value
    dimensions only, no grain, exact filters), else the same sums straight from the outcomes table."""
    fits = (
        grain is None
        and since is not None
        and dims
        and all(d in OUTCOME_DIMENSIONS for d in (*dims, *where))
        and not any(_GLOB.search(str(v)) for v in _values(where))
    )
    if fits:
        try:
            rows = app.value_summary(by=dims, since=since, until=until, where=where)
        except (NotImplementedError, InputError):
            rows = None
        if rows is not None:
            found = {tuple(r.get(d) for d in dims): r for r in rows}
            for key, inp in groups.items():
                row = found.get(key)
                inp.outcomes = int(row.get("outcomes") or 0) if row else 0
                inp.value = row.get("value") if row else None
            return
    missing = [d for d in (*dims, *where) if d not in OUTCOME_DIMENSIONS]
    if missing:
        note = f"outcomes carry no {', '.join(missing)}: value and outcomes cannot be attributed"
        for inp in groups.values():
            inp.notes.update(ai_roi=note, cost_per_outcome=note)
        return
    params: list[Any] = []
    select = [f'o."{d}" AS g{i}' for i, d in enumerate(dims)]
    if grain:
        select.append(_period_sql("o.occurred_at", grain) + " AS period")
    select += ["CAST(sum(o.count) AS BIGINT) AS outcomes", "sum(o.value) AS value"]
    clauses = []
    if since is not None:
        clauses.append("o.occurred_at >= ?")
        params.append(since)
    if until is not None:
        clauses.append("o.occurred_at < ?")
        params.append(until)
    clause, params = build_where(None, None, where, params)
    sql = f"SELECT {', '.join(select)} FROM outcomes o"
    conditions = clauses + ([clause.removeprefix("WHERE ").replace("r.", "o.")] if clause else [])
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    n = len(dims) + bool(grain)
    if n:
        sql += " GROUP BY " + ", ".join(str(i + 1) for i in range(n))
    found = {
        tuple(r[f"g{i}"] for i in range(len(dims))) + ((r["period"],) if grain else ()): r
        for r in app.ledger.query(sql, params)
    }
    for key, inp in groups.items():
        row = found.get(key)
        inp.outcomes = int(row["outcomes"] or 0) if row else 0
        inp.value = row["value"] if row else None


def _first_times(
    app: App, groups: dict[Key, KpiInputs], features: dict[Key, set[str]], until: datetime | None
) -> None:
    """Time to value and time to first deployment: per feature over the whole ledger up to ``until``."""
    params: list[Any] = [] if until is None else [until]
    upto = "" if until is None else " AND charge_period_start < ?"
    spend = {
        r["feature"]: r
        for r in app.ledger.query(
            "SELECT feature, min(charge_period_start) AS first, "
            "min(charge_period_start) FILTER (WHERE environment = 'prod') AS prod "
            f"FROM records WHERE feature IS NOT NULL AND corrects IS NULL{upto} GROUP BY 1",
            params,
        )
    }
    upto = "" if until is None else " AND occurred_at < ?"
    outcome = {
        r["feature"]: r["first"]
        for r in app.ledger.query(
            f"SELECT feature, min(occurred_at) AS first FROM outcomes WHERE feature IS NOT NULL{upto} GROUP BY 1",
            params,
        )
    }
    for key, inp in groups.items():
        ttv, ttd = [], []
        for feature in features.get(key, ()):
            first = spend.get(feature)
            if first is None:
                continue
            if feature in outcome:
                ttv.append(max((outcome[feature] - first["first"]).total_seconds(), 0.0) / _DAY_S)
            if first["prod"] is not None:
                ttd.append((first["prod"] - first["first"]).total_seconds() / _DAY_S)
        inp.time_to_value_days = statistics.median(ttv) if ttv else None
        inp.time_to_first_deployment_days = statistics.median(ttd) if ttd else None


def _gpu(
    app: App,
    groups: dict[Key, KpiInputs],
    dims: Sequence[str],
    since: datetime | None,
    until: datetime | None,
    where: dict[str, Any],
    grain: str | None,
) -> None:
    note = None
    rows: list[dict[str, Any]] = []
    if grain is not None:
        note = "GPU utilization is reported per group, not per period"
    else:
        try:
            rows = app.gpu_utilization(by=tuple(dims), since=since, until=until, where=where)
        except NotImplementedError:
            note = "GPU telemetry is not available yet (GPU area)"
        except InputError as exc:  # a dimension or filter GPU telemetry does not carry
            note = exc.message
    found = {tuple(r.get(d) for d in dims): r.get("utilization") for r in rows}
    for key, inp in groups.items():
        if note:
            inp.notes["gpu_utilization_rate"] = note
        else:
            inp.gpu_utilization = found.get(key)


def _anomalies(
    app: App,
    groups: dict[Key, KpiInputs],
    dims: Sequence[str],
    since: datetime | None,
    until: datetime | None,
    where: dict[str, Any],
) -> None:
    note, result = None, None
    if dims or where or len(groups) > 1:
        note = "anomaly KPIs are reported for the whole ledger only (no --by, --where or --grain)"
    else:
        try:
            result = app.anomaly_kpis(since=since, until=until)
        except NotImplementedError:
            note = "anomaly detection is not available yet (anomaly area)"
        except InputError as exc:
            note = exc.message
    for inp in groups.values():
        if note:
            inp.notes["anomaly_detection_rate"] = note
            inp.notes["mean_time_to_detect_minutes"] = note
        elif result is not None:
            inp.anomaly_detection_rate = result.get("detection_rate")
            inp.mttd_minutes = result.get("mttd_minutes")
