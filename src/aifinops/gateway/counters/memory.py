"""Counters of one gateway process, in memory.

Every method runs its whole check-and-update without awaiting, so it is atomic on the event loop; a
``threading.Lock`` around each body also makes it safe from other threads. Expired entries are dropped
when touched and by a sweep at most once a minute, so memory stays bounded by live state.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aifinops.gateway.counters.base import RECORD_GRACE, Claim, Refusal, check_claims

__all__ = ["MemoryCounters"]

SWEEP_EVERY = 60.0  # seconds between sweeps of expired entries


@dataclass(slots=True)
class _Holds:
    """Live reservations on one key: id -> (amount, expires_at), with a heap of expiries."""

    reserved: int = 0
    holds: dict[str, tuple[int, float]] = field(default_factory=dict)
    heap: list[tuple[float, str]] = field(default_factory=list)

    def purge(self, now: float) -> None:
        heap = self.heap
        while heap and heap[0][0] <= now:
            expires_at, rid = heapq.heappop(heap)
            hold = self.holds.get(rid)
            if hold is not None and hold[1] == expires_at:
                del self.holds[rid]
                self.reserved -= hold[0]

    def drop(self, rid: str) -> None:
        hold = self.holds.pop(rid, None)
        if hold is not None:
            self.reserved -= hold[0]


@dataclass(slots=True)
class _Record:
    amounts: dict[str, int]
    keep_until: float
    done: bool = False


class MemoryCounters:
    """:class:`~aifinops.gateway.counters.base.Counters` for a single process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._spent: dict[str, int] = {}
        self._spent_until: dict[str, float] = {}
        self._holds: dict[str, _Holds] = {}
        self._records: dict[str, _Record] = {}
        self._buckets: dict[str, list[float]] = {}  # key -> [tokens, at, capacity, rate]
        self._limited: dict[str, list[float]] = {}  # key -> [value, expires_at]
        self._maps: dict[str, tuple[dict[str, str], list[float]]] = {}  # key -> (fields, [expires_at])
        self._next_sweep = self._clock() + SWEEP_EVERY

    # -- budgets -----------------------------------------------------------------------------------

    async def reserve(self, reservation_id: str, claims: Sequence[Claim], ttl: float) -> Refusal | None:
        check_claims(claims, ttl)
        with self._lock:
            now = self._now()
            record = self._live_record(reservation_id, now)
            if record is not None:
                if record.done:
                    raise ValueError(f"reservation id already used: {reservation_id!r}")
                return None
            pending: dict[str, int] = {}
            for claim in claims:
                holds = self._holds.get(claim.key)
                reserved = 0
                if holds is not None:
                    holds.purge(now)
                    reserved = holds.reserved
                spent = self._get_spent(claim.key, now)
                total = pending.get(claim.key, 0) + claim.amount
                if spent + reserved + total > claim.limit:
                    return Refusal(claim.key, claim.limit, spent, reserved, claim.amount)
                pending[claim.key] = total
            expires_at = now + ttl
            for key, amount in pending.items():
                holds = self._holds.get(key)
                if holds is None:
                    holds = self._holds[key] = _Holds()
                holds.holds[reservation_id] = (amount, expires_at)
                holds.reserved += amount
                heapq.heappush(holds.heap, (expires_at, reservation_id))
            self._records[reservation_id] = _Record(pending, expires_at + RECORD_GRACE)
            return None

    async def settle(self, reservation_id: str, actual: int) -> None:
        if actual < 0:
            raise ValueError(f"actual spend must not be negative, got {actual}")
        self._finish(reservation_id, actual)

    async def release(self, reservation_id: str) -> None:
        self._finish(reservation_id, None)

    def _finish(self, reservation_id: str, actual: int | None) -> None:
        with self._lock:
            now = self._now()
            record = self._live_record(reservation_id, now)
            if record is None or record.done:
                return
            record.done = True
            for key in record.amounts:
                holds = self._holds.get(key)
                if holds is not None:
                    holds.drop(reservation_id)
                if actual:
                    self._get_spent(key, now)  # drops an expired spent first
                    self._spent[key] = self._spent.get(key, 0) + actual

    async def add_spent(self, key: str, amount: int, ttl: float | None = None) -> int:
        with self._lock:
            now = self._now()
            spent = self._get_spent(key, now) + amount
            self._spent[key] = spent
            if ttl is not None and key not in self._spent_until:
                self._spent_until[key] = now + ttl
            return spent

    async def ensure_spent(self, key: str, amount: int, ttl: float | None = None) -> int:
        with self._lock:
            now = self._now()
            spent = self._get_spent(key, now)  # drops an expired spent first
            if key in self._spent:
                return spent
            self._spent[key] = amount
            if ttl is not None:
                self._spent_until[key] = now + ttl
            return amount

    async def usage(self, key: str) -> tuple[int, int]:
        with self._lock:
            now = self._now()
            holds = self._holds.get(key)
            reserved = 0
            if holds is not None:
                holds.purge(now)
                reserved = holds.reserved
            return self._get_spent(key, now), reserved

    # -- token buckets -----------------------------------------------------------------------------

    async def take(self, key: str, capacity: float, refill_per_second: float, amount: float) -> float:
        return self._bucket(key, capacity, refill_per_second, amount, check=True)

    async def charge(self, key: str, capacity: float, refill_per_second: float, amount: float) -> None:
        self._bucket(key, capacity, refill_per_second, amount, check=False)

    def _bucket(self, key: str, capacity: float, rate: float, amount: float, *, check: bool) -> float:
        if not (capacity > 0 and rate > 0):
            raise ValueError(f"bucket capacity and refill rate must be positive: {capacity!r}, {rate!r}")
        with self._lock:
            now = self._now()
            state = self._buckets.get(key)
            tokens = capacity
            if state is not None:
                tokens = min(capacity, state[0] + max(0.0, now - state[1]) * rate)
            if check:
                if amount > capacity:
                    return math.inf
                if tokens < amount:
                    return (amount - tokens) / rate
            self._buckets[key] = [min(capacity, tokens - amount), now, capacity, rate]
            return 0.0

    # -- limited counters and maps -----------------------------------------------------------------

    async def incr_limited(self, key: str, amount: int, limit: int, ttl: float) -> tuple[bool, int]:
        with self._lock:
            now = self._now()
            entry = self._limited.get(key)
            if entry is not None and entry[1] <= now:
                entry = None
            current = int(entry[0]) if entry is not None else 0
            if current + amount > limit:
                return False, current
            if entry is None:
                self._limited[key] = [current + amount, now + ttl]
            else:
                entry[0] = current + amount
            return True, current + amount

    async def decr(self, key: str, amount: int) -> None:
        with self._lock:
            entry = self._limited.get(key)
            if entry is not None and entry[1] > self._now():
                entry[0] -= amount

    async def get_field(self, key: str, field: str) -> str | None:
        with self._lock:
            entry = self._maps.get(key)
            if entry is None or entry[1][0] <= self._now():
                return None
            return entry[0].get(field)

    async def set_field(self, key: str, field: str, value: str, ttl: float) -> None:
        with self._lock:
            now = self._now()
            entry = self._maps.get(key)
            if entry is None or entry[1][0] <= now:
                entry = self._maps[key] = ({}, [0.0])
            entry[0][field] = value
            entry[1][0] = now + ttl

    async def aclose(self) -> None:
        return None

    # -- internals (called with the lock held) -------------------------------------------------------

    def _now(self) -> float:
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        return now

    def _get_spent(self, key: str, now: float) -> int:
        until = self._spent_until.get(key)
        if until is not None and until <= now:
            del self._spent_until[key]
            self._spent.pop(key, None)
        return self._spent.get(key, 0)

    def _live_record(self, reservation_id: str, now: float) -> _Record | None:
        record = self._records.get(reservation_id)
        if record is not None and record.keep_until <= now:
            del self._records[reservation_id]
            return None
        return record

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + SWEEP_EVERY
        for key in [k for k, until in self._spent_until.items() if until <= now]:
            self._get_spent(key, now)
        for key, holds in list(self._holds.items()):
            holds.purge(now)
            if not holds.holds:
                del self._holds[key]
        for rid in [r for r, rec in self._records.items() if rec.keep_until <= now]:
            del self._records[rid]
        for key in [k for k, (t, at, cap, rate) in self._buckets.items() if t + (now - at) * rate >= cap]:
            del self._buckets[key]
        for key in [k for k, (_, until) in self._limited.items() if until <= now]:
            del self._limited[key]
        for key in [k for k, (_, until) in self._maps.items() if until[0] <= now]:
            del self._maps[key]
