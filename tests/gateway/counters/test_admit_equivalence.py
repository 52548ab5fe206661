"""``admit``/``finish`` decide and change exactly what the single calls did, and stay exact under concurrency."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import pytest

from aifinops.gateway.counters import Admission, Bucket, Claim, Counters, Limited

pytestmark = pytest.mark.anyio

SLOW = 1e-6  # refill per second: buckets whose state does not move while the test runs


async def count(counters: Counters, key: str) -> int:
    ok, value = await counters.incr_limited(key, 0, 2**52, ttl=60)
    assert ok
    return value


async def old_admit(
    c: Counters, rid: str, claims: list[Claim], buckets: list[Bucket], limited: list[Limited]
) -> tuple[Any, ...]:
    """The admission the guard used to make: one call per check, compensating on a refusal."""
    taken: list[Bucket] = []
    counted: list[Limited] = []

    async def undo() -> None:
        for b in taken:
            await c.charge(b.key, b.capacity, b.refill_per_second, -b.amount)
        for item in counted:
            await c.decr(item.key, item.amount)

    for i, b in enumerate(buckets):
        wait = await c.take(b.key, b.capacity, b.refill_per_second, b.amount)
        if wait > 0:
            await undo()
            return ("bucket", i, wait)
        taken.append(b)
    news = []
    for i, item in enumerate(limited):
        ok, n = await c.incr_limited(item.key, item.amount, item.limit, item.ttl)
        if not ok:
            await undo()
            return ("limited", i, n)
        counted.append(item)
        news.append(n)
    if claims:
        refusal = await c.reserve(rid, claims, ttl=60)
        if refusal is not None:
            await undo()
            return ("claim", refusal)
    return ("ok", tuple(news))


def outcome(a: Admission) -> tuple[Any, ...]:
    if a.bucket is not None:
        return ("bucket", a.bucket, a.wait)
    if a.limited is not None:
        return ("limited", a.limited, a.count)
    if a.refusal is not None:
        return ("claim", a.refusal)
    return ("ok", a.counts)


def same(old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    if old[0] == "bucket" and new[0] == "bucket":  # waits differ by the (negligible) refill in between
        return old[1] == new[1] and old[2] == pytest.approx(new[2], abs=5.0)
    if old[0] == "claim" and new[0] == "claim":  # the same refusal, on the same key under each prefix
        o, n = old[1], new[1]
        return (o.key[2:], o.limit, o.spent, o.reserved, o.amount) == (
            n.key[2:],
            n.limit,
            n.spent,
            n.reserved,
            n.amount,
        )
    return old == new


def make(
    prefix: str,
    buckets: list[tuple[str, int, int]],
    limited: list[tuple[str, int, int]],
    claims: list[tuple[str, int, int]],
) -> tuple[list[Bucket], list[Limited], list[Claim]]:
    """The same checks on keys under ``prefix``: (key, capacity or limit, amount) triples."""
    return (
        [Bucket(prefix + k, cap, SLOW, amount) for k, cap, amount in buckets],
        [Limited(prefix + k, amount, limit, 60) for k, limit, amount in limited],
        [Claim(prefix + k, limit, amount) for k, limit, amount in claims],
    )


async def test_admit_and_finish_match_the_single_calls(counters: Counters) -> None:
    rng = random.Random(20261123)
    kinds: Counter[str] = Counter()
    live: list[tuple[int, list[Bucket], list[Limited], list[Claim]]] = []
    for step in range(150):
        tpm, tpd, cost = rng.randint(1, 60), rng.randint(1, 60), rng.randint(1, 20)
        spec_b = [("rpm", 60, 1), ("tpm", 300, tpm)]
        spec_l = [("day", 15, 1), ("tpd", 400, tpd)]
        spec_c = [("budget", 250, cost), ("agent", 150, cost)]
        picks = [[s for s in spec if rng.random() < 0.7] for spec in (spec_b, spec_l, spec_c)]
        ob, ol, oc = make("o:", *picks)
        nb, nl, nc = make("n:", *picks)
        old = await old_admit(counters, f"o:{step}", oc, ob, ol)
        new = outcome(await counters.admit(f"n:{step}", nc, nb, nl, ttl=60))
        assert old[0] == new[0] and same(old, new), (step, old, new)
        kinds[new[0]] += 1
        if new[0] == "ok":
            live.append((step, nb, nl, nc))
        if live and rng.random() < 0.45:
            done, buckets, limited, claims = live.pop(rng.randrange(len(live)))
            await finish_both(counters, rng, done, buckets, limited, claims)
    assert set(kinds) == {"ok", "bucket", "limited", "claim"} and min(kinds.values()) >= 10, kinds
    for key in ("budget", "agent", "soft"):
        assert await counters.usage(f"o:{key}") == await counters.usage(f"n:{key}")
    for key in ("day", "tpd"):
        assert await count(counters, f"o:{key}") == await count(counters, f"n:{key}")
    for key, cap in (("rpm", 60), ("tpm", 300)):
        old_wait = await counters.take(f"o:{key}", cap, SLOW, cap)
        assert old_wait == pytest.approx(await counters.take(f"n:{key}", cap, SLOW, cap), abs=5.0)


async def finish_both(
    c: Counters,
    rng: random.Random,
    step: int,
    buckets: list[Bucket],
    limited: list[Limited],
    claims: list[Claim],
) -> None:
    """Settle (with true-ups and a soft spend) or release one admitted request both ways; same answers."""
    release = rng.random() < 0.3
    actual = 0 if release else rng.randint(0, 20)
    used = rng.randint(0, 30)
    if release:
        charges = [(b.key[2:], b.capacity, -b.amount) for b in buckets]
        decrements = [(item.key[2:], item.amount) for item in limited]
        soft: list[tuple[str, int]] = []
    else:
        charges = [(b.key[2:], b.capacity, used - b.amount) for b in buckets if b.key.endswith("tpm")]
        decrements = [
            (item.key[2:], item.amount - used)
            for item in limited
            if item.key.endswith("tpd") and item.amount > used
        ]
        soft = [("soft", actual)]
    # the single calls
    if claims:
        await (c.release(f"o:{step}") if release else c.settle(f"o:{step}", actual))
    for key, cap, amount in charges:
        await c.charge(f"o:{key}", cap, SLOW, amount)
    for key, amount in decrements:
        await c.decr(f"o:{key}", amount)
    old: dict[str, int] = {claim.key[2:]: (await c.usage(f"o:{claim.key[2:]}"))[0] for claim in claims}
    for key, amount in soft:
        old[key] = await c.add_spent(f"o:{key}", amount)
    # one call
    spent = await c.finish(
        f"n:{step}" if claims else None,
        actual,
        [Bucket(f"n:{key}", cap, SLOW, amount) for key, cap, amount in charges],
        [(f"n:{key}", amount) for key, amount in decrements],
        [(f"n:{key}", amount) for key, amount in soft],
    )
    assert {k[2:]: v for k, v in spent.items()} == old


async def test_concurrent_admissions_against_one_budget_admit_exactly_n(counters: Counters) -> None:
    amount, n = 3_000_000, 137
    claims = [Claim("shared", n * amount, amount)]
    buckets = [Bucket("rpm", 10_000, SLOW, 1)]
    limited = [Limited("calls", 1, 10_000, 60)]
    admissions = await asyncio.gather(
        *(counters.admit(f"r{i}", claims, buckets, limited, ttl=60) for i in range(1000))
    )
    admitted = [i for i, a in enumerate(admissions) if a.admitted]
    assert len(admitted) == n
    assert sorted(admissions[i].counts[0] for i in admitted) == list(range(1, n + 1))
    assert all(a.refusal is not None and a.refusal.key == "shared" for a in admissions if not a.admitted)
    assert await counters.usage("shared") == (0, n * amount)
    assert await count(counters, "calls") == n
    assert await counters.take("rpm", 10_000, SLOW, 10_000 - n) == 0.0  # exactly n tokens were taken
    assert await counters.take("rpm", 10_000, SLOW, 1) > 0


async def test_concurrent_admissions_bound_by_a_counter_then_released_restore_everything(
    counters: Counters,
) -> None:
    claims = [Claim("budget", 10**12, 1_000)]
    buckets = [Bucket("tpm", 1e6, SLOW, 10)]
    limited = [Limited("calls", 1, 137, 60)]
    admissions = await asyncio.gather(
        *(counters.admit(f"r{i}", claims, buckets, limited, ttl=60) for i in range(1000))
    )
    admitted = [i for i, a in enumerate(admissions) if a.admitted]
    assert len(admitted) == 137
    assert all(a == Admission(limited=0, count=137) for a in admissions if not a.admitted)
    assert await counters.usage("budget") == (0, 137 * 1_000)
    refunds = [Bucket("tpm", 1e6, SLOW, -10)]
    released = await asyncio.gather(
        *(counters.finish(f"r{i}", 0, refunds, [("calls", 1)], []) for i in admitted)
    )
    assert all(r == {"budget": 0} for r in released)
    assert await counters.usage("budget") == (0, 0)
    assert await count(counters, "calls") == 0
    assert await counters.take("tpm", 1e6, SLOW, 1e6) == 0.0
