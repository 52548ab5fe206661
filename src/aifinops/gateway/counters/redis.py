"""Counters shared by a fleet of gateway processes, in Redis.

Every check-and-update is one Lua script (loaded once, then called by SHA: one round trip), so any number
of processes share one budget exactly. Expiry uses the Redis server's clock (``TIME``), never a gateway
host's. Keys, all under ``prefix``::

    s:{key}    spent nano-dollars (string int)          r:{key}   reserved nano-dollars (string int)
    z:{key}    ZSET reservation id -> expiry (seconds)  h:{key}   HASH reservation id -> amount held
    res:{id}   HASH "k:{key}" -> amount, "done" once settled or released (ttl + RECORD_GRACE)
    b:{key}    token bucket HASH t (tokens), ts         c:{key}   limited counter
    m:{key}    small map

The scripts read a reservation's keys from its record, so they need one Redis (not a Cluster).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import ResponseError

from aifinops.gateway.counters.base import RECORD_GRACE, Claim, Refusal, check_claims

__all__ = ["RedisCounters"]

BUCKET_IDLE_MS = 180_000  # a bucket lives this long after it is full again (then it equals a new one)

_PRELUDE = """
local function now_s()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function purge(r, z, h, now)
  local ids = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  local n = #ids
  if n == 0 then return end
  local total = 0
  for i = 1, n, 500 do
    local chunk = {unpack(ids, i, math.min(i + 499, n))}
    local amounts = redis.call('HMGET', h, unpack(chunk))
    for _, a in ipairs(amounts) do
      if a then total = total + tonumber(a) end
    end
    redis.call('HDEL', h, unpack(chunk))
  end
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
  if total ~= 0 then redis.call('DECRBY', r, total) end
end
local function keep(k, ms)
  if redis.call('PTTL', k) < ms then redis.call('PEXPIRE', k, ms) end
end
"""

# KEYS: res, then s, r, z, h per claim. ARGV: ttl, grace, id, then key, limit, amount per claim.
_RESERVE = (
    _PRELUDE
    + """
local rec, id = KEYS[1], ARGV[3]
if redis.call('EXISTS', rec) == 1 then
  if redis.call('HEXISTS', rec, 'done') == 1 then
    return redis.error_reply('reservation id already used: ' .. id)
  end
  return 0
end
local now, ttl = now_s(), tonumber(ARGV[1])
local n = (#ARGV - 3) / 3
local pending = {}
for i = 1, n do
  local b, a = 2 + 4 * (i - 1), 4 + 3 * (i - 1)
  purge(KEYS[b + 1], KEYS[b + 2], KEYS[b + 3], now)
  local spent = redis.call('GET', KEYS[b]) or '0'
  local reserved = redis.call('GET', KEYS[b + 1]) or '0'
  local total = (pending[ARGV[a]] or 0) + tonumber(ARGV[a + 2])
  if tonumber(spent) + tonumber(reserved) + total > tonumber(ARGV[a + 1]) then
    return {i, spent, reserved}
  end
  pending[ARGV[a]] = total
end
local expiry = now + ttl
local ms = math.ceil((ttl + tonumber(ARGV[2])) * 1000)
for i = 1, n do
  local b, a = 2 + 4 * (i - 1), 4 + 3 * (i - 1)
  redis.call('INCRBY', KEYS[b + 1], ARGV[a + 2])
  redis.call('ZADD', KEYS[b + 2], expiry, id)
  redis.call('HINCRBY', KEYS[b + 3], id, ARGV[a + 2])
  redis.call('HINCRBY', rec, 'k:' .. ARGV[a], ARGV[a + 2])
  keep(KEYS[b + 1], ms)
  keep(KEYS[b + 2], ms)
  keep(KEYS[b + 3], ms)
end
if n == 0 then redis.call('HSET', rec, 'empty', '1') end
redis.call('PEXPIRE', rec, ms)
return 0
"""
)

# KEYS: res. ARGV: prefix, id, actual ('' to release).
_FINISH = """
local rec, prefix, id, actual = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', rec) == 0 or redis.call('HSETNX', rec, 'done', '1') == 0 then return 0 end
local fields = redis.call('HKEYS', rec)
for _, f in ipairs(fields) do
  if string.sub(f, 1, 2) == 'k:' then
    local key = string.sub(f, 3)
    local h = prefix .. 'h:' .. key
    local held = redis.call('HGET', h, id)
    if held then
      redis.call('DECRBY', prefix .. 'r:' .. key, held)
      redis.call('HDEL', h, id)
      redis.call('ZREM', prefix .. 'z:' .. key, id)
    end
    if actual ~= '' and actual ~= '0' then redis.call('INCRBY', prefix .. 's:' .. key, actual) end
  end
end
return 1
"""

# KEYS: s, r, z, h.
_USAGE = (
    _PRELUDE
    + """
purge(KEYS[2], KEYS[3], KEYS[4], now_s())
return {redis.call('GET', KEYS[1]) or '0', redis.call('GET', KEYS[2]) or '0'}
"""
)

# KEYS: s. ARGV: amount, ttl ms ('' for none).
_ADD_SPENT = """
redis.call('INCRBY', KEYS[1], ARGV[1])
if ARGV[2] ~= '' and redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('GET', KEYS[1])
"""

# KEYS: s. ARGV: amount, ttl ms ('' for none).
_ENSURE_SPENT = """
local current = redis.call('GET', KEYS[1])
if current then return current end
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return ARGV[1]
"""

# KEYS: b. ARGV: capacity, rate, amount, check ('1' or '0'), idle ms. Returns the wait as a string.
_BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local cap, rate, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = cap
if state[1] then
  tokens = math.min(cap, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate)
end
if ARGV[4] == '1' then
  if amount > cap then return 'inf' end
  if tokens < amount then return string.format('%.17g', (amount - tokens) / rate) end
end
tokens = math.min(cap, tokens - amount)
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'ts', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((cap - tokens) / rate * 1000) + tonumber(ARGV[5]))
return '0'
"""

# KEYS: c. ARGV: amount, limit, ttl ms.
_INCR_LIMITED = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {0, current} end
local new = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {1, new}
"""

# KEYS: c. ARGV: amount.
_DECR = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECRBY', KEYS[1], ARGV[1]) end
return 0
"""

# KEYS: m. ARGV: field, value, ttl ms.
_SET_FIELD = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 0
"""


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
        self._reserve = register(_RESERVE)
        self._finish = register(_FINISH)
        self._usage = register(_USAGE)
        self._add_spent = register(_ADD_SPENT)
        self._ensure_spent = register(_ENSURE_SPENT)
        self._bucket = register(_BUCKET)
        self._incr_limited = register(_INCR_LIMITED)
        self._decr = register(_DECR)
        self._set_field = register(_SET_FIELD)

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
        try:
            result = await self._reserve(keys=keys, args=args)
        except ResponseError as exc:
            if "reservation id already used" in str(exc):
                raise ValueError(f"reservation id already used: {reservation_id!r}") from None
            raise
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

    # -- token buckets -----------------------------------------------------------------------------

    async def take(self, key: str, capacity: float, refill_per_second: float, amount: float) -> float:
        return await self._run_bucket(key, capacity, refill_per_second, amount, "1")

    async def charge(self, key: str, capacity: float, refill_per_second: float, amount: float) -> None:
        await self._run_bucket(key, capacity, refill_per_second, amount, "0")

    async def _run_bucket(self, key: str, capacity: float, rate: float, amount: float, check: str) -> float:
        if not (capacity > 0 and rate > 0):
            raise ValueError(f"bucket capacity and refill rate must be positive: {capacity!r}, {rate!r}")
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
