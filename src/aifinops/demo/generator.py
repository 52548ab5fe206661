"""``generate()``: the demo company's usage records (lazily, in batches) and business outcomes.

Deterministic: the same ``seed`` and ``end`` give the same records, ids and values. Every random draw
comes from a :class:`numpy.random.Generator` seeded from ``(seed, stream, keys)`` (see
:meth:`DemoContext.rng`), never from a global generator, so each feature and day is reproducible on its own.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter

from aifinops.core.records import Outcome, UsageRecord
from aifinops.demo.agents import agent_day
from aifinops.demo.company import FEATURES, INCIDENTS
from aifinops.demo.context import DemoContext
from aifinops.demo.infra import gpu_day, jobs_day
from aifinops.demo.outcomes import generate_outcomes
from aifinops.demo.reports import ProviderReports
from aifinops.demo.traffic import feature_day

__all__ = ["DemoData", "generate", "BATCH_SIZE"]

#: Records per batch yielded by :attr:`DemoData.batches`.
BATCH_SIZE = 50_000
#: How far past its day's end a day's records can start (agent workflows, retries), with room to spare.
_SPILL = timedelta(days=2)
_START = attrgetter("charge_period_start")


@dataclass
class DemoData:
    """What :func:`generate` returns. ``batches`` is a one-shot iterator, oldest records first."""

    batches: Iterator[list[UsageRecord]]
    outcomes: list[Outcome]
    start: datetime
    end: datetime
    #: Incident name -> its ``[start, end)`` clipped to the window (incidents outside it are left out).
    incidents: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)
    #: The providers' daily usage reports, filled while :attr:`batches` is consumed: call
    #: ``reports.records()`` after the last batch.
    reports: ProviderReports | None = None

    def records(self) -> Iterator[UsageRecord]:
        """The records of every batch, one at a time (consumes :attr:`batches`)."""
        for batch in self.batches:
            yield from batch


def _current_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def generate(seed: int = 42, *, days: int = 90, end: datetime | None = None, scale: float = 1.0) -> DemoData:
    """Generate ``days`` of the demo company's AI usage, ending at ``end`` (default: the current UTC hour).

    ``end`` is floored to the hour (a naive ``end`` is taken as UTC). ``scale`` multiplies request
    volume (GPU and training records, which are hourly, do not scale). Records come unpriced, except
    self-hosted requests (reported cost 0, tag ``cost_in: gpu``): price them with the catalog.
    """
    if seed < 0:
        raise ValueError("seed must be >= 0")
    if days < 1:
        raise ValueError("days must be >= 1")
    if not scale > 0:
        raise ValueError("scale must be > 0")
    if end is None:
        end = _current_hour()
    elif end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    end = end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    ctx = DemoContext(seed, start, end, scale)
    incidents = {}
    for incident in INCIDENTS:
        lo, hi = ctx.incidents[incident.name]
        if lo < end and hi > start:
            incidents[incident.name] = (max(lo, start), min(hi, end))
    reports = ProviderReports(end, scale)
    return DemoData(
        batches=_batches(ctx, reports),
        outcomes=generate_outcomes(ctx),
        start=start,
        end=end,
        incidents=incidents,
        reports=reports,
    )


def _day_records(ctx: DemoContext, day: date) -> list[UsageRecord]:
    records: list[UsageRecord] = []
    for feature in FEATURES:
        if feature.kind == "agent":
            records.extend(agent_day(ctx, feature, day))
        else:
            records.extend(feature_day(ctx, feature, day))
    records.extend(gpu_day(ctx, day))
    records.extend(jobs_day(ctx, day))
    lo, hi = ctx.start, ctx.end
    base = ctx.day_start(day)
    if not lo <= base or not base + _SPILL <= hi:  # only days at the window's edges have records outside it
        records = [r for r in records if lo <= r.charge_period_start < hi]
    records.sort(key=_START)
    return records


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a day's records hold no cycles, and its passes over the
    hundreds of thousands of live records otherwise cost a quarter of the generation time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _batches(ctx: DemoContext, reports: ProviderReports) -> Iterator[list[UsageRecord]]:
    buffer: list[UsageRecord] = []
    for day in ctx.days():
        with _gc_paused():  # never across a yield: the consumer runs with the collector as it found it
            records = _day_records(ctx, day)
            reports.add(records)
        buffer.extend(records)
        while len(buffer) >= BATCH_SIZE:
            yield buffer[:BATCH_SIZE]
            buffer = buffer[BATCH_SIZE:]
    if buffer:
        yield buffer
