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

from aifinops.gateway.counters.base import (
    RECORD_GRACE,
    Admission,
    Bucket,
    Claim,
    Limited,
    MapWrite,
    Refusal,
    check_admission,
    check_buckets,
    check_claims,
)

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
            if self._held(reservation_id, now):
                return None
            pending = self._fit(claims, now)
            if isinstance(pending, Refusal):
                return pending
            self._hold(reservation_id, pending, now + ttl)
            return None

    async def settle(self, reservation_id: str, actual: int) -> None:
        if actual < 0:
            raise ValueError(f"actual spend must not be negative, got {actual}")
        self._finish(reservation_id, actual)

    async def release(self, reservation_id: str) -> None:
        self._finish(reservation_id, None)

    def _finish(self, reservation_id: str, actual: int | None) -> dict[str, int]:
        with self._lock:
            return self._finish_locked(reservation_id, actual, self._now())

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

    # -- one step before and one after a request ----------------------------------------------------

    async def admit(
        self,
        reservation_id: str,
        claims: Sequence[Claim],
        buckets: Sequence[Bucket],
        limited: Sequence[Limited],
        ttl: float,
        *,
        fields: Sequence[MapWrite] = (),
    ) -> Admission:
        check_admission(claims, buckets, limited, ttl)
        with self._lock:
            now = self._now()
            for write in fields:
                self._set_field_locked(write.key, write.field, write.value, write.ttl, now)
            if self._held(reservation_id, now):
                return Admission(counts=tuple(self._count(item.key, now) for item in limited))
            tokens: dict[str, float] = {}
            for i, b in enumerate(buckets):
                have = tokens.get(b.key)
                have = self._tokens(b, now) if have is None else min(b.capacity, have)
                if b.amount > b.capacity:
                    return Admission(bucket=i, wait=math.inf)
                if have < b.amount:
                    return Admission(bucket=i, wait=(b.amount - have) / b.refill_per_second)
                tokens[b.key] = min(b.capacity, have - b.amount)
            counts: dict[str, int] = {}
            news: list[int] = []
            for i, item in enumerate(limited):
                current = counts.get(item.key)
                current = self._count(item.key, now) if current is None else current
                if current + item.amount > item.limit:
                    return Admission(limited=i, count=current)
                counts[item.key] = current + item.amount
                news.append(current + item.amount)
            pending = self._fit(claims, now)
            if isinstance(pending, Refusal):
                return Admission(refusal=pending)
            for b in buckets:
                self._buckets[b.key] = [tokens[b.key], now, b.capacity, b.refill_per_second]
            for item in limited:
                entry = self._limited.get(item.key)
                if entry is None or entry[1] <= now:
                    self._limited[item.key] = [item.amount, now + item.ttl]
                else:
                    entry[0] += item.amount
            if claims:
                self._hold(reservation_id, pending, now + ttl)
            return Admission(counts=tuple(news))

    async def finish(
        self,
        reservation_id: str | None,
        actual: int,
        charges: Sequence[Bucket],
        decrements: Sequence[tuple[str, int]],
        add_spent: Sequence[tuple[str, int]],
    ) -> dict[str, int]:
        if actual < 0:
            raise ValueError(f"actual spend must not be negative, got {actual}")
        check_buckets(charges)
        with self._lock:
            now = self._now()
            spent = {} if reservation_id is None else self._finish_locked(reservation_id, actual, now)
            for b in charges:
                have = self._tokens(b, now)
                self._buckets[b.key] = [
                    min(b.capacity, have - b.amount),
                    now,
                    b.capacity,
                    b.refill_per_second,
                ]
            for key, amount in decrements:
                self._decr_locked(key, amount, now)
            for key, amount in add_spent:
                spent[key] = self._spent[key] = self._get_spent(key, now) + amount
            return spent

    # -- token buckets -----------------------------------------------------------------------------

    async def take(self, key: str, capacity: float, refill_per_second: float, amount: float) -> float:
        return self._bucket(key, capacity, refill_per_second, amount, check=True)

    async def charge(self, key: str, capacity: float, refill_per_second: float, amount: float) -> None:
        self._bucket(key, capacity, refill_per_second, amount, check=False)

    def _bucket(self, key: str, capacity: float, rate: float, amount: float, *, check: bool) -> float:
        bucket = Bucket(key, capacity, rate, amount)
        check_buckets([bucket])
        with self._lock:
            now = self._now()
            tokens = self._tokens(bucket, now)
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
            current = self._count(key, now)
            if current + amount > limit:
                return False, current
            entry = self._limited.get(key)
            if entry is None:
                self._limited[key] = [current + amount, now + ttl]
            else:
                entry[0] = current + amount
            return True, current + amount

    async def decr(self, key: str, amount: int) -> None:
        with self._lock:
            self._decr_locked(key, amount, self._now())

    async def get_field(self, key: str, field: str) -> str | None:
        with self._lock:
            entry = self._maps.get(key)
            if entry is None or entry[1][0] <= self._now():
                return None
            return entry[0].get(field)

    async def set_field(self, key: str, field: str, value: str, ttl: float) -> None:
        with self._lock:
            self._set_field_locked(key, field, value, ttl, self._now())

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

    def _held(self, reservation_id: str, now: float) -> bool:
        """Whether the id is held (a retry: True); raises if it was settled or released."""
        record = self._live_record(reservation_id, now)
        if record is not None and record.done:
            raise ValueError(f"reservation id already used: {reservation_id!r}")
        return record is not None

    def _fit(self, claims: Sequence[Claim], now: float) -> dict[str, int] | Refusal:
        """The amount to hold per key, or the first claim that does not fit."""
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
        return pending

    def _hold(self, reservation_id: str, pending: dict[str, int], expires_at: float) -> None:
        for key, amount in pending.items():
            holds = self._holds.get(key)
            if holds is None:
                holds = self._holds[key] = _Holds()
            holds.holds[reservation_id] = (amount, expires_at)
            holds.reserved += amount
            heapq.heappush(holds.heap, (expires_at, reservation_id))
        self._records[reservation_id] = _Record(pending, expires_at + RECORD_GRACE)

    def _finish_locked(self, reservation_id: str, actual: int | None, now: float) -> dict[str, int]:
        """Settle (or release, ``actual`` None or 0) once; the spent of each key of a settled record."""
        record = self._live_record(reservation_id, now)
        if record is None or record.done:
            return {}
        record.done = True
        spent: dict[str, int] = {}
        for key in record.amounts:
            holds = self._holds.get(key)
            if holds is not None:
                holds.drop(reservation_id)
            spent[key] = self._get_spent(key, now)  # drops an expired spent first
            if actual:
                spent[key] = self._spent[key] = spent[key] + actual
        return spent

    def _tokens(self, bucket: Bucket, now: float) -> float:
        """Tokens in a bucket now, refilled since its last use (a new bucket is full)."""
        state = self._buckets.get(bucket.key)
        if state is None:
            return bucket.capacity
        return min(bucket.capacity, state[0] + max(0.0, now - state[1]) * bucket.refill_per_second)

    def _count(self, key: str, now: float) -> int:
        """A limited counter's value (0 when missing or expired)."""
        entry = self._limited.get(key)
        if entry is not None and entry[1] <= now:
            del self._limited[key]
            return 0
        return int(entry[0]) if entry is not None else 0

    def _decr_locked(self, key: str, amount: int, now: float) -> None:
        entry = self._limited.get(key)
        if entry is not None and entry[1] > now:
            entry[0] -= amount

    def _set_field_locked(self, key: str, field: str, value: str, ttl: float, now: float) -> None:
        entry = self._maps.get(key)
        if entry is None or entry[1][0] <= now:
            entry = self._maps[key] = ({}, [0.0])
        entry[0][field] = value
        entry[1][0] = now + ttl

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
