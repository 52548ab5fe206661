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
"""

from __future__ import annotations

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
    "Counters",
    "to_nano",
    "from_nano",
    "check_claims",
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

    async def aclose(self) -> None:
        """Release connections."""
        ...
