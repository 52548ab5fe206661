"""The ledger queries behind recommendations: token rows, per-feature facts, caching events, GPU rows.

Metered traffic comes from the per-request sources (``gateway``, ``otlp``): they carry the feature and the
model of each call. Reversed records and their reversals are left out, as are unpriced ones.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from aifinops.recommend.tokens import bucket_sql, mark_buckets

__all__ = ["gather", "feature_profiles", "METERED_SOURCES"]

METERED_SOURCES = ("gateway", "otlp")
_IN = "(r.input_tokens + r.cached_input_tokens + r.cache_write_5m_tokens + r.cache_write_1h_tokens)"
_LIVE = (
    "r.charge_category = 'usage' AND r.corrects IS NULL "
    "AND NOT EXISTS (SELECT 1 FROM records c WHERE c.corrects = r.record_id)"
)
_TOKENS = (
    "CAST(sum(r.input_tokens) AS BIGINT) AS input_tokens, "
    "CAST(sum(r.cached_input_tokens) AS BIGINT) AS cached_input_tokens, "
    "CAST(sum(r.cache_write_5m_tokens) AS BIGINT) AS cache_write_5m_tokens, "
    "CAST(sum(r.cache_write_1h_tokens) AS BIGINT) AS cache_write_1h_tokens, "
    "CAST(sum(r.output_tokens) AS BIGINT) AS output_tokens, "
    "CAST(sum(r.reasoning_tokens) AS BIGINT) AS reasoning_tokens, "
    "CAST(sum(r.requests) AS BIGINT) AS requests"
)


def _metered(cost: str) -> str:
    sources = ", ".join(f"'{s}'" for s in METERED_SOURCES)
    return (
        f"r.source IN ({sources}) AND {_LIVE} AND r.cost_status = 'priced' AND r.gpu_seconds IS NULL "
        f"AND r.model IS NOT NULL AND r.{cost} IS NOT NULL"
    )


def _days(first: datetime, until: datetime, cap: int) -> Decimal:
    seconds = (until - first).total_seconds()
    return Decimal(min(cap, max(1, math.ceil(seconds / 86400 - 1e-9))))


def gather(
    ledger: Any, since: datetime, until: datetime, *, lookback: datetime, offers: list[str], bounds: list[int]
) -> dict[str, Any]:
    """Everything the recommenders need for the window ``[since, until)``; ``bounds`` are the catalog's
    long-context thresholds (a token row never mixes prompts from both sides of one)."""
    bucket = bucket_sql(_IN, bounds)
    short = f"{_IN} <= {int(bounds[0])}" if bounds else "TRUE"
    cost = ledger.cost_column
    base = f"{_metered(cost)} AND r.charge_period_start >= ? AND r.charge_period_start < ?"
    window = [since, until]
    rows = ledger.query(
        f"SELECT r.feature, r.tags['step'] AS step, r.model, r.provider, r.pricing_mode, r.operation, "
        f"date_trunc('day', r.charge_period_start) AS day, "
        f"{bucket} AS bucket, {_TOKENS}, "
        f"sum(r.{cost}) AS cost FROM records r WHERE {base} GROUP BY ALL",
        window,
    )
    seen = ledger.query(
        f"SELECT r.feature, r.model, min(r.charge_period_start) AS first, max(r.charge_period_start) AS last "
        f"FROM records r WHERE {base} GROUP BY ALL",
        window,
    )
    cap_days = max(1, math.ceil((until - since).total_seconds() / 86400))
    recent = until - timedelta(days=2)
    active = {(s["feature"], s["model"]) for s in seen if s["last"] >= recent}
    days = {(s["feature"], s["model"]): _days(max(s["first"], since), until, cap_days) for s in seen}
    # per lane (feature, agent step), model and day over the lookback; fallback calls were not a choice
    lane_days = ledger.query(
        "SELECT r.feature, r.tags['step'] AS step, r.model, date_trunc('day', r.charge_period_start) AS day, "
        "CAST(sum(r.requests) AS BIGINT) AS requests, "
        "CAST(count(*) FILTER (WHERE r.status = 'error') AS BIGINT) AS errors "
        f"FROM records r WHERE {_metered(cost)} AND r.charge_period_start >= ? AND r.charge_period_start < ? "
        "AND r.feature IS NOT NULL AND r.tags['fallback_from'] IS NULL GROUP BY ALL",
        [lookback, until],
    )
    lanes: dict[tuple[str, str | None], dict[datetime, dict[str, tuple[int, int]]]] = defaultdict(dict)
    for row in lane_days:
        day = lanes[(row["feature"], row["step"])].setdefault(row["day"], {})
        day[row["model"]] = (int(row["requests"] or 0), int(row["errors"] or 0))
    outcomes: dict[str, dict[datetime, int]] = defaultdict(dict)
    for row in ledger.query(
        "SELECT feature, date_trunc('day', occurred_at) AS day, CAST(sum(count) AS BIGINT) AS n FROM outcomes "
        "WHERE feature IS NOT NULL AND occurred_at >= ? AND occurred_at < ? GROUP BY ALL",
        [lookback, until],
    ):
        outcomes[row["feature"]][row["day"]] = int(row["n"] or 0)
    workflows: dict[str, dict[datetime, int]] = defaultdict(dict)
    for row in ledger.query(
        "SELECT r.feature, date_trunc('day', r.charge_period_start) AS day, "
        "CAST(count(DISTINCT r.trace_id) AS BIGINT) AS n FROM records r "
        f"WHERE {_metered(cost)} AND r.charge_period_start >= ? AND r.charge_period_start < ? "
        "AND r.tags['step'] IS NOT NULL AND r.trace_id IS NOT NULL GROUP BY ALL",
        [lookback, until],
    ):
        workflows[row["feature"]][row["day"]] = int(row["n"] or 0)
    hours = ledger.query(
        f"SELECT r.feature, any_value(r.use_case) AS use_case, any_value(r.category) AS category, "
        f"date_trunc('day', r.charge_period_start) AS day, hour(r.charge_period_start) AS hour, "
        f"count(*) AS n FROM records r WHERE {base} AND r.feature IS NOT NULL GROUP BY r.feature, day, hour",
        window,
    )
    caps = ledger.query(
        f"SELECT r.feature, r.model, CAST(ceil(quantile_disc(r.output_tokens, 0.99) / 256.0) * 256 AS BIGINT) AS cap, "
        f"CAST(median(r.output_tokens) AS BIGINT) AS p50, CAST(count(*) AS BIGINT) AS requests "
        f"FROM records r WHERE {base} AND r.status = 'ok' AND r.feature IS NOT NULL AND r.output_tokens > 0 "
        "GROUP BY ALL HAVING count(*) >= 1000",
        window,
    )
    excess: list[dict[str, Any]] = []
    if caps:
        values = ", ".join("(?, ?, ?)" for _ in caps)
        params: list[Any] = [x for c in caps for x in (c["feature"], c["model"], c["cap"])]
        excess = ledger.query(
            f"WITH caps(feature, model, cap) AS (VALUES {values}) "
            f"SELECT r.feature, r.model, r.provider, r.pricing_mode, date_trunc('day', r.charge_period_start) AS day, "
            f"CAST(sum(r.output_tokens - caps.cap) AS BIGINT) AS output_tokens, CAST(count(*) AS BIGINT) AS over "
            f"FROM records r JOIN caps ON r.feature = caps.feature AND r.model = caps.model "
            f"WHERE {base} AND r.status = 'ok' AND r.output_tokens > caps.cap AND {short} "
            "GROUP BY ALL",
            [*params, *window],
        )
        over: dict[tuple[str, str], int] = defaultdict(int)
        for e in excess:
            over[(e["feature"], e["model"])] += e["over"]
        for c in caps:
            c["over"] = over.get((c["feature"], c["model"]), 0)
    events = ledger.query(
        f"SELECT r.charge_period_start AS time, r.feature, r.model, r.provider, coalesce(r.api_key, r.team) AS scope, "
        f"r.tags['prefix_hash'] AS prefix_hash, TRY_CAST(r.tags['prefix_tokens'] AS BIGINT) AS prefix_tokens, "
        f"r.cached_input_tokens, r.cache_write_5m_tokens + r.cache_write_1h_tokens AS cache_write_tokens, "
        f"r.tags['request_hash'] AS request_hash, r.{cost} AS cost "
        f"FROM records r WHERE {base} AND (r.tags['prefix_hash'] IS NOT NULL OR r.tags['request_hash'] IS NOT NULL)",
        window,
    )
    cache_calls = ledger.query(
        f"WITH explicit AS (SELECT DISTINCT r.feature, r.model FROM records r WHERE {base} "
        "AND r.cache_write_5m_tokens + r.cache_write_1h_tokens > 0) "
        "SELECT r.charge_period_start AS time, r.feature, r.model, r.provider, r.environment, "
        f"date_trunc('day', r.charge_period_start) AS day, {bucket} AS bucket, r.input_tokens, r.cached_input_tokens, r.cache_write_5m_tokens, r.cache_write_1h_tokens, "
        "r.output_tokens, r.requests FROM records r JOIN explicit e ON r.feature = e.feature AND r.model = e.model "
        f"WHERE {base} AND r.cached_input_tokens + r.cache_write_5m_tokens + r.cache_write_1h_tokens > 0 "
        "ORDER BY r.charge_period_start",
        [*window, *window],
    )
    throughput: list[dict[str, Any]] = []
    if offers:
        marks = ", ".join("?" for _ in offers)
        throughput = ledger.query(
            f"SELECT r.model, date_trunc('hour', r.charge_period_start) AS hour, "
            "CAST(sum(r.input_tokens + r.cache_write_5m_tokens + r.cache_write_1h_tokens) AS BIGINT) AS input_tokens, "
            f"CAST(sum(r.output_tokens) AS BIGINT) AS output_tokens, sum(r.{cost}) AS cost "
            f"FROM records r WHERE {base} AND r.model IN ({marks}) AND r.pricing_mode = 'on_demand' GROUP BY ALL",
            [*window, *offers],
        )
    gpu_rows = ledger.query(
        "SELECT coalesce(r.tags['endpoint'], r.tags['job'], r.service, r.gpu_type) AS name, "
        "CASE WHEN r.category = 'self_hosted_inference' OR r.tags['endpoint'] IS NOT NULL THEN 'endpoint' "
        "ELSE 'job' END AS kind, r.provider, r.service, r.gpu_type, r.gpu_count, r.pricing_mode, r.category, "
        "date_trunc('day', r.charge_period_start) AS day, sum(r.gpu_seconds) AS gpu_seconds, "
        f"sum(r.{cost}) AS cost, count(DISTINCT r.tags['instance_id']) AS instances, "
        "sum(TRY_CAST(r.tags['gpu_util'] AS DOUBLE) * CAST(r.gpu_seconds AS DOUBLE)) AS util_seconds, "
        "sum(CAST(r.gpu_seconds AS DOUBLE)) FILTER (WHERE r.tags['gpu_util'] IS NOT NULL) AS util_basis "
        f"FROM records r WHERE r.gpu_seconds IS NOT NULL AND r.source <> 'focus' AND {_LIVE} "
        f"AND r.cost_status IN ('priced', 'reported') AND r.{cost} IS NOT NULL "
        "AND r.charge_period_start >= ? AND r.charge_period_start < ? GROUP BY ALL",
        window,
    )
    mark_buckets(rows, bounds)
    mark_buckets(cache_calls, bounds)
    return {
        "rows": [r for r in rows if (r["feature"], r["model"]) in active],
        "all_rows": rows,
        "days": days,
        "lanes": dict(lanes),
        "outcomes": dict(outcomes),
        "workflows": dict(workflows),
        "hours": hours,
        "caps": caps,
        "excess": excess,
        "events": events,
        "cache_calls": cache_calls,
        "throughput": throughput,
        "gpu": _gpu_resources(gpu_rows, since, until),
        "window_days": Decimal(cap_days),
    }


def semantic_events(ledger: Any, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Embedded gateway requests in ``[since, until)`` (opt-in ``embeddings`` table) with their record's
    model, cache scope, ``request_hash`` and exact cost: :func:`aifinops.recommend.semantic.semantic_caching`'s
    input. Refused or failed calls are left out (they never went upstream, so they fill no cache)."""
    cost = ledger.cost_column
    return ledger.query(
        f"SELECT r.charge_period_start AS time, r.feature, r.model, coalesce(r.api_key, r.team) AS scope, "
        f"r.tags['request_hash'] AS request_hash, r.{cost} AS cost, e.vector "
        f"FROM embeddings e JOIN records r ON r.record_id = e.record_id "
        f"WHERE {_metered(cost)} AND r.status = 'ok' AND r.charge_period_start >= ? AND r.charge_period_start < ? "
        "ORDER BY r.charge_period_start",
        [since, until],
    )


def _gpu_resources(rows: list[dict[str, Any]], since: datetime, until: datetime) -> list[dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    instances: dict[tuple[str, str], set[int]] = defaultdict(set)
    for row in rows:
        key = (row["kind"], row["name"])
        res = out.setdefault(
            key,
            {
                "name": row["name"],
                "kind": row["kind"],
                "pricing_mode": row["pricing_mode"],
                "service": row["service"],
                "gpu_type": row["gpu_type"],
                "cost": Decimal(0),
                "gpu_hours": Decimal(0),
                "hours": 0.0,
                "util_seconds": 0.0,
                "util_basis": 0.0,
                "rows": [],
                "gpu_count": row["gpu_count"] or 1,
            },
        )
        if row["pricing_mode"] != res["pricing_mode"]:
            res["pricing_mode"] = "mixed"
        res["cost"] += row["cost"]
        res["gpu_hours"] += row["gpu_seconds"] / 3600
        res["hours"] += float(row["gpu_seconds"]) / 3600 / (row["gpu_count"] or 1)
        res["util_seconds"] += row["util_seconds"] or 0.0
        res["util_basis"] += row["util_basis"] or 0.0
        instances[key].add(int(row["instances"] or 1))
        res["rows"].append(row)
    for key, res in out.items():
        res["instances"] = max(instances[key])
        res["gpus"] = res["instances"] * int(res["gpu_count"])
        res["util"] = res["util_seconds"] / res["util_basis"] if res["util_basis"] else None
        res["gpu_hours"] = round(res["gpu_hours"], 2)
    return list(out.values())


def feature_profiles(hours: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per feature: its use case, category and the median daily share of requests in its busiest 4 hours."""
    per_day: dict[str, dict[Any, list[int]]] = {}
    meta: dict[str, dict[str, Any]] = {}
    for row in hours:
        days = per_day.setdefault(row["feature"], {})
        days.setdefault(row["day"], [0] * 24)[row["hour"]] += row["n"]
        meta.setdefault(row["feature"], {"use_case": row["use_case"], "category": row["category"]})
    for feature, days in per_day.items():
        shares = []
        for counts in days.values():
            total = sum(counts)
            best = max(sum(counts[(h + k) % 24] for k in range(4)) for h in range(24))
            shares.append(best / total if total else 0.0)
        shares.sort()
        meta[feature]["scheduled_share"] = shares[len(shares) // 2] if len(shares) >= 3 else 0.0
    return meta
