"""The ``Ledger`` interface: every backend (DuckDB now, ClickHouse later) implements it.

A ledger is append-only. ``append`` is idempotent: a record whose ``record_id`` is already stored is
dropped, so re-importing a file changes nothing. Corrections are new records (a reversal that
``corrects`` the original, plus a replacement), never updates.

Usage::

    ledger = DuckDBLedger(path)
    with ledger.transaction() as tx:        # all-or-nothing import
        tx.append(batch1)
        tx.append(batch2)
    rows = ledger.rollup(RollupQuery(by=("team", "model"), grain="day", since=..., until=...))
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from aifinops.core.records import Outcome, UsageRecord

__all__ = ["Ledger", "LedgerWriter", "AppendResult", "RollupQuery", "ScanQuery", "GRAINS", "METRICS"]

GRAINS = ("hour", "day", "week", "month")
#: Metrics every rollup row carries. ``cost`` is the configured cost column (effective cost by default).
METRICS = (
    "cost",
    "list_cost",
    "effective_cost",
    "billed_cost",
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
    "requests",
    "gpu_hours",
    "records",
    "unpriced_records",
)


@dataclass(slots=True)
class AppendResult:
    """What an append did."""

    inserted: int = 0
    duplicates: int = 0

    def __iadd__(self, other: AppendResult) -> AppendResult:
        self.inserted += other.inserted
        self.duplicates += other.duplicates
        return self


@dataclass(frozen=True, slots=True)
class RollupQuery:
    """A spend rollup: group by dimensions (columns or tag keys) and an optional time grain.

    ``where`` maps a dimension to a value or a list of values (``None`` matches a missing value).
    ``sources="authoritative"`` reads one source per provider and day (DESIGN §3); ``"all"`` reads every source.
    """

    by: tuple[str, ...] = ()
    grain: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    where: dict[str, Any] = field(default_factory=dict)
    sources: str = "authoritative"
    order_by: str = "cost"
    limit: int | None = None
    metrics: tuple[str, ...] | None = None  # a subset of METRICS (``cost`` always included); None: all


@dataclass(frozen=True, slots=True)
class ScanQuery:
    """Raw records in a time range, filtered like a rollup, newest first."""

    since: datetime | None = None
    until: datetime | None = None
    where: dict[str, Any] = field(default_factory=dict)
    limit: int = 100
    offset: int = 0


@runtime_checkable
class LedgerWriter(Protocol):
    """Writes inside one transaction."""

    def append(self, records: Sequence[UsageRecord] | pa.Table) -> AppendResult:
        """Append records (or an Arrow table in ``RECORD_SCHEMA``); known ``record_id``s are dropped."""
        ...

    def append_outcomes(self, outcomes: Sequence[Outcome]) -> AppendResult:
        """Append business outcomes; known ``outcome_id``s are dropped."""
        ...


@runtime_checkable
class Ledger(LedgerWriter, Protocol):
    """Storage for records and outcomes."""

    def transaction(self) -> AbstractContextManager[LedgerWriter]:
        """All appends inside the block land together or not at all."""
        ...

    def rollup(self, query: RollupQuery) -> list[dict[str, Any]]:
        """Aggregate spend; one dict per group with the dimensions, ``period`` and :data:`METRICS`."""
        ...

    def scan(self, query: ScanQuery) -> list[UsageRecord]:
        """Raw records."""
        ...

    def iter_batches(self, where_sql: str = "", params: Sequence[Any] = ()) -> Iterator[pa.Table]:
        """Stream records as Arrow batches (exports, re-rating)."""
        ...

    def stats(self) -> dict[str, Any]:
        """Counts, time range, sources, unpriced models, schema version."""
        ...

    def close(self) -> None:
        """Release the database."""
        ...
