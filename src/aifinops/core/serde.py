"""Records to and from compact JSON (the gateway's write-ahead log, HTTP bodies): exact money, UTC times."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from aifinops.core.records import UsageRecord

__all__ = ["dumps_record", "record_from_dict", "dumps"]

_FIELDS = {f.name: f for f in dataclasses.fields(UsageRecord)}
_TIMES = ("charge_period_start", "charge_period_end")
_DECIMALS = ("gpu_seconds", "quantity", "list_cost", "effective_cost", "billed_cost")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot serialize {type(value).__name__}")


def dumps(value: Any) -> bytes:
    """orjson with Decimal as exact strings."""
    return orjson.dumps(value, default=_default)


def dumps_record(record: UsageRecord) -> bytes:
    """One record as JSON bytes (dataclass fields; money as strings)."""
    return orjson.dumps(record, default=_default)


def record_from_dict(data: dict[str, Any]) -> UsageRecord:
    """The inverse of :func:`dumps_record` (unknown keys are ignored)."""
    kwargs = {k: v for k, v in data.items() if k in _FIELDS}
    for name in _TIMES:
        kwargs[name] = datetime.fromisoformat(kwargs[name])
    for name in _DECIMALS:
        if kwargs.get(name) is not None:
            kwargs[name] = Decimal(kwargs[name])
    if kwargs.get("tags") is None:
        kwargs["tags"] = {}
    return UsageRecord(**kwargs)
