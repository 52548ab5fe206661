"""Live counters the guardrails share: budget reservations, token buckets, limited counters, depth maps.

One process keeps them in memory (:class:`MemoryCounters`); a fleet of gateway processes shares them in
Redis (:class:`RedisCounters`), where every check-and-update is one atomic Lua script. Money is an ``int``
of nano-dollars (1e-9 USD) so that Redis arithmetic stays exact.

Usage::

    counters = MemoryCounters()                      # or RedisCounters("redis://127.0.0.1:6379/0")
    refusal = await counters.reserve("req-1", [Claim("budget:search:2026-11", limit=5_000 * NANO, amount=worst)], ttl=900)
    if refusal is None:
        ...                                          # forward the request
        await counters.settle("req-1", actual)       # or release("req-1") on any error, cancel or disconnect

A gateway request needs one round trip before forwarding and at most one after::

    admission = await counters.admit("req-1", claims, buckets, limited, ttl=900)   # all or nothing
    if admission.admitted:
        ...
        spent = await counters.finish("req-1", actual, charges, decrements, add_spent)   # settle + true-ups
        # or, on any error: finish("req-1", 0, refunds, undo_counts, ()) -- see Counters.finish
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import Protocol, runtime_checkable

__all__ = [
    "NANO",
    "MAX_EXACT",
    "RECORD_GRACE",
    "Claim",
    "Refusal",
    "Bucket",
    "Limited",
    "MapWrite",
    "Admission",
    "Counters",
    "to_nano",
    "from_nano",
    "check_claims",
    "check_admission",
    "check_buckets",
]

NANO = 1_000_000_000  # nano-dollars per dollar
MAX_EXACT = (
    2**53
)  # limits and amounts must stay below this (about 9.007 million dollars): Lua numbers are doubles
RECORD_GRACE = (
    300.0  # seconds a reservation's record outlives its ttl: late settles still count, repeats stay no-ops
)


def to_nano(amount: Decimal, *, up: bool = False) -> int:
    """Dollars to integer nano-dollars (rounded up for reservations, half-even otherwise)."""
    return int((amount * NANO).to_integral_value(rounding=ROUND_CEILING if up else ROUND_HALF_EVEN))


def from_nano(value: int) -> Decimal:
    """Integer nano-dollars to dollars."""
    return Decimal(value) / NANO


@dataclass(frozen=True, slots=True)
class Claim:
    """Reserve ``amount`` against ``key`` whose spent + reserved must stay within ``limit``."""

    key: str
    limit: int
    amount: int


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a reservation was refused: the first claim that did not fit, and the state it saw."""

    key: str
    limit: int
    spent: int
    reserved: int
    amount: int


@dataclass(frozen=True, slots=True)
class Bucket:
    """A token bucket and how many tokens to take from it (or, in :meth:`Counters.finish`, to charge:
    negative gives tokens back)."""

    key: str
    capacity: float
    refill_per_second: float
    amount: float


@dataclass(frozen=True, slots=True)
class Limited:
    """Add ``amount`` to the counter ``key`` if it stays within ``limit``; the key expires ``ttl`` seconds
    after its creation (as :meth:`Counters.incr_limited`)."""

    key: str
    amount: int
    limit: int
    ttl: float


@dataclass(frozen=True, slots=True)
class MapWrite:
    """Set ``field`` of the small map ``key`` to ``value`` (as :meth:`Counters.set_field`)."""

    key: str
    field: str
    value: str
    ttl: float


@dataclass(frozen=True, slots=True)
class Admission:
    """The answer of :meth:`Counters.admit`: admitted when no field names a refusal.

    At most one of ``bucket``, ``limited`` and ``refusal`` is set: the first check that failed, in the
    order buckets, limited counters, claims. ``bucket`` is that bucket's index and ``wait`` the seconds
    until it would have the tokens (``math.inf`` when its amount exceeds its capacity); ``limited`` is that
    counter's index and ``count`` its current value; ``refusal`` is the budget claim that did not fit.
    When admitted, ``counts`` holds the new value of every limited counter, in order (on a retry of a
    held reservation, their current values).
    """

    refusal: Refusal | None = None
    bucket: int | None = None
    wait: float = 0.0
    limited: int | None = None
    count: int = 0
    counts: tuple[int, ...] = ()

    @property
    def admitted(self) -> bool:
        return self.refusal is None and self.bucket is None and self.limited is None


def check_buckets(buckets: Sequence[Bucket]) -> None:
    """Raise ``ValueError`` unless every bucket has a positive finite capacity and refill rate and a
    finite amount."""
    for b in buckets:
        if not (0 < b.capacity < math.inf and 0 < b.refill_per_second < math.inf and math.isfinite(b.amount)):
            raise ValueError(
                f"bucket capacity and refill rate must be positive and finite: {b.capacity!r}, "
                f"{b.refill_per_second!r} (amount {b.amount!r})"
            )


def check_admission(
    claims: Sequence[Claim], buckets: Sequence[Bucket], limited: Sequence[Limited], ttl: float
) -> None:
    """Raise ``ValueError`` on an out-of-range claim, bucket, counter ttl or reservation ttl."""
    check_claims(claims, ttl)
    check_buckets(buckets)
    for item in limited:
        if not item.ttl > 0:
            raise ValueError(f"limited counter ttl must be positive: {item!r}")


def check_claims(claims: Sequence[Claim], ttl: float) -> None:
    """Raise ``ValueError`` unless every claim is ``0 <= amount`` and ``|limit|, amount < MAX_EXACT`` and ``ttl > 0``."""
    if not ttl > 0:
        raise ValueError(f"reservation ttl must be positive, got {ttl!r}")
    for claim in claims:
        if not 0 <= claim.amount < MAX_EXACT or not -MAX_EXACT < claim.limit < MAX_EXACT:
            raise ValueError(f"claim out of range (0 <= amount, |limit| < 2**53 nano-dollars): {claim!r}")


@runtime_checkable
class Counters(Protocol):
    """The primitives; every method is atomic with respect to every other caller, in any process."""

    async def reserve(self, reservation_id: str, claims: Sequence[Claim], ttl: float) -> Refusal | None:
        """All claims or none: refuse if any key's spent + reserved + amount > limit (claims on the same key
        add up). Expired reservations (older than their ``ttl``) of the touched keys are released first, so a
        crashed holder frees its budget. Reserving an id that is still held is a no-op returning ``None``
        (a retry); reusing a settled or released id raises ``ValueError``."""
        ...

    async def settle(self, reservation_id: str, actual: int) -> None:
        """Turn a reservation into spend: each of its keys loses the reserved amount and gains ``actual``.
        Only the first settle or release of an id counts. A reservation whose hold expired still adds
        ``actual`` to its keys' spent while its record lives (``ttl + RECORD_GRACE``): the money was spent.
        Unknown ids are a no-op."""
        ...

    async def release(self, reservation_id: str) -> None:
        """Drop a reservation without spending (error, timeout, cancel, disconnect). Idempotent."""
        ...

    async def add_spent(self, key: str, amount: int, ttl: float | None = None) -> int:
        """Add spend outside any reservation (soft budgets); returns the new spent. ``ttl`` applies only
        if the key has no expiry yet (a period's expiry is never pushed back)."""
        ...

    async def ensure_spent(self, key: str, amount: int, ttl: float | None = None) -> int:
        """Set spent to ``amount`` only if the key has no spent yet (period-to-date from the ledger at start);
        returns the current spent."""
        ...

    async def usage(self, key: str) -> tuple[int, int]:
        """``(spent, reserved)`` of a key, after releasing expired reservations."""
        ...

    async def take(self, key: str, capacity: float, refill_per_second: float, amount: float) -> float:
        """Token bucket: if ``amount`` tokens are available take them and return 0.0, else take nothing and
        return the seconds until they will be (``math.inf`` if ``amount > capacity``). A new bucket starts
        full and refills continuously; ``capacity`` and ``refill_per_second`` must be positive."""
        ...

    async def charge(self, key: str, capacity: float, refill_per_second: float, amount: float) -> None:
        """Take ``amount`` without checking (the bucket may go negative): usage known only afterwards.
        A negative ``amount`` gives tokens back, up to ``capacity``."""
        ...

    async def incr_limited(self, key: str, amount: int, limit: int, ttl: float) -> tuple[bool, int]:
        """Add ``amount`` if the result stays within ``limit``: ``(True, new)``; else ``(False, current)``.
        The key expires ``ttl`` seconds after its creation."""
        ...

    async def decr(self, key: str, amount: int) -> None:
        """Undo an :meth:`incr_limited` (compensation when a later check refuses); a no-op on a missing
        (expired) key."""
        ...

    async def get_field(self, key: str, field: str) -> str | None:
        """A field of a small map (e.g. span depth by span id)."""
        ...

    async def set_field(self, key: str, field: str, value: str, ttl: float) -> None:
        """Set a field of a small map; the map expires ``ttl`` seconds after its last write."""
        ...

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
        """Everything a request needs before it is forwarded, in one atomic step: check every bucket (as
        :meth:`take`), then every limited counter (as :meth:`incr_limited`), then the claims (as
        :meth:`reserve`); apply all of them only if all pass, else apply nothing and say which refused.
        Repeated keys add up as successive calls would. The reservation id behaves as in :meth:`reserve`
        (held: a no-op that admits; finished: ``ValueError``), except that with no claims nothing is
        recorded under it. ``fields`` are map writes (e.g. a span's depth) made whatever the outcome."""
        ...

    async def finish(
        self,
        reservation_id: str | None,
        actual: int,
        charges: Sequence[Bucket],
        decrements: Sequence[tuple[str, int]],
        add_spent: Sequence[tuple[str, int]],
    ) -> dict[str, int]:
        """Everything after the call, in one atomic step: settle the reservation (if any) with ``actual``
        (as :meth:`settle`), then apply the bucket ``charges`` (as :meth:`charge`), the ``decrements``
        (as :meth:`decr`) and the soft-budget spends (as :meth:`add_spent`, no ttl). Returns the spent of
        every key it touched: the settled reservation's keys (only if this call settled it) and the
        ``add_spent`` keys.

        Release is ``finish(id, 0, refunds, undo, ())``: a settle of 0 spends nothing, exactly like
        :meth:`release`, and the caller passes the negated bucket amounts and the counter increments."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
