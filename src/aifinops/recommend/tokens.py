"""Price past token traffic on another model or pricing mode, exactly, with the real catalog.

A *token row* is a dict of summed quantities for records that price alike: ``model``, ``provider``,
``pricing_mode``, ``day`` (the UTC day start: prices are effective-dated), the token classes, ``requests``
and ``cost`` (what was paid). A token cost is linear in the tokens, so a row may sum many requests, as long
as they share their long-context tier on every model: rows are split at the catalog's long-context
thresholds (:func:`thresholds`), and a row above the k-th threshold carries ``context_window`` = that
threshold + 1, which the pricing reads as "long for thresholds up to it, standard above".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from aifinops.core.money import ZERO
from aifinops.core.records import UsageRecord
from aifinops.pricing import price_record

__all__ = [
    "TOKEN_CLASSES",
    "bucket_sql",
    "cost_on",
    "mark_buckets",
    "paid",
    "price_moved",
    "thresholds",
    "twin",
]

TOKEN_CLASSES = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
)


def thresholds(catalog: Any) -> list[int]:
    """The distinct long-context thresholds of the catalog (prompt sizes where a tier can change), sorted."""
    return sorted(
        {e.long_context_threshold for e in catalog.models if e.long_context_threshold and e.long_context}
    )


def bucket_sql(column: str, bounds: list[int]) -> str:
    """SQL giving the index of the threshold interval a prompt size falls in (0: below every threshold)."""
    if not bounds:
        return "0"
    cases = " ".join(f"WHEN {column} > {int(b)} THEN {i}" for i, b in reversed(list(enumerate(bounds, 1))))
    return f"CASE {cases} ELSE 0 END"


def mark_buckets(rows: list[dict[str, Any]], bounds: list[int]) -> list[dict[str, Any]]:
    """Set ``context_window`` on rows above a threshold (from their ``bucket``)."""
    for row in rows:
        bucket = int(row.pop("bucket", 0) or 0)
        if bucket:
            row["context_window"] = bounds[bucket - 1] + 1
    return rows


def twin(row: Mapping[str, Any], **changes: Any) -> UsageRecord:
    """An unpriced record carrying ``row``'s quantities, with ``changes`` applied (model, pricing_mode...)."""
    when: datetime = row["day"]
    values: dict[str, Any] = {name: int(row.get(name) or 0) for name in TOKEN_CLASSES}
    values.update(
        record_id="twin",
        source="recommend",
        charge_period_start=when,
        charge_period_end=when,
        model=row.get("model"),
        provider=row.get("provider"),
        operation=row.get("operation"),
        pricing_mode=row.get("pricing_mode") or "on_demand",
        requests=int(row.get("requests") or 0),
    )
    if row.get("context_window"):
        values["tags"] = {"context_window": str(row["context_window"])}
    for name in ("gpu_type", "gpu_count", "service", "category"):
        if row.get(name) is not None:
            values[name] = row[name]
    if row.get("gpu_seconds") is not None:
        values["gpu_seconds"] = Decimal(row["gpu_seconds"])
    values.update(changes)
    return UsageRecord(**values)


def _price(record: UsageRecord, catalog: Any) -> Decimal | None:
    price_record(record, catalog)
    return record.effective_cost if record.cost_status == "priced" else None


def price_moved(record: UsageRecord, catalog: Any) -> Decimal | None:
    """The cost of ``record`` (an unpriced copy of real traffic, changed in place) on its model and mode.

    A target without cache-write prices (automatic prefix caching) bills cache writes as plain input and
    keeps cache reads; a target without cache prices at all bills both as plain input. None: no price.
    """
    cost = _price(record, catalog)
    writes = record.cache_write_5m_tokens + record.cache_write_1h_tokens
    if cost is not None or not (writes or record.cached_input_tokens):
        return cost
    if writes:
        record.input_tokens += writes
        record.cache_write_5m_tokens = record.cache_write_1h_tokens = 0
        record.cost_status = "unpriced"
        cost = _price(record, catalog)
    if cost is None and record.cached_input_tokens:
        record.input_tokens += record.cached_input_tokens
        record.cached_input_tokens = 0
        record.cost_status = "unpriced"
        cost = _price(record, catalog)
    return cost


def cost_on(rows: Iterable[Mapping[str, Any]], catalog: Any, **changes: Any) -> tuple[Decimal, int]:
    """What ``rows`` would have cost with ``changes`` (e.g. ``model="gpt-4o-mini", provider=None``), priced
    with :func:`price_moved`. Returns the cost and the number of rows that could not be priced (their cost is
    left out, and the caller says so)."""
    total = ZERO
    unpriced = 0
    for row in rows:
        cost = price_moved(twin(row, **changes), catalog)
        if cost is None:
            unpriced += 1
            continue
        total += cost
    return total, unpriced


def paid(rows: Iterable[Mapping[str, Any]]) -> Decimal:
    """What the rows cost (their ``cost``)."""
    return sum((Decimal(row.get("cost") or 0) for row in rows), ZERO)
