"""Shared demo data for the tests: 14 days at 5% volume, generated once per session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from aifinops.core.records import Outcome, UsageRecord
from aifinops.demo import generate

END = datetime(2026, 3, 1, 14, tzinfo=UTC)
DAYS = 14
SCALE = 0.05


@dataclass
class Generated:
    records: list[UsageRecord]
    outcomes: list[Outcome]
    start: datetime
    end: datetime
    incidents: dict[str, tuple[datetime, datetime]]


def build(seed: int = 7, *, days: int = DAYS, scale: float = SCALE, end: datetime = END) -> Generated:
    data = generate(seed, days=days, end=end, scale=scale)
    records = [r for batch in data.batches for r in batch]
    return Generated(records, data.outcomes, data.start, data.end, data.incidents)


@pytest.fixture(scope="session")
def demo() -> Generated:
    return build()


@pytest.fixture(scope="session")
def gateway(demo: Generated) -> list[UsageRecord]:
    return [r for r in demo.records if r.source == "gateway"]
