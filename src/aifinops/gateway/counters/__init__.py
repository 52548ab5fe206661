"""Live counters the guardrails share: in memory for one process, in Redis for a fleet."""

from __future__ import annotations

from aifinops.gateway.counters.base import (
    NANO,
    Admission,
    Bucket,
    Claim,
    Counters,
    Limited,
    MapWrite,
    Refusal,
    from_nano,
    to_nano,
)
from aifinops.gateway.counters.memory import MemoryCounters
from aifinops.gateway.counters.redis import RedisCounters

__all__ = [
    "NANO",
    "Admission",
    "Bucket",
    "Claim",
    "Counters",
    "Limited",
    "MapWrite",
    "MemoryCounters",
    "RedisCounters",
    "Refusal",
    "from_nano",
    "make_counters",
    "to_nano",
]


def make_counters(redis_url: str | None, prefix: str = "aifinops:") -> Counters:
    """Shared counters in Redis when ``redis_url`` is set, else counters of this process in memory."""
    return RedisCounters(redis_url, prefix=prefix) if redis_url else MemoryCounters()
