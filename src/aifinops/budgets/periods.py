"""Budget periods as UTC windows: day, week (from Monday), month, quarter, year, or a custom range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["period_window"]


def _month_start(year: int, month: int) -> datetime:
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


def period_window(
    period: str, at: datetime, start: datetime | None = None, end: datetime | None = None
) -> tuple[datetime, datetime]:
    """The ``[start, end)`` window of ``period`` that contains ``at`` (UTC)."""
    at = at.astimezone(UTC)
    day = datetime(at.year, at.month, at.day, tzinfo=UTC)
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        monday = day - timedelta(days=at.weekday())
        return monday, monday + timedelta(days=7)
    if period == "month":
        return _month_start(at.year, at.month), _month_start(at.year, at.month + 1)
    if period == "quarter":
        first = (at.month - 1) // 3 * 3 + 1
        return _month_start(at.year, first), _month_start(at.year, first + 3)
    if period == "year":
        return datetime(at.year, 1, 1, tzinfo=UTC), datetime(at.year + 1, 1, 1, tzinfo=UTC)
    if period == "custom":
        if start is None or end is None:
            raise ValueError("a custom period needs start and end")
        return start, end
    raise ValueError(f"unknown period {period!r}")
