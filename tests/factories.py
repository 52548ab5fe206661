"""Small record builders for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aifinops.core.records import UsageRecord, make_record_id

T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


def rec(i: int | str = 0, *, source: str = "gateway", at: datetime | None = None, **kw: Any) -> UsageRecord:
    """A priced gateway-like record; keyword arguments override any field."""
    start = at or T0 + timedelta(minutes=int(i) if isinstance(i, int) else 0)
    fields: dict[str, Any] = {
        "record_id": make_record_id(source, str(i)),
        "source": source,
        "charge_period_start": start,
        "charge_period_end": start + timedelta(seconds=1),
        "provider": "openai",
        "model": "gpt-4o",
        "requests": 1,
        "input_tokens": 100,
        "output_tokens": 20,
        "list_cost": Decimal("0.00045"),
        "effective_cost": Decimal("0.00045"),
        "billed_cost": Decimal("0.00045"),
        "cost_status": "priced",
    }
    fields.update(kw)
    return UsageRecord(**fields)
