"""Shared helpers for the importer tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from aifinops.core.errors import RowError
from aifinops.core.records import UsageRecord
from aifinops.ingest.base import ReadSummary

DATA = Path(__file__).resolve().parent.parent / "data" / "ingest"
FOCUS_SAMPLE = Path("/work/shared/data/public-traces/focus_sample_1.0_1000rows.csv")


class Read:
    """Everything one reader produced: records, row errors and its summary."""

    def __init__(self, items: Iterator[UsageRecord | RowError]) -> None:
        self.records: list[UsageRecord] = []
        self.errors: list[RowError] = []
        self.summary: ReadSummary | None = None
        while True:
            try:
                item = next(items)
            except StopIteration as stop:
                self.summary = stop.value
                break
            if isinstance(item, RowError):
                self.errors.append(item)
            else:
                self.records.append(item)

    @property
    def ids(self) -> list[str]:
        return [r.record_id for r in self.records]


def read(reader, path: Path, **options) -> Read:
    return Read(reader(path, **options))
