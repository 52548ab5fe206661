"""FOCUS 1.0-1.3 CostAndUsage exports (REFERENCE §1): CSV (optionally gzipped) or Parquet.

By default only AI lines are imported: ServiceCategory ``AI and Machine Learning`` and GPU instance
lines (see :mod:`aifinops.ingest._gpu`); every other line is counted as skipped. ``all_lines=True``
imports the whole bill.

Mapping: ChargePeriodStart/End -> charge period (``NULL`` is null; ``YYYY-MM-DD HH:MM:SS`` without a
zone is UTC), ProviderName (1.3: ServiceProviderName) -> provider, ServiceName -> service,
BilledCost/EffectiveCost/ListCost -> money (exact Decimal), BillingCurrency -> currency,
ConsumedQuantity/ConsumedUnit -> quantity/unit, RegionId -> region, ChargeCategory -> charge_category
(lowercase), Tags -> owner fields (team, project, product, feature, customer, environment/env,
use_case, user; keys case-insensitive) and the remaining tags; ``x_`` columns named after record
fields (``x_Model``, ``x_InputTokens``, ``x_CachedInputTokens``...) -> those fields. Every line is
``reported``. Record ids hash the row's content plus the count of identical earlier rows.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Generator, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from aifinops.core.errors import InputError, RowError
from aifinops.core.records import OWNER_FIELDS, TOKEN_FIELDS, UsageRecord, make_record_id
from aifinops.ingest._common import (
    METER,
    NULL_STRINGS,
    OccurrenceIds,
    ReadSummary,
    content_digest,
    is_null,
    open_text,
    parse_decimal,
    parse_time,
    row_error,
)
from aifinops.ingest._gpu import GpuInfo, detect_gpu, gpu_seconds
from aifinops.ingest.records_file import coerce_field, parse_tags

__all__ = ["read_focus", "AI_SERVICE_CATEGORY"]

SOURCE = "focus"
AI_SERVICE_CATEGORY = "AI and Machine Learning"
_REQUIRED = (
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BilledCost",
    "EffectiveCost",
    "BillingCurrency",
    "ChargeCategory",
    "ServiceCategory",
    "ServiceName",
)
_PROVIDER_COLUMNS = ("ServiceProviderName", "ProviderName")
_PROVIDERS = {
    "aws": "aws",
    "amazon web services": "aws",
    "amazon web services, inc.": "aws",
    "microsoft": "azure",
    "azure": "azure",
    "microsoft azure": "azure",
    "google cloud": "gcp",
    "google cloud platform": "gcp",
    "google": "gcp",
    "gcp": "gcp",
    "oracle": "oracle",
    "oracle cloud infrastructure": "oracle",
    "oci": "oracle",
    "openai": "openai",
    "anthropic": "anthropic",
}
_OWNER_TAGS = {name: name for name in OWNER_FIELDS if name != "api_key"}
_OWNER_TAGS.update({"env": "environment", "usecase": "use_case"})
_X_FIELDS = (
    "model",
    "model_requested",
    "operation",
    "category",
    "pricing_mode",
    *TOKEN_FIELDS,
    "requests",
    "gpu_type",
    "gpu_count",
    "gpu_seconds",
    *OWNER_FIELDS,
)
_X_LOOKUP = {name.replace("_", ""): name for name in _X_FIELDS}
_LLM_SERVICE = re.compile(
    r"bedrock|openai|vertex ai|gemini|anthropic|claude|cognitive services|ai services|foundry|mistral", re.I
)
_TRAINING = re.compile(r"\btrain(?:ing)?\b|fine[-_ ]?tun", re.I)
_HOSTING = re.compile(r"\binference\b|\bendpoint\b|\bhosting\b", re.I)
_STORAGE = re.compile(r"\bstorage\b|\bdisks?\b|data transfer|bandwidth|\bGB-Mo", re.I)


def read_focus(path: Path, all_lines: bool = False) -> Generator[UsageRecord | RowError, None, ReadSummary]:
    """Records from a FOCUS CostAndUsage file; non-AI lines are skipped unless ``all_lines``."""
    summary = ReadSummary()
    ids = OccurrenceIds()
    rows = _iter_rows(path)
    try:
        header = next(rows)
        _check_columns(path, header)
    except (UnicodeDecodeError, csv.Error) as exc:
        rows.close()
        raise InputError(f"{path}: not a FOCUS CSV or Parquet file ({exc})") from None
    except BaseException:
        rows.close()
        raise
    x_columns = _x_columns(header)
    try:
        for item in rows:
            summary.rows += 1
            if isinstance(item, RowError):
                yield item
                continue
            line, raw = item
            gpu = _detect_gpu(raw)
            if not all_lines and gpu is None and _value(raw, "ServiceCategory") != AI_SERVICE_CATEGORY:
                summary.skipped += 1
                continue
            row = _clean(raw)
            try:
                yield _record(row, gpu, x_columns, ids)
            except ValueError as exc:
                yield row_error(line, str(exc), raw)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise InputError(f"{path}: malformed CSV ({exc})") from None
    finally:
        rows.close()
    return summary


# --------------------------------------------------------------------------- rows


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in (".parquet", ".pq"):
        return True
    with open(path, "rb") as handle:
        return handle.read(4) == b"PAR1"


def _iter_rows(path: Path) -> Iterator[Any]:
    """First the header (a list of column names), then ``(line, row)`` or a RowError per row."""
    if _is_parquet(path):
        yield from _parquet_rows(path)
        return
    with open_text(path) as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        yield header
        width = len(header)
        previous = reader.line_num
        for row in reader:
            line, previous = previous + 1, reader.line_num
            if not row:
                continue
            if len(row) != width:
                yield row_error(line, f"expected {width} columns, found {len(row)}", row)
                continue
            yield line, dict(zip(header, row, strict=True))


def _parquet_rows(path: Path) -> Iterator[Any]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise InputError(f"{path}: not a Parquet file ({exc})") from None
    yield list(parquet.schema_arrow.names)
    meter = METER.get()
    size = path.stat().st_size
    total = max(parquet.metadata.num_rows, 1)
    number = 0
    for batch in parquet.iter_batches(batch_size=8192):
        for row in batch.to_pylist():
            number += 1
            yield number, row
        if meter is not None:
            meter.add(size * batch.num_rows // total)


def _check_columns(path: Path, header: list[str]) -> None:
    missing = [name for name in _REQUIRED if name not in header]
    if not any(name in header for name in _PROVIDER_COLUMNS):
        missing.append("ProviderName")
    if missing:
        raise InputError(
            f"{path}: not a FOCUS CostAndUsage file: missing required columns {', '.join(missing)}"
        )


def _x_columns(header: list[str]) -> list[tuple[str, str]]:
    """``(column, record field)`` for every ``x_`` column named after a record field."""
    found = []
    for column in header:
        if column.lower().startswith("x_"):
            field = _X_LOOKUP.get(column[2:].replace("_", "").lower())
            if field is not None:
                found.append((column, field))
    return found


def _value(row: Mapping[str, Any], column: str) -> Any:
    """A raw row's value: ``None`` for null/``NULL``/empty, strings stripped."""
    value = row.get(column)
    if is_null(value):
        return None
    return value.strip() if isinstance(value, str) else value


def _clean(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The row without its null cells, strings stripped (mapping reads it many times)."""
    try:  # CSV: every value is a string
        stripped = ((key, value.strip()) for key, value in raw.items())
        return {key: value for key, value in stripped if value not in NULL_STRINGS}
    except AttributeError:  # Parquet: typed values
        return {
            key: value.strip() if isinstance(value, str) else value
            for key, value in raw.items()
            if not is_null(value)
        }


def _required(row: Mapping[str, Any], column: str) -> Any:
    value = row.get(column)
    if value is None:
        raise ValueError(f"{column}: missing (null)")
    return value


def _json_column(row: Mapping[str, Any], column: str) -> dict[str, str]:
    value = row.get(column)
    if value is None:
        return {}
    if isinstance(value, list):  # a Parquet MAP column arrives as (key, value) pairs
        value = dict(value)
    return parse_tags(value, column)


def _detect_gpu(row: Mapping[str, Any]) -> GpuInfo | None:
    details = _value(row, "SkuPriceDetails")
    texts = tuple(_value(row, column) for column in ("ChargeDescription", "SkuMeter", "PricingUnit"))
    if isinstance(details, Mapping):  # Parquet: already a mapping (not hashable, no cache)
        return detect_gpu([t for t in texts if isinstance(t, str)], details)
    return _detect_gpu_cached(texts, details if isinstance(details, str) else None)


@lru_cache(maxsize=8192)
def _detect_gpu_cached(texts: tuple[Any, ...], details: str | None) -> GpuInfo | None:
    """Bills repeat the same few thousand descriptions: detect each combination once."""
    parsed: Any = {}
    if details:
        try:
            parsed = json.loads(details)
        except ValueError:
            parsed = {}
    return detect_gpu([t for t in texts if isinstance(t, str)], parsed if isinstance(parsed, Mapping) else {})


# --------------------------------------------------------------------------- mapping


def _record(
    row: Mapping[str, Any], gpu: GpuInfo | None, x_columns: list[tuple[str, str]], ids: OccurrenceIds
) -> UsageRecord:
    start = parse_time(_required(row, "ChargePeriodStart"), "ChargePeriodStart")
    end = parse_time(_required(row, "ChargePeriodEnd"), "ChargePeriodEnd")
    if end < start:
        raise ValueError("ChargePeriodEnd: before ChargePeriodStart")
    billed = parse_decimal(_required(row, "BilledCost"), "BilledCost")
    effective = parse_decimal(_required(row, "EffectiveCost"), "EffectiveCost")
    listed = row.get("ListCost")
    quantity = row.get("ConsumedQuantity")
    quantity = None if quantity is None else parse_decimal(quantity, "ConsumedQuantity")
    unit = row.get("ConsumedUnit")
    provider = next((row.get(c) for c in _PROVIDER_COLUMNS if row.get(c) is not None), None)
    owners, tags = _split_tags(_json_column(row, "Tags"))
    for key, column in (
        ("sub_account_id", "SubAccountId"),
        ("sub_account_name", "SubAccountName"),
        ("resource_id", "ResourceId"),
    ):
        value = row.get(column)
        if value is not None:
            tags[key] = str(value)
    if str(row.get("ChargeClass") or "").lower() == "correction":
        tags["charge_class"] = "correction"
    fields: dict[str, Any] = {**owners}
    for column, field in x_columns:
        value = row.get(column)
        if value is not None:
            fields[field] = coerce_field(field, value)
    if fields.get("reasoning_tokens", 0) > fields.get("output_tokens", 0):
        raise ValueError("x_ReasoningTokens: exceeds x_OutputTokens (output includes reasoning)")
    if gpu is not None:
        fields.setdefault("gpu_type", gpu.gpu_type)
        fields.setdefault("gpu_count", gpu.gpu_count)
        fields.setdefault("gpu_seconds", gpu_seconds(gpu, quantity, unit))
    fields.setdefault("category", _category(row, gpu, tags, owners))
    fields.setdefault("pricing_mode", _pricing_mode(row))
    return UsageRecord(
        record_id=make_record_id(SOURCE, ids(content_digest(row, has_nulls=False))),
        source=SOURCE,
        charge_period_start=start,
        charge_period_end=end,
        provider=_provider(provider),
        service=_text(row.get("ServiceName")),
        region=_text(row.get("RegionId")),
        quantity=quantity,
        unit=_text(unit),
        list_cost=None if listed is None else parse_decimal(listed, "ListCost"),
        effective_cost=effective,
        billed_cost=billed,
        currency=str(_required(row, "BillingCurrency")).upper(),
        cost_status="reported",
        charge_category=str(_required(row, "ChargeCategory")).lower(),
        tags=tags,
        **fields,
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _provider(name: Any) -> str | None:
    if name is None:
        return None
    text = str(name).strip()
    return _PROVIDERS.get(text.lower(), text.lower())


def _split_tags(tags: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Owner fields (case-insensitive keys, ``env`` = environment) and the remaining tags."""
    owners: dict[str, str] = {}
    rest: dict[str, str] = {}
    for key, value in tags.items():
        normal = key.strip().lower().replace("-", "_").replace(" ", "_")
        target = _OWNER_TAGS.get(normal)
        if target is None:
            rest[key] = value
        elif target not in owners or normal == target:  # "environment" beats "env"
            owners[target] = value
    return owners, rest


def _category(
    row: Mapping[str, Any], gpu: GpuInfo | None, tags: dict[str, str], owners: dict[str, str]
) -> str:
    """The cost category of a bill line (training beats inference when tags or text say so)."""
    tag_training = bool(_TRAINING.search(" ".join([*tags.values(), *owners.values()])))
    return _text_category(*(str(row.get(c) or "") for c in _CATEGORY_COLUMNS), gpu is not None, tag_training)


_CATEGORY_COLUMNS = (
    "ServiceCategory",
    "ServiceSubcategory",
    "ServiceName",
    "ChargeDescription",
    "SkuMeter",
    "ConsumedUnit",
)


@lru_cache(maxsize=8192)
def _text_category(
    service_category: str,
    subcategory: str,
    service: str,
    description: str,
    meter: str,
    unit: str,
    gpu: bool,
    tag_training: bool,
) -> str:
    text = f"{service} {description} {meter} {unit}"
    training = tag_training or bool(_TRAINING.search(text))
    if gpu:
        return "training" if training else "self_hosted_inference"
    if service_category == AI_SERVICE_CATEGORY:
        if training:
            return "training"
        if subcategory == "Generative AI" or "token" in unit.lower() or _LLM_SERVICE.search(text):
            return "hosted_inference"
        if _STORAGE.search(text):
            return "storage_transfer"
        if _HOSTING.search(text):
            return "self_hosted_inference"
        return "other"
    if service_category in ("Storage", "Networking"):
        return "storage_transfer"
    return "other"


def _pricing_mode(row: Mapping[str, Any]) -> str:
    category = str(row.get("PricingCategory") or "").lower()
    if category == "dynamic":
        return "spot"
    if category == "committed" or row.get("CommitmentDiscountId") is not None:
        return "reserved"
    return "on_demand"
