"""Token buckets, limited counters, small maps, and Redis key hygiene."""

from __future__ import annotations

import asyncio
import math

import pytest

from aifinops.gateway.counters import Claim, Counters, RedisCounters

from .conftest import delete_prefix, unique_prefix
from .timing import check_wait, surely_after, surely_before, timed

pytestmark = pytest.mark.anyio


async def test_a_new_bucket_starts_full_then_refuses_with_the_wait(counters: Counters) -> None:
    taken, origin = await timed(counters.take("b", 3, 10, 3))
    assert taken == 0.0
    wait, at = await timed(counters.take("b", 3, 10, 1))
    assert wait > 0
    check_wait(wait, 0.1, origin, at)  # one token at 10/s, less the time since the bucket was emptied
    again, at = await timed(counters.take("b", 3, 10, 1))
    check_wait(again, 0.1, origin, at)  # a refusal took nothing
    await asyncio.sleep(wait + 0.01)
    assert await counters.take("b", 3, 10, 1) == 0.0
    wait, at = await timed(counters.take("b", 3, 10, 1))
    check_wait(wait, 0.2, origin, at)  # the second token since the bucket was emptied


async def test_the_wait_estimate_is_right(counters: Counters) -> None:
    taken, origin = await timed(counters.take("b", 4, 5, 4))
    assert taken == 0.0
    wait, at = await timed(counters.take("b", 4, 5, 2))
    check_wait(wait, 0.4, origin, at)
    await asyncio.sleep(wait * 0.5)
    half, at = await timed(counters.take("b", 4, 5, 2))
    check_wait(half, 0.4, origin, at)
    await asyncio.sleep(half + 0.01)
    assert await counters.take("b", 4, 5, 2) == 0.0


async def test_refill_is_capped_at_capacity(counters: Counters) -> None:
    assert await counters.take("b", 2, 20, 2) == 0.0
    await asyncio.sleep(0.3)  # 6 tokens' worth of refill, but the bucket holds 2
    taken, origin = await timed(counters.take("b", 2, 20, 2))
    assert taken == 0.0
    wait, at = await timed(counters.take("b", 2, 20, 1))
    check_wait(wait, 0.05, origin, at)


async def test_charge_goes_negative_and_delays_the_next_take(counters: Counters) -> None:
    _, origin = await timed(counters.charge("b", 2, 10, 5))  # 2 - 5 = -3 tokens
    wait, at = await timed(counters.take("b", 2, 10, 1))
    assert wait > 0
    check_wait(wait, 0.4, origin, at)
    await counters.charge("b", 2, 10, 1)
    wait, at = await timed(counters.take("b", 2, 10, 1))
    check_wait(wait, 0.5, origin, at)


async def test_a_negative_charge_gives_tokens_back_up_to_capacity(counters: Counters) -> None:
    assert await counters.take("b", 4, 0.01, 3) == 0.0
    await counters.charge("b", 4, 0.01, -2)
    assert await counters.take("b", 4, 0.01, 3) == 0.0
    await counters.charge("b", 4, 0.01, -100)
    assert await counters.take("b", 4, 0.01, 4) == 0.0
    assert await counters.take("b", 4, 0.01, 1) > 90  # the refund stopped at capacity


async def test_more_than_capacity_never_fits(counters: Counters) -> None:
    assert await counters.take("b", 2, 10, 3) == math.inf
    assert await counters.take("b", 2, 10, 2) == 0.0  # and took nothing
    with pytest.raises(ValueError):
        await counters.take("b", 2, 0, 1)


async def test_buckets_are_independent(counters: Counters) -> None:
    assert await counters.take("x", 1, 1, 1) == 0.0
    assert await counters.take("x", 1, 1, 1) > 0
    assert await counters.take("y", 1, 1, 1) == 0.0


async def test_incr_limited_boundaries(counters: Counters) -> None:
    assert await counters.incr_limited("c", 1, 3, ttl=30) == (True, 1)
    assert await counters.incr_limited("c", 2, 3, ttl=30) == (True, 3)
    assert await counters.incr_limited("c", 1, 3, ttl=30) == (False, 3)
    assert await counters.incr_limited("c", 0, 3, ttl=30) == (True, 3)
    await counters.decr("c", 2)
    assert await counters.incr_limited("c", 3, 3, ttl=30) == (False, 1)
    assert await counters.incr_limited("c", 2, 3, ttl=30) == (True, 3)
    assert await counters.incr_limited("other", 4, 3, ttl=30) == (False, 0)
    assert await counters.incr_limited("other", 3, 3, ttl=30) == (True, 3)


async def test_decr_of_a_missing_key_does_nothing(counters: Counters) -> None:
    await counters.decr("c", 5)
    assert await counters.incr_limited("c", 1, 1, ttl=30) == (True, 1)


async def test_incr_limited_expires_ttl_after_creation(counters: Counters) -> None:
    first, created = await timed(counters.incr_limited("c", 1, 5, ttl=0.3))
    assert first == (True, 1)
    await asyncio.sleep(0.15)
    second = await counters.incr_limited("c", 1, 5, ttl=0.3)
    if surely_before(created, 0.3):
        assert second == (True, 2)
    await asyncio.sleep(0.2)  # past the creation's ttl, not past a ttl renewed by the second write
    third, at = await timed(counters.incr_limited("c", 1, 5, ttl=0.3))
    if second == (True, 2) and surely_after(created, at, 0.3):
        assert third == (True, 1)


async def test_maps(counters: Counters) -> None:
    assert await counters.get_field("m", "a") is None
    _, first = await timed(counters.set_field("m", "a", "1", ttl=0.3))
    await counters.set_field("m", "b", "2", ttl=0.3)
    _, other = await timed(counters.set_field("n", "a", "3", ttl=0.3))
    got = (
        await counters.get_field("m", "a"),
        await counters.get_field("m", "b"),
        await counters.get_field("n", "a"),
    )
    missing = await counters.get_field("m", "c")
    if surely_before(first, 0.3):
        assert got == ("1", "2", "3")
        assert missing is None
    await asyncio.sleep(0.15)
    _, last = await timed(
        counters.set_field("m", "b", "22", ttl=0.3)
    )  # the map lives 0.3 s after its last write
    await asyncio.sleep(0.2)
    got = (await counters.get_field("m", "a"), await counters.get_field("m", "b"))
    if surely_before(last, 0.3):
        assert got == ("1", "22")
    gone, at = await timed(counters.get_field("n", "a"))
    assert surely_after(other, at, 0.3) and gone is None
    await asyncio.sleep(0.15)
    gone, at = await timed(counters.get_field("m", "a"))
    assert surely_after(last, at, 0.3) and gone is None


async def test_redis_keys_stay_under_the_prefix_and_expire(redis_url: str) -> None:
    counters = RedisCounters(redis_url, prefix=unique_prefix())
    try:
        await _exercise_every_primitive(counters)
    finally:
        await delete_prefix(counters)
        await counters.aclose()


async def _exercise_every_primitive(counters: RedisCounters) -> None:
    tag = counters.prefix.split(":")[-2]  # unique to this test
    key = f"budget:{tag}"
    await counters.ensure_spent(key, 5, ttl=60)
    await counters.add_spent(key, 1, ttl=60)
    assert await counters.reserve(f"req-{tag}", [Claim(key, 100, 10)], ttl=30) is None
    assert await counters.reserve(f"crash-{tag}", [Claim(key, 100, 10)], ttl=30) is None
    await counters.settle(f"req-{tag}", 3)
    await counters.take(f"rate:{tag}", 5, 1, 1)
    await counters.charge(f"tokens:{tag}", 5, 1, 10)
    await counters.incr_limited(f"inflight:{tag}", 1, 5, ttl=30)
    await counters.decr(f"inflight:{tag}", 1)
    await counters.set_field(f"depth:{tag}", "span", "2", ttl=30)
    found = [k async for k in counters.redis.scan_iter(match=f"*{tag}*", count=1000)]
    assert found and all(k.startswith(counters.prefix) for k in found)
    kinds = {k[len(counters.prefix) :].split(":", 1)[0] for k in found}
    assert kinds == {"s", "r", "z", "h", "res", "b", "c", "m"}
    ttls = {k: await counters.redis.pttl(k) for k in found}
    assert all(ttl > 0 for ttl in ttls.values()), ttls
