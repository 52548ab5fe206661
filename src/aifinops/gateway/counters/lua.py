"""The Lua scripts of :class:`~aifinops.gateway.counters.redis.RedisCounters`: each check-and-update is
one script, run atomically by Redis in one round trip. Key layout in the ``redis`` module's docstring."""

from __future__ import annotations

__all__ = [
    "ADD_SPENT",
    "ADMIT",
    "BUCKET",
    "DECR",
    "ENSURE_SPENT",
    "FINISH",
    "FINISH_ALL",
    "INCR_LIMITED",
    "RESERVE",
    "SET_FIELD",
    "USAGE",
]

PRELUDE = """
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
  if redis.call('PTTL', k) < ms then redis.call('PEXPIRE', k, string.format('%d', ms)) end
end
local function tokens_of(k, cap, rate, now)
  local state = redis.call('HMGET', k, 't', 'ts')
  if not state[1] then return cap end
  return math.min(cap, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate)
end
local function store_bucket(k, tokens, cap, rate, now, idle_ms)
  redis.call('HSET', k, 't', string.format('%.17g', tokens), 'ts', string.format('%.17g', now))
  redis.call('PEXPIRE', k, string.format('%d', math.ceil((cap - tokens) / rate * 1000) + idle_ms))
end
"""

# KEYS: res, then s, r, z, h per claim. ARGV: ttl, grace, id, then key, limit, amount per claim.
RESERVE = (
    PRELUDE
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
FINISH = """
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
USAGE = (
    PRELUDE
    + """
purge(KEYS[2], KEYS[3], KEYS[4], now_s())
return {redis.call('GET', KEYS[1]) or '0', redis.call('GET', KEYS[2]) or '0'}
"""
)

# KEYS: s. ARGV: amount, ttl ms ('' for none).
ADD_SPENT = """
redis.call('INCRBY', KEYS[1], ARGV[1])
if ARGV[2] ~= '' and redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('GET', KEYS[1])
"""

# KEYS: s. ARGV: amount, ttl ms ('' for none).
ENSURE_SPENT = """
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
BUCKET = (
    PRELUDE
    + """
local now = now_s()
local cap, rate, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens = tokens_of(KEYS[1], cap, rate, now)
if ARGV[4] == '1' then
  if amount > cap then return 'inf' end
  if tokens < amount then return string.format('%.17g', (amount - tokens) / rate) end
end
store_bucket(KEYS[1], math.min(cap, tokens - amount), cap, rate, now, tonumber(ARGV[5]))
return '0'
"""
)

# KEYS: c. ARGV: amount, limit, ttl ms.
INCR_LIMITED = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {0, current} end
local new = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {1, new}
"""

# KEYS: c. ARGV: amount.
DECR = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECRBY', KEYS[1], ARGV[1]) end
return 0
"""

# KEYS: m. ARGV: field, value, ttl ms.
SET_FIELD = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 0
"""

# ARGV[1]: JSON {p: prefix, id, ttl, grace, idle: bucket idle ms, b: [[key, capacity, rate, amount]],
# l: [[key, amount, limit, ttl ms]], c: [[key, limit, amount]], f: [[key, field, value, ttl ms]]}, with
# the integers that Redis stores (amounts, limits, ms) as decimal strings. Keys are built from the prefix
# (one Redis, as FINISH). Returns {0, count...} (admitted), {1, i, wait} (bucket i), {2, i, current}
# (limited counter i) or {3, i, spent, reserved} (claim i).
ADMIT = (
    PRELUDE
    + """
local a = cjson.decode(ARGV[1])
local p, id = a.p, a.id
local rec = p .. 'res:' .. id
for _, w in ipairs(a.f) do
  redis.call('HSET', p .. 'm:' .. w[1], w[2], w[3])
  redis.call('PEXPIRE', p .. 'm:' .. w[1], w[4])
end
if redis.call('EXISTS', rec) == 1 then
  if redis.call('HEXISTS', rec, 'done') == 1 then
    return redis.error_reply('reservation id already used: ' .. id)
  end
  local counts = {0}
  for i, l in ipairs(a.l) do counts[i + 1] = tonumber(redis.call('GET', p .. 'c:' .. l[1]) or '0') end
  return counts
end
local now = now_s()
local tokens = {}
for i, b in ipairs(a.b) do
  local k, cap, rate, amount = p .. 'b:' .. b[1], b[2], b[3], b[4]
  local have = tokens[k]
  if have == nil then have = tokens_of(k, cap, rate, now) else have = math.min(cap, have) end
  if amount > cap then return {1, i, 'inf'} end
  if have < amount then return {1, i, string.format('%.17g', (amount - have) / rate)} end
  tokens[k] = math.min(cap, have - amount)
end
local values, counts = {}, {0}
for i, l in ipairs(a.l) do
  local k = p .. 'c:' .. l[1]
  local current = values[k] or tonumber(redis.call('GET', k) or '0')
  if current + tonumber(l[2]) > tonumber(l[3]) then return {2, i, current} end
  values[k] = current + tonumber(l[2])
  counts[i + 1] = values[k]
end
local pending = {}
for i, c in ipairs(a.c) do
  local key = c[1]
  purge(p .. 'r:' .. key, p .. 'z:' .. key, p .. 'h:' .. key, now)
  local spent = redis.call('GET', p .. 's:' .. key) or '0'
  local reserved = redis.call('GET', p .. 'r:' .. key) or '0'
  local total = (pending[key] or 0) + tonumber(c[3])
  if tonumber(spent) + tonumber(reserved) + total > tonumber(c[2]) then
    return {3, i, spent, reserved}
  end
  pending[key] = total
end
for _, b in ipairs(a.b) do
  local k = p .. 'b:' .. b[1]
  store_bucket(k, tokens[k], b[2], b[3], now, a.idle)
end
for _, l in ipairs(a.l) do
  local k = p .. 'c:' .. l[1]
  redis.call('INCRBY', k, l[2])
  if redis.call('PTTL', k) == -1 then redis.call('PEXPIRE', k, l[4]) end
end
if #a.c > 0 then
  local expiry = now + a.ttl
  local ms = math.ceil((a.ttl + a.grace) * 1000)
  for _, c in ipairs(a.c) do
    local r, z, h = p .. 'r:' .. c[1], p .. 'z:' .. c[1], p .. 'h:' .. c[1]
    redis.call('INCRBY', r, c[3])
    redis.call('ZADD', z, string.format('%.17g', expiry), id)
    redis.call('HINCRBY', h, id, c[3])
    redis.call('HINCRBY', rec, 'k:' .. c[1], c[3])
    keep(r, ms)
    keep(z, ms)
    keep(h, ms)
  end
  redis.call('PEXPIRE', rec, string.format('%d', ms))
end
return counts
"""
)

# ARGV[1]: JSON {p: prefix, id (or null), actual, idle: bucket idle ms, b: [[key, capacity, rate, amount]],
# d: [[key, amount]], a: [[key, amount]]}, integers as decimal strings. Returns {key, spent, ...}: the
# settled reservation's keys, then the add_spent keys.
FINISH_ALL = (
    PRELUDE
    + """
local a = cjson.decode(ARGV[1])
local p, id, actual = a.p, a.id, a.actual
local out = {}
if type(id) == 'string' then
  local rec = p .. 'res:' .. id
  if redis.call('EXISTS', rec) == 1 and redis.call('HSETNX', rec, 'done', '1') == 1 then
    for _, f in ipairs(redis.call('HKEYS', rec)) do
      if string.sub(f, 1, 2) == 'k:' then
        local key = string.sub(f, 3)
        local h = p .. 'h:' .. key
        local held = redis.call('HGET', h, id)
        if held then
          redis.call('DECRBY', p .. 'r:' .. key, held)
          redis.call('HDEL', h, id)
          redis.call('ZREM', p .. 'z:' .. key, id)
        end
        local spent
        if actual ~= '0' then
          spent = redis.call('INCRBY', p .. 's:' .. key, actual)
        else
          spent = tonumber(redis.call('GET', p .. 's:' .. key) or '0')
        end
        out[#out + 1] = key
        out[#out + 1] = spent
      end
    end
  end
end
if #a.b > 0 then
  local now = now_s()
  for _, b in ipairs(a.b) do
    local k, cap, rate = p .. 'b:' .. b[1], b[2], b[3]
    store_bucket(k, math.min(cap, tokens_of(k, cap, rate, now) - b[4]), cap, rate, now, a.idle)
  end
end
for _, d in ipairs(a.d) do
  local k = p .. 'c:' .. d[1]
  if redis.call('EXISTS', k) == 1 then redis.call('DECRBY', k, d[2]) end
end
for _, s in ipairs(a.a) do
  out[#out + 1] = s[1]
  out[#out + 1] = redis.call('INCRBY', p .. 's:' .. s[1], s[2])
end
return out
"""
)
