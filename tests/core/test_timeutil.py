"""Times from the command line and the API: relative, dates, ISO; bad ones name the option."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aifinops.core.errors import InputError
from aifinops.core.timeutil import parse_month, parse_time

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def test_relative_dates_and_iso_times() -> None:
    assert parse_time("30d", now=NOW) == datetime(2026, 2, 8, 12, tzinfo=UTC)
    assert parse_time("2026-01-31") == datetime(2026, 1, 31, tzinfo=UTC)
    assert parse_time("2026-01-31T12:00:00Z") == datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert parse_month("2026-02") == (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))


@pytest.mark.parametrize("text", ["yesterday", "99999999999d", "2026-13-01"])
def test_bad_times_name_the_option(text: str) -> None:
    with pytest.raises(InputError, match="since"):
        parse_time(text, name="since")
