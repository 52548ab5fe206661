"""Anthropic Admin API usage and cost reports (REFERENCE §4.4).

Input: the JSON pages of ``/v1/organizations/usage_report/messages`` and
``/v1/organizations/cost_report`` (``{"data": [{"starting_at", "ending_at", "results"}], ...}``),
one page per file, a JSON array of pages, or JSONL with one page per line.

- ``anthropic-usage``: one unpriced record per result, tokens normalized by
  :func:`aifinops.core.normalize.from_anthropic_usage_result` (uncached input, cache reads, 5m and
  1h cache writes, output). Web searches (``server_tool_use.web_search_requests``) become a
  *separate* record (operation ``web_search``, quantity N, unit ``Requests``) with the same
  attribution, because they are priced per request, not per token.
- ``anthropic-costs``: one ``reported`` record per result. ``amount`` is a decimal string in the
  currency's lowest unit (cents): ``"123.45"`` is $1.2345, divided by 100 exactly.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from aifinops.core.errors import InputError, RowError
from aifinops.core.normalize import from_anthropic_usage_result, is_known_service_tier, pricing_mode
from aifinops.core.records import UsageRecord, make_record_id
from aifinops.ingest._common import Bucket, ReadSummary, dimensions, parse_decimal, read_buckets

__all__ = ["read_usage", "read_costs"]

_USAGE = "anthropic-usage"
_COSTS = "anthropic-costs"
_WRONG_KEYS = {"start_time": "an OpenAI usage/costs export: use openai-usage or openai-costs"}
_TOKEN_KEYS = ("uncached_input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation")
_NO_GEO = ("not_available", "")
_COST_OPERATIONS = {"tokens": "chat"}


def read_usage(path: Path) -> Generator[UsageRecord | RowError, None, ReadSummary]:
    """Records from Anthropic usage report pages (``/usage_report/messages``)."""
    return read_buckets(
        path,
        _usage_records,
        what="Anthropic usage report pages (JSON with buckets of starting_at/ending_at/results)",
        time_keys=("starting_at", "ending_at"),
        wrong_keys=_WRONG_KEYS,
    )


def read_costs(path: Path) -> Generator[UsageRecord | RowError, None, ReadSummary]:
    """Records from Anthropic cost report pages (``/cost_report``)."""
    return read_buckets(
        path,
        _cost_records,
        what="Anthropic cost report pages (JSON with buckets of starting_at/ending_at/results)",
        time_keys=("starting_at", "ending_at"),
        wrong_keys=_WRONG_KEYS,
    )


def _text(result: Mapping[str, Any], key: str) -> str | None:
    value = result.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected a string, got {value!r}")
    return value


def _source_id(bucket: Bucket, result: Mapping[str, Any]) -> str:
    dims = dimensions(result, exclude=("amount",))
    return f"{bucket.start.isoformat()}|{bucket.end.isoformat()}|{dims}"


def _attribution(result: Mapping[str, Any]) -> dict[str, Any]:
    """Fields shared by every record of one result: what, where, who."""
    tier = _text(result, "service_tier")
    geo = _text(result, "inference_geo")
    tags: dict[str, str] = {}
    for key in ("context_window", "speed", "service_account_id"):
        value = _text(result, key)
        if value is not None:
            tags[key] = value
    if not is_known_service_tier("anthropic", tier):
        tags["service_tier"] = str(tier)
    return {
        "provider": "anthropic",
        "model": _text(result, "model"),
        "pricing_mode": pricing_mode("anthropic", tier),
        "region": None if geo in _NO_GEO else geo,
        "project": _text(result, "workspace_id"),
        "api_key": _text(result, "api_key_id"),
        "user": _text(result, "account_id"),
        "tags": tags,
    }


def _usage_records(bucket: Bucket, result: Mapping[str, Any]) -> list[UsageRecord]:
    if "amount" in result and not any(key in result for key in _TOKEN_KEYS):
        raise InputError("this is a cost report (results have 'amount'): use anthropic-costs")
    tokens = from_anthropic_usage_result(result)
    source_id = _source_id(bucket, result)
    common = _attribution(result)
    records = [
        UsageRecord(
            record_id=make_record_id(_USAGE, source_id),
            source=_USAGE,
            charge_period_start=bucket.start,
            charge_period_end=bucket.end,
            operation="chat",
            category="hosted_inference",
            input_tokens=tokens.input_tokens,
            cached_input_tokens=tokens.cached_input_tokens,
            cache_write_5m_tokens=tokens.cache_write_5m_tokens,
            cache_write_1h_tokens=tokens.cache_write_1h_tokens,
            output_tokens=tokens.output_tokens,
            reasoning_tokens=tokens.reasoning_tokens,
            cost_status="unpriced",
            **common,
        )
    ]
    if tokens.web_search_requests:
        searches = {**common, "tags": dict(common["tags"])}
        records.append(
            UsageRecord(
                record_id=make_record_id(_USAGE, f"{source_id}|web_search"),
                source=_USAGE,
                charge_period_start=bucket.start,
                charge_period_end=bucket.end,
                operation="web_search",
                category="hosted_inference",
                quantity=Decimal(tokens.web_search_requests),
                unit="Requests",
                cost_status="unpriced",
                **searches,
            )
        )
    return records


def _cost_records(bucket: Bucket, result: Mapping[str, Any]) -> list[UsageRecord]:
    if "amount" not in result:
        if any(key in result for key in _TOKEN_KEYS):
            raise InputError("this is a usage report (results have token counts): use anthropic-usage")
        raise ValueError("amount: missing")
    raw = result["amount"]
    if raw is None:
        raise ValueError("amount: missing")
    if isinstance(raw, Mapping):  # tolerate {"value": ..., "currency": ...}
        raw = raw.get("value")
    cents = parse_decimal(raw, "amount")
    dollars = cents.scaleb(-2)  # lowest currency unit -> currency unit, exact
    currency = _text(result, "currency") or "USD"
    common = _attribution(result)
    for key in ("description", "token_type", "cost_type"):
        value = _text(result, key)
        if value is not None:
            common["tags"][key] = value
    cost_type = _text(result, "cost_type")
    operation = _COST_OPERATIONS.get(cost_type, cost_type) if cost_type else None
    return [
        UsageRecord(
            record_id=make_record_id(_COSTS, _source_id(bucket, result)),
            source=_COSTS,
            charge_period_start=bucket.start,
            charge_period_end=bucket.end,
            operation=operation,
            category="hosted_inference",
            list_cost=dollars,
            effective_cost=dollars,
            billed_cost=dollars,
            currency=currency.upper(),
            cost_status="reported",
            **common,
        )
    ]
