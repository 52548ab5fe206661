"""Time parsing for reports: ``30d``, ``12h``, ``2w``, ``2026-01-31``, ISO datetimes, ``YYYY-MM`` months. UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from aifinops.core.errors import InputError

__all__ = ["parse_time", "parse_month", "parse_where", "utcnow", "as_utc"]

_RELATIVE = re.compile(r"^(\d+)\s*([hdwm])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1), "m": timedelta(days=30)}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_time(text: str, *, now: datetime | None = None, name: str = "time") -> datetime:
    """Parse ``30d`` (relative to now), a date (midnight UTC) or an ISO 8601 datetime."""
    value = text.strip()
    match = _RELATIVE.match(value.lower())
    if match:
        try:
            return (now or utcnow()) - int(match.group(1)) * _UNITS[match.group(2)]
        except OverflowError:
            raise InputError(f"{name}: {text!r} reaches past the year 1") from None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{name}: {text!r} is not a time; use e.g. 30d, 12h, 2w, 2026-01-31 or 2026-01-31T12:00:00Z"
        ) from None
    return as_utc(parsed)


def parse_month(text: str) -> tuple[datetime, datetime]:
    """``YYYY-MM`` to the month's [start, end) in UTC."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InputError(f"month: {text!r} is not a month; use YYYY-MM")
    year, month = int(match.group(1)), int(match.group(2))
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def parse_where(items: list[str] | tuple[str, ...]) -> dict[str, str | list[str]]:
    """``["team=search", "model=gpt-4o", "team=ads"]`` to ``{"team": ["search", "ads"], "model": "gpt-4o"}``.

    Comma-separated items are accepted too (``team=search,model=gpt-4o``).
    """
    where: dict[str, str | list[str]] = {}
    for item in items:
        for part in item.split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                raise InputError(f"where: {part!r} is not KEY=VALUE")
            key, value = key.strip(), value.strip()
            if key in where:
                old = where[key]
                where[key] = [*old, value] if isinstance(old, list) else [old, value]
            else:
                where[key] = value
    return where
