"""``admit`` and ``finish``: everything a request needs in one atomic step before its call and one after."""

from __future__ import annotations

import math

import pytest

from aifinops.gateway.counters import (
    NANO,
    Admission,
    Bucket,
    Claim,
    Counters,
    Limited,
    MapWrite,
    RedisCounters,
    Refusal,
)

from .conftest import delete_prefix, unique_prefix
from .timing import check_wait, timed

pytestmark = pytest.mark.anyio

LIMIT = 100 * NANO
SLOW = 1e-6  # refill per second: buckets that do not refill during a test


async def count(counters: Counters, key: str) -> int:
    """A limited counter's current value, read by adding nothing."""
    ok, value = await counters.incr_limited(key, 0, 2**52, ttl=60)
    assert ok
    return value


async def bucket_full(counters: Counters, key: str, capacity: float) -> bool:
    """Whether the bucket still holds ``capacity`` tokens (takes them if so, so call it last)."""
    return await counters.take(key, capacity, SLOW, capacity) == 0.0


async def test_admit_applies_every_kind_when_all_pass(counters: Counters) -> None:
    await counters.incr_limited("day", 2, 10, ttl=60)
    admission = await counters.admit(
        "r",
        [Claim("budget", LIMIT, 30 * NANO), Claim("agent", LIMIT, 30 * NANO)],
        [Bucket("rpm", 5, SLOW, 1), Bucket("tpm", 100, SLOW, 60)],
        [Limited("day", 3, 10, 60), Limited("calls", 1, 5, 60)],
        ttl=30,
    )
    assert admission == Admission(counts=(5, 1))
    assert admission.admitted
    assert await counters.usage("budget") == (0, 30 * NANO)
    assert await counters.usage("agent") == (0, 30 * NANO)
    assert await count(counters, "day") == 5 and await count(counters, "calls") == 1
    assert await counters.take("tpm", 100, SLOW, 41) > 0  # 40 left
    assert await counters.take("rpm", 5, SLOW, 4) == 0.0  # 4 left


async def test_a_refusing_bucket_applies_nothing_and_says_which_and_how_long(counters: Counters) -> None:
    assert await counters.take("tpm", 10, 5, 10) == 0.0
    _, origin = await timed(counters.take("tpm", 10, 5, 0))
    admission, at = await timed(
        counters.admit(
            "r",
            [Claim("budget", LIMIT, NANO)],
            [Bucket("rpm", 5, SLOW, 1), Bucket("tpm", 10, 5, 2)],
            [Limited("day", 1, 10, 60)],
            ttl=30,
        )
    )
    assert not admission.admitted
    assert (admission.bucket, admission.limited, admission.refusal) == (1, None, None)
    check_wait(admission.wait, 0.4, origin, at)
    assert await counters.usage("budget") == (0, 0)
    assert await count(counters, "day") == 0
    assert await bucket_full(counters, "rpm", 5)
    # The id was not held: the same id is admitted once the bucket refills.
    admission = await counters.admit("r", [Claim("budget", LIMIT, NANO)], [], [], ttl=30)
    assert admission.admitted and await counters.usage("budget") == (0, NANO)


async def test_more_than_capacity_is_refused_with_an_infinite_wait(counters: Counters) -> None:
    admission = await counters.admit("r", [], [Bucket("a", 5, 1, 1), Bucket("b", 5, 1, 6)], [], ttl=30)
    assert (admission.bucket, admission.wait) == (1, math.inf)
    assert await bucket_full(counters, "a", 5)


async def test_a_refusing_limited_counter_applies_nothing_and_reports_its_count(counters: Counters) -> None:
    await counters.incr_limited("calls", 4, 5, ttl=60)
    admission = await counters.admit(
        "r",
        [Claim("budget", LIMIT, NANO)],
        [Bucket("rpm", 3, SLOW, 1)],
        [Limited("same", 1, 2, 60), Limited("calls", 2, 5, 60)],
        ttl=30,
    )
    assert admission == Admission(limited=1, count=4)
    assert await count(counters, "same") == 0 and await count(counters, "calls") == 4
    assert await counters.usage("budget") == (0, 0)
    assert await bucket_full(counters, "rpm", 3)


async def test_a_refusing_claim_applies_nothing_and_reports_like_reserve(counters: Counters) -> None:
    await counters.ensure_spent("b", 70 * NANO)
    assert await counters.reserve("r0", [Claim("b", LIMIT, 20 * NANO)], ttl=30) is None
    claims = [Claim("a", LIMIT, 15 * NANO), Claim("b", LIMIT, 15 * NANO)]
    admission = await counters.admit(
        "r1", claims, [Bucket("rpm", 2, SLOW, 1)], [Limited("day", 1, 5, 60)], ttl=30
    )
    assert admission == Admission(refusal=Refusal("b", LIMIT, 70 * NANO, 20 * NANO, 15 * NANO))
    assert admission.refusal == await counters.reserve("r2", claims, ttl=30)
    assert await counters.usage("a") == (0, 0)
    assert await count(counters, "day") == 0
    assert await bucket_full(counters, "rpm", 2)


async def test_checks_run_buckets_then_limited_then_claims(counters: Counters) -> None:
    await counters.incr_limited("full", 1, 1, ttl=60)
    await counters.ensure_spent("spent", LIMIT)
    assert await counters.take("empty", 1, SLOW, 1) == 0.0
    claims = [Claim("spent", LIMIT, 1)]
    every = await counters.admit("r", claims, [Bucket("empty", 1, SLOW, 1)], [Limited("full", 1, 1, 60)], 30)
    assert every.bucket == 0 and every.limited is None and every.refusal is None
    two = await counters.admit("r", claims, [], [Limited("full", 1, 1, 60)], ttl=30)
    assert two.limited == 0 and two.count == 1 and two.refusal is None
    one = await counters.admit("r", claims, [], [], ttl=30)
    assert one.refusal is not None and one.refusal.key == "spent"


async def test_repeated_keys_add_up_as_successive_calls_would(counters: Counters) -> None:
    refused = await counters.admit(
        "r", [], [Bucket("b", 5, SLOW, 3), Bucket("b", 5, SLOW, 3)], [Limited("c", 1, 9, 60)], ttl=30
    )
    assert refused.bucket == 1
    refused = await counters.admit("r", [], [], [Limited("c", 2, 3, 60), Limited("c", 2, 3, 60)], ttl=30)
    assert refused == Admission(limited=1, count=2)  # the first one's increment counts, then undone
    admitted = await counters.admit(
        "r", [], [Bucket("b", 5, SLOW, 2), Bucket("b", 5, SLOW, 3)], [Limited("c", 1, 3, 60)] * 3, 30
    )
    assert admitted.counts == (1, 2, 3)
    assert await counters.take("b", 5, SLOW, 0.5) > 0 and await count(counters, "c") == 3


async def test_a_held_id_is_a_retry_and_a_finished_one_cannot_be_reused(counters: Counters) -> None:
    args = ([Claim("k", LIMIT, 60 * NANO)], [Bucket("b", 3, SLOW, 2)], [Limited("c", 1, 5, 60)])
    assert (await counters.admit("r", *args, ttl=30)).counts == (1,)
    retry = await counters.admit("r", *args, ttl=30)
    assert retry == Admission(counts=(1,))  # admitted, nothing applied twice
    assert await counters.usage("k") == (0, 60 * NANO)
    assert await counters.take("b", 3, SLOW, 1.5) > 0  # still only 1 token left
    assert await counters.reserve("r", args[0], ttl=30) is None  # reserve sees the same hold
    await counters.finish("r", 1, [], [], [])
    with pytest.raises(ValueError, match="already used"):
        await counters.admit("r", *args, ttl=30)
    assert await counters.usage("k") == (1, 0) and await count(counters, "c") == 1


async def test_without_claims_nothing_is_recorded_under_the_id(counters: Counters) -> None:
    assert (await counters.admit("r", [], [], [Limited("c", 1, 5, 60)], ttl=30)).counts == (1,)
    assert (await counters.admit("r", [], [], [Limited("c", 1, 5, 60)], ttl=30)).counts == (2,)
    assert await counters.finish("r", 5, [], [], []) == {}  # nothing to settle
    assert await counters.admit("r", [Claim("k", LIMIT, 1)], [], [], ttl=30) == Admission()


async def test_map_writes_happen_whatever_the_outcome(counters: Counters) -> None:
    write = MapWrite("depth", "span-1", "2", 30)
    refused = await counters.admit("r", [], [Bucket("b", 1, 1, 2)], [], ttl=30, fields=[write])
    assert not refused.admitted
    assert await counters.get_field("depth", "span-1") == "2"
    admitted = await counters.admit("s", [], [], [], ttl=30, fields=[MapWrite("depth", "span-2", "3", 30)])
    assert admitted.admitted and await counters.get_field("depth", "span-2") == "3"


@pytest.mark.parametrize(
    ("claims", "buckets", "limited", "ttl"),
    [
        ([Claim("k", LIMIT, -1)], [], [], 30),
        ([], [Bucket("b", 0, 1, 1)], [], 30),
        ([], [Bucket("b", 1, 0, 1)], [], 30),
        ([], [], [Limited("c", 1, 5, 0)], 30),
        ([], [], [], 0),
    ],
)
async def test_invalid_admissions_are_rejected_before_anything_applies(
    counters: Counters, claims: list[Claim], buckets: list[Bucket], limited: list[Limited], ttl: float
) -> None:
    with pytest.raises(ValueError):
        await counters.admit(
            "r", [Claim("ok", LIMIT, 1), *claims], buckets, [Limited("ok", 1, 5, 60), *limited], ttl
        )
    assert await counters.usage("ok") == (0, 0)
    assert await count(counters, "ok") == 0
    with pytest.raises(ValueError):
        await counters.finish(None, -1, [], [], [])


async def test_finish_settles_trues_up_and_returns_every_touched_spent(counters: Counters) -> None:
    await counters.ensure_spent("month", 10 * NANO, ttl=60)
    await counters.ensure_spent("soft", 7, ttl=60)
    claims = [Claim("month", LIMIT, 20 * NANO), Claim("agent", LIMIT, 20 * NANO)]
    buckets = [Bucket("tpm", 100, SLOW, 50)]
    assert (await counters.admit("r", claims, buckets, [Limited("tpd", 50, 1000, 60)], ttl=30)).admitted
    spent = await counters.finish(
        "r", 3 * NANO, [Bucket("tpm", 100, SLOW, -30)], [("tpd", 30)], [("soft", 3 * NANO)]
    )
    assert spent == {"month": 13 * NANO, "agent": 3 * NANO, "soft": 3 * NANO + 7}
    assert await counters.usage("month") == (13 * NANO, 0)
    assert await counters.usage("agent") == (3 * NANO, 0)
    assert await counters.usage("soft") == (3 * NANO + 7, 0)
    assert await count(counters, "tpd") == 20
    assert await counters.take("tpm", 100, SLOW, 80) == 0.0  # 50 taken, 30 given back
    # Only the first finish settles; later ones still apply their own true-ups.
    assert await counters.finish("r", 3 * NANO, [], [("tpd", 5)], [("soft", 1)]) == {"soft": 3 * NANO + 8}
    assert await counters.usage("month") == (13 * NANO, 0) and await count(counters, "tpd") == 15


async def test_a_positive_charge_delays_the_next_admission(counters: Counters) -> None:
    admitted, origin = await timed(counters.admit("r", [], [Bucket("tpm", 10, 5, 4)], [], ttl=30))
    assert admitted.admitted
    await counters.finish(None, 0, [Bucket("tpm", 10, 5, 8)], [], [])  # 6 - 8 = -2 tokens
    admission, at = await timed(counters.admit("s", [], [Bucket("tpm", 10, 5, 1)], [], ttl=30))
    assert admission.bucket == 0
    check_wait(admission.wait, 0.6, origin, at)


async def test_release_through_finish_restores_everything(counters: Counters) -> None:
    await counters.ensure_spent("month", 10 * NANO, ttl=60)
    await counters.incr_limited("rpd", 3, 100, ttl=60)
    claims = [Claim("month", LIMIT, 90 * NANO)]
    buckets = [Bucket("rpm", 2, SLOW, 1), Bucket("tpm", 50, SLOW, 50)]
    limited = [Limited("rpd", 1, 100, 60), Limited("tpd", 50, 100, 60)]
    assert (await counters.admit("r", claims, buckets, limited, ttl=30)).admitted
    assert not (await counters.admit("s", claims, buckets, limited, ttl=30)).admitted
    refunds = [Bucket(b.key, b.capacity, b.refill_per_second, -b.amount) for b in buckets]
    released = await counters.finish("r", 0, refunds, [(item.key, item.amount) for item in limited], [])
    assert released == {"month": 10 * NANO}  # nothing spent
    assert await counters.usage("month") == (10 * NANO, 0)
    assert await count(counters, "rpd") == 3 and await count(counters, "tpd") == 0
    assert (await counters.admit("s", claims, buckets, limited, ttl=30)).counts == (4, 50)
    await counters.finish("r", 5 * NANO, [], [], [])  # a settle after the release spends nothing
    assert await counters.usage("month") == (10 * NANO, 90 * NANO)


async def test_redis_keys_of_admit_and_finish_stay_under_the_prefix_and_expire(redis_url: str) -> None:
    counters = RedisCounters(redis_url, prefix=unique_prefix())
    try:
        await counters.ensure_spent("soft", 0, ttl=60)  # as the guard does: a period's spent expires
        await counters.ensure_spent("hard", 0, ttl=60)
        fields = [MapWrite("depth", "span", "1", 30)]
        claims = [Claim("hard", LIMIT, 5)]
        assert (
            await counters.admit(
                "r", claims, [Bucket("tpm", 9, 1, 3)], [Limited("rpd", 1, 5, 60)], ttl=30, fields=fields
            )
        ).admitted
        await counters.finish("r", 2, [Bucket("tpm", 9, 1, 1)], [("rpd", 1)], [("soft", 2)])
        found = [k async for k in counters.redis.scan_iter(match=f"{counters.prefix}*", count=1000)]
        kinds = {k[len(counters.prefix) :].split(":", 1)[0] for k in found}
        assert kinds == {"s", "r", "res", "b", "c", "m"}  # the hold's z and h went with the settle
        ttls = {k: await counters.redis.pttl(k) for k in found}
        assert all(ttl > 0 for ttl in ttls.values()), {k: t for k, t in ttls.items() if t <= 0}
    finally:
        await delete_prefix(counters)
        await counters.aclose()
