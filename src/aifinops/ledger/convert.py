"""Records to Arrow tables and back: the bulk path into and out of the ledger.

Records are read into columns a chunk at a time (one ``attrgetter`` call per record, then a transpose):
walking 50,000 records once per column costs several times more, as every pass misses the CPU cache.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from itertools import accumulate, chain, islice
from operator import attrgetter, methodcaller
from typing import Any

import pyarrow as pa

from aifinops.core.errors import InputError
from aifinops.core.records import Outcome, UsageRecord
from aifinops.ledger.schema import OUTCOME_SCHEMA, RECORD_SCHEMA

__all__ = ["records_to_table", "table_to_records", "outcomes_to_table", "rows_to_records"]

_RECORD_NAMES = tuple(f.name for f in fields(UsageRecord))
_OUTCOME_NAMES = tuple(f.name for f in fields(Outcome))
assert tuple(RECORD_SCHEMA.names) == _RECORD_NAMES, "ledger schema and UsageRecord fields disagree"

#: Records transposed at a time: small enough for the chunk to stay in the CPU cache.
_CHUNK = 256
_TZINFO = attrgetter("tzinfo")
_VALUES = methodcaller("values")
_EMPTY: dict[str, str] = {}


def _check_time(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise InputError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value


def _check_times(pairs: Sequence[tuple[list[datetime], str]]) -> None:
    """Reject naive times; the first offending item (fields in ``pairs`` order) names the error."""
    if not any(None in map(_TZINFO, values) for values, _ in pairs):
        return
    for row in zip(*(values for values, _ in pairs), strict=True):
        for value, (_, name) in zip(row, pairs, strict=True):
            _check_time(value, name)


def _extract(items: Sequence[Any], names: tuple[str, ...]) -> list[list[Any]]:
    """The values of ``names`` in ``items``, one list per name."""
    get = attrgetter(*names)
    columns: list[list[Any]] = [[] for _ in names]
    it = iter(items)
    while chunk := list(islice(it, _CHUNK)):
        for column, part in zip(columns, zip(*map(get, chunk), strict=True), strict=True):
            column.extend(part)
    return columns


def _map_array(values: list[Any], typ: pa.DataType) -> pa.Array:
    """Dicts (or None, taken as empty) as an Arrow map array, built from flat keys and items.

    Bad input (a null key, a non-string, not a mapping) takes the plain path, whose error is the one raised.
    """
    try:
        if None in values:
            values = [v if v else _EMPTY for v in values]
        offsets = pa.array(list(accumulate(map(len, values), initial=0)), type=pa.int32())
        keys = pa.array(list(chain.from_iterable(values)), type=typ.key_type)
        items = pa.array(list(chain.from_iterable(map(_VALUES, values))), type=typ.item_type)
        return pa.MapArray.from_arrays(offsets, keys, items, type=typ)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, AttributeError):
        return pa.array([list(v.items()) if v else [] for v in values], type=typ)


def _columns(columns: list[list[Any]], names: tuple[str, ...], schema: pa.Schema) -> pa.Table:
    arrays = []
    for name, typ, values in zip(names, schema.types, columns, strict=True):
        try:
            arrays.append(_map_array(values, typ) if pa.types.is_map(typ) else pa.array(values, type=typ))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
            raise InputError(f"field {name}: {exc}") from None
    return pa.Table.from_arrays(arrays, schema=schema)


_START = _RECORD_NAMES.index("charge_period_start")
_END = _RECORD_NAMES.index("charge_period_end")
_OCCURRED = _OUTCOME_NAMES.index("occurred_at")


def records_to_table(records: Sequence[UsageRecord]) -> pa.Table:
    """A batch of records as an Arrow table in the ledger's schema."""
    columns = _extract(records, _RECORD_NAMES)
    _check_times(((columns[_START], "charge_period_start"), (columns[_END], "charge_period_end")))
    return _columns(columns, _RECORD_NAMES, RECORD_SCHEMA)


def outcomes_to_table(outcomes: Sequence[Outcome]) -> pa.Table:
    """A batch of outcomes as an Arrow table in the ledger's schema."""
    columns = _extract(outcomes, _OUTCOME_NAMES)
    _check_times(((columns[_OCCURRED], "occurred_at"),))
    return _columns(columns, _OUTCOME_NAMES, OUTCOME_SCHEMA)


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
