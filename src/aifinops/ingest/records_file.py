"""The generic record format: CSV with a header, or JSONL, using :class:`UsageRecord` field names.

The format is documented in ``docs/records-format.md``. In short: ``charge_period_start`` (or its
shorthand ``timestamp``) is required; ``charge_period_end`` defaults to the start; ``record_id`` is
optional (else derived from an ``id`` column, else from the row's content); ``source`` defaults to
``records``; tags come from a JSON-object column ``tags`` and/or ``tag.<key>`` columns. A row with a
cost is ``reported``; without one it is ``unpriced``.

:func:`coerce_field` (one field's value to its Python type, with a message naming field and value)
is shared with the FOCUS importer's ``x_`` columns.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Generator, Mapping
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aifinops.core.errors import InputError, RowError
from aifinops.core.records import (
    CATEGORIES,
    COST_STATUSES,
    MONEY_FIELDS,
    PRICING_MODES,
    UsageRecord,
    make_record_id,
)
from aifinops.ingest._common import (
    OccurrenceIds,
    ReadSummary,
    content_digest,
    is_null,
    open_text,
    parse_count,
    parse_decimal,
    parse_time,
    row_error,
)

__all__ = ["read_records", "coerce_field", "FIELD_TYPES", "CHARGE_CATEGORIES", "parse_tags"]

SOURCE = "records"
CHARGE_CATEGORIES = ("usage", "purchase", "tax", "credit", "adjustment")
_MAX_LEADING_BAD_LINES = 20

#: Each UsageRecord field's kind in the generic format (``tags`` is a JSON object).
FIELD_TYPES: dict[str, str] = {f.name: "str" for f in fields(UsageRecord)}
FIELD_TYPES.update(
    {
        "charge_period_start": "time",
        "charge_period_end": "time",
        "input_tokens": "count",
        "cached_input_tokens": "count",
        "cache_write_5m_tokens": "count",
        "cache_write_1h_tokens": "count",
        "output_tokens": "count",
        "reasoning_tokens": "count",
        "requests": "count",
        "gpu_count": "count",
        "depth": "count",
        "attempt": "count",
        "gpu_seconds": "decimal",
        "quantity": "decimal",
        "list_cost": "decimal",
        "effective_cost": "decimal",
        "billed_cost": "decimal",
        "cache_hit": "bool",
        "latency_ms": "float",
        "tags": "tags",
    }
)
_ENUMS: dict[str, tuple[str, ...]] = {
    "category": CATEGORIES,
    "pricing_mode": PRICING_MODES,
    "cost_status": COST_STATUSES,
    "charge_category": CHARGE_CATEGORIES,
}
_EXTRA_COLUMNS = ("id", "timestamp")
_TRUE = ("true", "1", "yes", "y", "t")
_FALSE = ("false", "0", "no", "n", "f")


def coerce_field(name: str, value: object) -> object:
    """``value`` converted to the type of UsageRecord field ``name``; ``ValueError`` names both."""
    kind = FIELD_TYPES[name]
    if kind == "count":
        return parse_count(value, name)
    if kind == "decimal":
        return parse_decimal(value, name)
    if kind == "time":
        return parse_time(value, name)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ValueError(f"{name}: {value!r} is not a boolean")
    if kind == "float":
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"{name}: {value!r} is not a number") from None
        if number != number or number < 0:
            raise ValueError(f"{name}: {value!r} is not a non-negative number")
        return number
    if kind == "tags":
        return parse_tags(value, name)
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"{name}: {value!r} is not a string")
    text = str(value).strip()
    if name in _ENUMS:
        text = text.lower()
        if text not in _ENUMS[name]:
            raise ValueError(f"{name}: {value!r} is not one of {', '.join(_ENUMS[name])}")
    return text


def parse_tags(value: object, name: str = "tags") -> dict[str, str]:
    """A tags object (a mapping, or a JSON object string) as ``{str: str}``; nulls are dropped."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"{name}: {value!r} is not a JSON object") from None
    if not isinstance(value, Mapping):
        raise ValueError(f"{name}: {value!r} is not a JSON object")
    return {
        str(k): v for k, v in ((k, tag_value(v, f"{name}.{k}")) for k, v in value.items()) if v is not None
    }


def tag_value(value: object, name: str) -> str | None:
    """One tag value as text (``true``/``false`` for booleans); nested values are an error."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float | Decimal):
        return str(value)
    raise ValueError(f"{name}: {value!r} is not a string, number or boolean")


def read_records(path: Path) -> Generator[UsageRecord | RowError, None, ReadSummary]:
    """Records from a generic CSV (``.csv``, ``.csv.gz``) or JSONL (``.jsonl``, ``.ndjson``) file."""
    reader = _read_jsonl if _is_jsonl(path) else _read_csv
    try:
        summary = yield from reader(path)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise InputError(f"{path}: malformed CSV ({exc})") from None
    return summary


def _is_jsonl(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes]
    if ".csv" in suffixes:
        return False
    if any(s in (".jsonl", ".ndjson", ".json") for s in suffixes):
        return True
    with open_text(path) as handle:
        head = handle.read(4096).lstrip()
    return head.startswith("{")


def _read_csv(path: Path) -> Generator[UsageRecord | RowError, None, ReadSummary]:
    summary = ReadSummary()
    ids = OccurrenceIds()
    with open_text(path) as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        _check_header(path, header)
        width = len(header)
        previous = reader.line_num
        for row in reader:
            line, previous = previous + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            summary.rows += 1
            if len(row) != width:
                yield row_error(line, f"expected {width} columns, found {len(row)}", row)
                continue
            values = dict(zip(header, row, strict=True))
            try:
                yield build_record(values, ids)
            except ValueError as exc:
                yield row_error(line, str(exc), values)
    return summary


def _check_header(path: Path, header: list[str]) -> None:
    if not header or not any(header):
        raise InputError(f"{path}: empty file, expected a CSV header with UsageRecord field names")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise InputError(f"{path}: duplicate columns: {', '.join(duplicates)}")
    unknown = [name for name in header if not _known(name)]
    if unknown:
        raise InputError(
            f"{path}: not a records file: unknown columns {', '.join(map(repr, unknown[:10]))} "
            "(use UsageRecord field names, or tag.<key> for tags; see docs/records-format.md)"
        )
    if "charge_period_start" not in header and "timestamp" not in header:
        raise InputError(f"{path}: missing required column charge_period_start (or timestamp)")


def _known(name: str) -> bool:
    return name in FIELD_TYPES or name in _EXTRA_COLUMNS or (name.startswith("tag.") and len(name) > 4)


def _read_jsonl(path: Path) -> Generator[UsageRecord | RowError, None, ReadSummary]:
    summary = ReadSummary()
    ids = OccurrenceIds()
    pending: list[RowError] = []  # malformed lines before the first object: is this JSONL at all?
    seen_object = False
    with open_text(path) as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            summary.rows += 1
            try:
                value = json.loads(text)
            except ValueError as exc:
                value, problem = None, f"malformed JSON: {exc}"
            else:
                problem = None if isinstance(value, dict) else "expected a JSON object"
            if problem is not None:
                err = row_error(line, problem, text.rstrip("\n"))
                if seen_object:
                    yield err
                    continue
                pending.append(err)
                if len(pending) >= _MAX_LEADING_BAD_LINES:
                    break
                continue
            if not seen_object:
                seen_object = True
                yield from pending
                pending.clear()
            try:
                unknown = [key for key in value if not _known(key)]
                if unknown:
                    raise ValueError(f"unknown fields: {', '.join(unknown)}")
                yield build_record(value, ids)
            except ValueError as exc:
                yield row_error(line, str(exc), value)
    if not seen_object and pending:
        first = pending[0]
        raise InputError(f"{path}: not a JSONL records file (line {first.line}: {first.reason})")
    return summary


def build_record(row: Mapping[str, Any], ids: OccurrenceIds, *, default_source: str = SOURCE) -> UsageRecord:
    """One record from a row of the generic format; ``ValueError`` names the bad field."""
    values: dict[str, Any] = {}
    tags: dict[str, str] = {}
    for key, raw in row.items():
        if is_null(raw):
            continue
        if key.startswith("tag."):
            value = tag_value(raw, key)
            if value is not None:
                tags[key[4:]] = value
        elif key == "tags":
            tags = {**parse_tags(raw), **tags}
        elif key == "timestamp":
            values["timestamp"] = parse_time(raw, key)
        elif key == "id":
            values["id"] = str(raw).strip()
        else:
            values[key] = coerce_field(key, raw)
    start = values.pop("charge_period_start", None)
    stamp = values.pop("timestamp", None)
    if start is not None and stamp is not None:
        raise ValueError("give either timestamp or charge_period_start, not both")
    start = start or stamp
    if start is None:
        raise ValueError("charge_period_start: missing (or give timestamp)")
    end: datetime = values.pop("charge_period_end", start)
    if end < start:
        raise ValueError("charge_period_end: before charge_period_start")
    if values.get("reasoning_tokens", 0) > values.get("output_tokens", 0):
        raise ValueError("reasoning_tokens: exceeds output_tokens (output includes reasoning)")
    _settle_costs(values)
    source = values.pop("source", default_source)
    own_id = values.pop("id", None)
    record_id = values.pop("record_id", None)
    if record_id is None:
        own = f"id:{own_id}" if own_id else f"row:{ids(content_digest(row))}"
        record_id = make_record_id(source, own)
    if "currency" in values and len(values["currency"]) == 3:
        values["currency"] = values["currency"].upper()
    return UsageRecord(
        record_id=record_id,
        source=source,
        charge_period_start=start,
        charge_period_end=end,
        tags=tags,
        **values,
    )


def _settle_costs(values: dict[str, Any]) -> None:
    """Fill missing cost columns from the given one; decide ``cost_status`` (never a silent $0)."""
    given = [values[name] for name in ("effective_cost", "billed_cost", "list_cost") if name in values]
    status = values.get("cost_status")
    if given:
        for name in MONEY_FIELDS:
            values.setdefault(name, given[0])
        if status == "unpriced":
            raise ValueError("cost_status: 'unpriced' but a cost is given")
        values.setdefault("cost_status", "reported")
    else:
        if status in ("priced", "reported"):
            raise ValueError(f"cost_status: {status!r} needs a cost (effective_cost)")
        values["cost_status"] = "unpriced"
