"""Records to Arrow tables and back: the bulk path into and out of the ledger."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from aifinops.core.errors import InputError
from aifinops.core.records import Outcome, UsageRecord
from aifinops.ledger.schema import OUTCOME_SCHEMA, RECORD_SCHEMA

__all__ = ["records_to_table", "table_to_records", "outcomes_to_table", "rows_to_records"]

_RECORD_NAMES = tuple(f.name for f in fields(UsageRecord))
_OUTCOME_NAMES = tuple(f.name for f in fields(Outcome))
assert tuple(RECORD_SCHEMA.names) == _RECORD_NAMES, "ledger schema and UsageRecord fields disagree"


def _check_time(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise InputError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value


def _columns(items: Sequence[Any], names: tuple[str, ...], schema: pa.Schema) -> pa.Table:
    arrays = []
    for name, typ in zip(names, schema.types, strict=True):
        values = [getattr(item, name) for item in items]
        if pa.types.is_map(typ):
            values = [list(v.items()) if v else [] for v in values]
        try:
            arrays.append(pa.array(values, type=typ))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
            raise InputError(f"field {name}: {exc}") from None
    return pa.Table.from_arrays(arrays, schema=schema)


def records_to_table(records: Sequence[UsageRecord]) -> pa.Table:
    """A batch of records as an Arrow table in the ledger's schema."""
    for rec in records:
        _check_time(rec.charge_period_start, "charge_period_start")
        _check_time(rec.charge_period_end, "charge_period_end")
    return _columns(records, _RECORD_NAMES, RECORD_SCHEMA)


def outcomes_to_table(outcomes: Sequence[Outcome]) -> pa.Table:
    """A batch of outcomes as an Arrow table in the ledger's schema."""
    for out in outcomes:
        _check_time(out.occurred_at, "occurred_at")
    return _columns(outcomes, _OUTCOME_NAMES, OUTCOME_SCHEMA)


def _to_utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def rows_to_records(rows: Iterable[dict[str, Any]]) -> list[UsageRecord]:
    """Build records from row dicts (e.g. ``Table.to_pylist()``), ignoring unknown keys."""
    out = []
    for row in rows:
        kwargs = {name: row[name] for name in _RECORD_NAMES if name in row}
        kwargs["charge_period_start"] = _to_utc(kwargs["charge_period_start"])
        kwargs["charge_period_end"] = _to_utc(kwargs["charge_period_end"])
        tags = kwargs.get("tags")
        kwargs["tags"] = dict(tags) if tags else {}
        out.append(UsageRecord(**{k: v for k, v in kwargs.items() if v is not None or k in _NULLABLE}))
    return out


_NULLABLE = {f.name for f in fields(UsageRecord) if f.default is None}


def table_to_records(table: pa.Table) -> list[UsageRecord]:
    """Arrow rows back to records."""
    return rows_to_records(table.to_pylist())
