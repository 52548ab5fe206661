"""Counters shared by a fleet of gateway processes, in Redis.

Every check-and-update is one Lua script (in :mod:`~aifinops.gateway.counters.lua`; loaded once, then
called by SHA: one round trip), so any number of processes share one budget exactly. ``admit`` and
``finish`` bundle everything a gateway request needs before and after its call into one script each;
they take their parameters as one JSON argument (decoded by Redis's ``cjson``) because redis-py packs
each separate argument in Python, which for dozens of them costs a sizeable part of the call. Expiry uses the Redis
server's clock (``TIME``), never a gateway host's. Keys, all under ``prefix``::

    s:{key}    spent nano-dollars (string int)          r:{key}   reserved nano-dollars (string int)
    z:{key}    ZSET reservation id -> expiry (seconds)  h:{key}   HASH reservation id -> amount held
    res:{id}   HASH "k:{key}" -> amount, "done" once settled or released (ttl + RECORD_GRACE)
    b:{key}    token bucket HASH t (tokens), ts         c:{key}   limited counter
    m:{key}    small map

Settling scripts read a reservation's keys from its record, and ``admit``/``finish`` build their keys
from the prefix, so they need one Redis (not a Cluster).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import orjson
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import ResponseError

from aifinops.gateway.counters import lua
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

__all__ = ["RedisCounters"]

BUCKET_IDLE_MS = 180_000  # a bucket lives this long after it is full again (then it equals a new one)


def _ms(seconds: float) -> int:
    """Seconds to whole milliseconds for PEXPIRE, rounded up and at least 1."""
    if not seconds > 0:
        raise ValueError(f"ttl must be positive, got {seconds!r}")
    return max(1, math.ceil(seconds * 1000))


class RedisCounters:
    """:class:`~aifinops.gateway.counters.base.Counters` in one Redis shared by every gateway process.

    ``max_connections`` bounds the pool; callers beyond it wait up to ``pool_timeout`` seconds for a
    connection rather than opening more.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "aifinops:",
        max_connections: int = 64,
        pool_timeout: float = 10.0,
    ) -> None:
        self.prefix = prefix
        pool = BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=pool_timeout, decode_responses=True
        )
        self._redis = Redis.from_pool(pool)
        register = self._redis.register_script
        self._reserve = register(lua.RESERVE)
        self._finish = register(lua.FINISH)
        self._usage = register(lua.USAGE)
        self._add_spent = register(lua.ADD_SPENT)
        self._ensure_spent = register(lua.ENSURE_SPENT)
        self._bucket = register(lua.BUCKET)
        self._incr_limited = register(lua.INCR_LIMITED)
        self._decr = register(lua.DECR)
        self._set_field = register(lua.SET_FIELD)
        self._admit = register(lua.ADMIT)
        self._finish_all = register(lua.FINISH_ALL)

    @property
    def redis(self) -> Redis:
        """The client (for health checks and tests)."""
        return self._redis

    # -- budgets -----------------------------------------------------------------------------------

    async def reserve(self, reservation_id: str, claims: Sequence[Claim], ttl: float) -> Refusal | None:
        check_claims(claims, ttl)
        p = self.prefix
        keys = [f"{p}res:{reservation_id}"]
        args: list[str | int | float] = [repr(float(ttl)), repr(RECORD_GRACE), reservation_id]
        for c in claims:
            keys += (f"{p}s:{c.key}", f"{p}r:{c.key}", f"{p}z:{c.key}", f"{p}h:{c.key}")
            args += (c.key, c.limit, c.amount)
        result = await self._run(self._reserve, keys, args, reservation_id)
        if result == 0:
            return None
        index, spent, reserved = result
        claim = claims[int(index) - 1]
        return Refusal(claim.key, claim.limit, int(spent), int(reserved), claim.amount)

    async def settle(self, reservation_id: str, actual: int) -> None:
        if actual < 0:
            raise ValueError(f"actual spend must not be negative, got {actual}")
        await self._finish(
            keys=[f"{self.prefix}res:{reservation_id}"], args=[self.prefix, reservation_id, actual]
        )

    async def release(self, reservation_id: str) -> None:
        await self._finish(
            keys=[f"{self.prefix}res:{reservation_id}"], args=[self.prefix, reservation_id, ""]
        )

    async def add_spent(self, key: str, amount: int, ttl: float | None = None) -> int:
        ms = "" if ttl is None else _ms(ttl)
        return int(await self._add_spent(keys=[f"{self.prefix}s:{key}"], args=[amount, ms]))

    async def ensure_spent(self, key: str, amount: int, ttl: float | None = None) -> int:
        ms = "" if ttl is None else _ms(ttl)
        return int(await self._ensure_spent(keys=[f"{self.prefix}s:{key}"], args=[amount, ms]))

    async def usage(self, key: str) -> tuple[int, int]:
        p = self.prefix
        spent, reserved = await self._usage(keys=[f"{p}s:{key}", f"{p}r:{key}", f"{p}z:{key}", f"{p}h:{key}"])
        return int(spent), int(reserved)

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
        payload = {
            "p": self.prefix,
            "id": reservation_id,
            "ttl": float(ttl),
            "grace": RECORD_GRACE,
            "idle": BUCKET_IDLE_MS,
            "b": [(b.key, float(b.capacity), float(b.refill_per_second), float(b.amount)) for b in buckets],
            "l": [(x.key, str(x.amount), str(x.limit), str(_ms(x.ttl))) for x in limited],
            "c": [(c.key, str(c.limit), str(c.amount)) for c in claims],
            "f": [(w.key, w.field, w.value, str(_ms(w.ttl))) for w in fields],
        }
        result = await self._run(self._admit, [], [orjson.dumps(payload)], reservation_id)
        kind = int(result[0])
        if kind == 0:
            return Admission(counts=tuple(int(v) for v in result[1:]))
        index = int(result[1]) - 1
        if kind == 1:
            return Admission(bucket=index, wait=float(result[2]))
        if kind == 2:
            return Admission(limited=index, count=int(result[2]))
        claim = claims[index]
        return Admission(
            refusal=Refusal(claim.key, claim.limit, int(result[2]), int(result[3]), claim.amount)
        )

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
        payload = {
            "p": self.prefix,
            "id": reservation_id,
            "actual": str(int(actual)),
            "idle": BUCKET_IDLE_MS,
            "b": [(b.key, float(b.capacity), float(b.refill_per_second), float(b.amount)) for b in charges],
            "d": [(key, str(amount)) for key, amount in decrements],
            "a": [(key, str(amount)) for key, amount in add_spent],
        }
        result = await self._finish_all(args=[orjson.dumps(payload)])
        return {result[i]: int(result[i + 1]) for i in range(0, len(result), 2)}

    async def _run(self, script: Any, keys: list[str], args: list[Any], reservation_id: str) -> Any:
        """Run a reserving script, turning its "already used" error into ``ValueError``."""
        try:
            return await script(keys=keys, args=args)
        except ResponseError as exc:
            if "reservation id already used" in str(exc):
                raise ValueError(f"reservation id already used: {reservation_id!r}") from None
            raise

    # -- token buckets -----------------------------------------------------------------------------

    async def take(self, key: str, capacity: float, refill_per_second: float, amount: float) -> float:
        return await self._run_bucket(key, capacity, refill_per_second, amount, "1")

    async def charge(self, key: str, capacity: float, refill_per_second: float, amount: float) -> None:
        await self._run_bucket(key, capacity, refill_per_second, amount, "0")

    async def _run_bucket(self, key: str, capacity: float, rate: float, amount: float, check: str) -> float:
        check_buckets([Bucket(key, capacity, rate, amount)])
        args = [repr(float(capacity)), repr(float(rate)), repr(float(amount)), check, BUCKET_IDLE_MS]
        return float(await self._bucket(keys=[f"{self.prefix}b:{key}"], args=args))

    # -- limited counters and maps -----------------------------------------------------------------

    async def incr_limited(self, key: str, amount: int, limit: int, ttl: float) -> tuple[bool, int]:
        ok, value = await self._incr_limited(keys=[f"{self.prefix}c:{key}"], args=[amount, limit, _ms(ttl)])
        return bool(ok), int(value)

    async def decr(self, key: str, amount: int) -> None:
        await self._decr(keys=[f"{self.prefix}c:{key}"], args=[amount])

    async def get_field(self, key: str, field: str) -> str | None:
        return await self._redis.hget(f"{self.prefix}m:{key}", field)

    async def set_field(self, key: str, field: str, value: str, ttl: float) -> None:
        await self._set_field(keys=[f"{self.prefix}m:{key}"], args=[field, value, _ms(ttl)])

    async def aclose(self) -> None:
        await self._redis.aclose()
