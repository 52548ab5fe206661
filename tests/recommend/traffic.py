"""Hand-built traffic whose right recommendation and saving are known exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aifinops.core.records import UsageRecord, make_record_id

T0 = datetime(2026, 3, 2, tzinfo=UTC)
UNTIL = T0 + timedelta(days=30)


def call(key: str, at: datetime, **kw: Any) -> UsageRecord:
    """An unpriced gateway call (the app prices it with the shipped catalog)."""
    fields: dict[str, Any] = {
        "record_id": make_record_id("gateway", key),
        "source": "gateway",
        "charge_period_start": at,
        "charge_period_end": at + timedelta(seconds=1),
        "provider": "openai",
        "model": "gpt-4o",
        "requests": 1,
        "input_tokens": 1000,
        "output_tokens": 500,
        "status": "ok",
        "team": "content",
        "feature": "writer",
    }
    fields.update(kw)
    return UsageRecord(**fields)


def daily(
    name: str, days: range, per_day: int, hour: int = 10, step: int = 1, **kw: Any
) -> list[UsageRecord]:
    """``per_day`` calls a day (one every ``step`` minutes from ``hour``) on each day of ``days`` (from T0)."""
    return [
        call(f"{name}:{d}:{i}", T0 + timedelta(days=d, hours=hour, minutes=i * step), **kw)
        for d in days
        for i in range(per_day)
    ]


def writer_migration() -> list[UsageRecord]:
    """``writer`` ran on gpt-4o-mini for 20 days, then moved to gpt-4o for the last 10 (40 calls a day,
    one every 12 minutes from 09:00: interactive, not a scheduled job).

    gpt-4o: 1000 x $2.50/M + 500 x $10/M = $0.0075 a call; gpt-4o-mini: 1000 x $0.15/M + 500 x $0.60/M =
    $0.00045. The last 10 days: 400 calls, $3.00 paid, $0.18 on gpt-4o-mini: $2.82 saved in 10 days,
    $8.46 a month.
    """
    return daily("mini", range(20), 40, hour=9, step=12, model="gpt-4o-mini") + daily(
        "big", range(20, 30), 40, hour=9, step=12
    )
