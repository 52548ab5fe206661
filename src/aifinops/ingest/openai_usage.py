"""OpenAI Organization Usage API and Costs API exports (REFERENCE §3.3, §3.4).

Input: the JSON pages the API returns (``{"object": "page", "data": [buckets], ...}``), one page
per file, a JSON array of pages, or JSONL with one page per line.

- ``openai-usage``: every result of every bucket becomes one unpriced record (the app prices it).
  Completions, embeddings and moderations carry tokens (normalized by
  :func:`aifinops.core.normalize.from_openai_usage_result`: ``input_tokens`` there includes cache
  reads and writes); images, audio, vector stores, code interpreter... carry a quantity and unit.
- ``openai-costs``: every cost result becomes one ``reported`` record whose list, effective and
  billed cost are the reported amount (a float in currency units, converted exactly via ``repr``).

Record ids come from the bucket's start and end and every grouping field of the result, so
re-importing a page, or an overlapping re-export of the same buckets, adds nothing.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from aifinops.core.errors import InputError, RowError
from aifinops.core.normalize import from_openai_usage_result, is_known_service_tier, pricing_mode
from aifinops.core.records import UsageRecord, make_record_id
from aifinops.ingest._common import Bucket, ReadSummary, dimensions, parse_count, parse_decimal, read_buckets

__all__ = ["read_usage", "read_costs"]

_USAGE = "openai-usage"
_COSTS = "openai-costs"
_WRONG_KEYS = {"starting_at": "an Anthropic admin report: use anthropic-usage or anthropic-costs"}
_PREFIX = "organization.usage."
_COST_OBJECT = "organization.costs.result"
_TOKEN_KINDS = {
    # kind: (operation, category)
    "completions": ("chat", "hosted_inference"),
    "embeddings": ("embeddings", "embedding"),
    "moderations": ("moderations", "hosted_inference"),
}
_QUANTITY_KINDS = {
    # kind: (quantity field, unit, category)
    "images": ("images", "Images", "other"),
    "audio_speeches": ("characters", "Characters", "other"),
    "audio_transcriptions": ("seconds", "Seconds", "other"),
    "vector_stores": ("usage_bytes", "Bytes", "storage_transfer"),
    "code_interpreter_sessions": ("num_sessions", "Sessions", "other"),
}
_NOT_DIMENSIONS = ("object",)


def read_usage(path: Path) -> Generator[UsageRecord | RowError, None, ReadSummary]:
    """Records from OpenAI Usage API pages (``/organization/usage/*``)."""
    return read_buckets(
        path,
        _usage_records,
        what="OpenAI Usage API pages (JSON with buckets of start_time/end_time/results)",
        time_keys=("start_time", "end_time"),
        wrong_keys=_WRONG_KEYS,
    )


def read_costs(path: Path) -> Generator[UsageRecord | RowError, None, ReadSummary]:
    """Records from OpenAI Costs API pages (``/organization/costs``)."""
    return read_buckets(
        path,
        _cost_records,
        what="OpenAI Costs API pages (JSON with buckets of start_time/end_time/results)",
        time_keys=("start_time", "end_time"),
        wrong_keys=_WRONG_KEYS,
    )


def _source_id(bucket: Bucket, result: Mapping[str, Any], kind: str) -> str:
    return f"{bucket.start.isoformat()}|{bucket.end.isoformat()}|{kind}|{dimensions(result, exclude=_NOT_DIMENSIONS)}"


def _text(result: Mapping[str, Any], key: str) -> str | None:
    value = result.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected a string, got {value!r}")
    return value


def _usage_kind(result: Mapping[str, Any]) -> str:
    obj = result.get("object")
    if obj == _COST_OBJECT:
        raise InputError("this is a Costs API page (organization.costs.result): use openai-costs")
    if obj is None:  # tolerate exports that dropped the type: infer it from the counts
        if "output_tokens" in result:
            return "completions"
        if "input_tokens" in result:
            return "embeddings"
        raise ValueError("object: missing (cannot tell which usage endpoint this result is from)")
    if not isinstance(obj, str) or not obj.startswith(_PREFIX) or not obj.endswith(".result"):
        raise ValueError(f"object: {obj!r} is not an OpenAI usage result")
    return obj[len(_PREFIX) : -len(".result")]


def _usage_records(bucket: Bucket, result: Mapping[str, Any]) -> list[UsageRecord]:
    kind = _usage_kind(result)
    batch = result.get("batch")
    if batch is not None and not isinstance(batch, bool):
        raise ValueError(f"batch: expected true, false or null, got {batch!r}")
    tier = _text(result, "service_tier")
    tags: dict[str, str] = {}
    if not is_known_service_tier("openai", tier):
        tags["service_tier"] = str(tier)
    for key in ("size", "source"):  # image group-by fields
        value = _text(result, key)
        if value is not None:
            tags[f"image_{key}"] = value
    record = UsageRecord(
        record_id=make_record_id(_USAGE, _source_id(bucket, result, kind)),
        source=_USAGE,
        charge_period_start=bucket.start,
        charge_period_end=bucket.end,
        provider="openai",
        model=_text(result, "model"),
        operation=kind,
        category="other",
        pricing_mode=pricing_mode("openai", tier, batch=bool(batch)),
        requests=parse_count(result.get("num_model_requests") or 0, "num_model_requests"),
        project=_text(result, "project_id"),
        api_key=_text(result, "api_key_id"),
        user=_text(result, "user_id"),
        tags=tags,
        cost_status="unpriced",
    )
    if kind in _TOKEN_KINDS:
        record.operation, record.category = _TOKEN_KINDS[kind]
        tokens = from_openai_usage_result(result)
        record.input_tokens = tokens.input_tokens
        record.cached_input_tokens = tokens.cached_input_tokens
        record.cache_write_5m_tokens = tokens.cache_write_5m_tokens
        record.cache_write_1h_tokens = tokens.cache_write_1h_tokens
        record.output_tokens = tokens.output_tokens
        record.reasoning_tokens = tokens.reasoning_tokens
    elif kind in _QUANTITY_KINDS:
        key, record.unit, record.category = _QUANTITY_KINDS[kind]
        record.quantity = Decimal(parse_count(result.get(key) or 0, key))
    else:  # an endpoint added after this importer: keep its one count, or its requests
        counts = [
            k
            for k, v in result.items()
            if k != "num_model_requests" and isinstance(v, int | float) and not isinstance(v, bool)
        ]
        if len(counts) == 1:
            record.quantity = parse_decimal(result[counts[0]], counts[0])
            record.unit = counts[0].replace("num_", "").replace("_", " ").title()
        else:
            record.quantity = Decimal(record.requests)
            record.unit = "Requests"
    return [record]


# --------------------------------------------------------------------------- costs

# The model part of a line item such as "gpt-4o-2024-08-06, input" or "o1-mini, cached input".
_MODEL_HEAD = re.compile(
    r"(?:ft:)?(?:gpt|chatgpt|o\d|text-embedding|text-moderation|omni-moderation|davinci|babbage|"
    r"whisper|tts|dall-e|gpt-image|computer-use|codex|sora)[\w.:-]*",
    re.IGNORECASE,
)


def parse_line_item(line_item: str | None) -> tuple[str | None, str | None]:
    """``(model, detail)`` from a Costs API line item; model is ``None`` unless clearly named.

    >>> parse_line_item("gpt-4o-2024-08-06, input")
    ('gpt-4o-2024-08-06', 'input')
    """
    if not line_item:
        return None, None
    head, _, detail = line_item.partition(",")
    head = head.strip()
    model = head if _MODEL_HEAD.fullmatch(head) else None
    return model, (detail.strip() or None) if model else None


def _cost_category(line_item: str, model: str | None, detail: str | None) -> str:
    text = line_item.lower()
    if model and "embedding" in model.lower():
        return "embedding"
    if detail and ("training" in detail.lower() or "fine-tun" in detail.lower()):
        return "training"
    if "storage" in text or "vector store" in text:
        return "storage_transfer"
    return "hosted_inference"


def _cost_records(bucket: Bucket, result: Mapping[str, Any]) -> list[UsageRecord]:
    obj = result.get("object")
    if isinstance(obj, str) and obj.startswith(_PREFIX):
        raise InputError(f"this is a Usage API page ({obj}): use openai-usage")
    if obj is not None and obj != _COST_OBJECT:
        raise ValueError(f"object: {obj!r} is not a costs result")
    amount = result.get("amount")
    if not isinstance(amount, Mapping):
        raise ValueError("amount: missing (expected {'value': ..., 'currency': ...})")
    if amount.get("value") is None:
        raise ValueError("amount.value: missing")
    value = parse_decimal(amount["value"], "amount.value")
    currency = amount.get("currency") or "usd"
    if not isinstance(currency, str):
        raise ValueError(f"amount.currency: expected a string, got {currency!r}")
    line_item = _text(result, "line_item")
    model, detail = parse_line_item(line_item)
    tags = {"line_item": line_item} if line_item else {}
    quantity = result.get("quantity")
    dims = dict(result)
    dims["currency"] = currency.upper()
    return [
        UsageRecord(
            record_id=make_record_id(_COSTS, _source_id(bucket, dims, "costs")),
            source=_COSTS,
            charge_period_start=bucket.start,
            charge_period_end=bucket.end,
            provider="openai",
            model=model,
            category=_cost_category(line_item or "", model, detail),
            pricing_mode="batch" if detail and "batch" in detail.lower() else "on_demand",
            quantity=None if quantity is None else parse_decimal(quantity, "quantity"),
            list_cost=value,
            effective_cost=value,
            billed_cost=value,
            currency=currency.upper(),
            cost_status="reported",
            project=_text(result, "project_id"),
            api_key=_text(result, "api_key_id"),
            tags=tags,
        )
    ]
