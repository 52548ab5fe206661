"""Many concurrent reservations against one limit: never more than the limit, and exactly N of N-fitting."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from aifinops.gateway.counters import NANO, Claim, Counters, MemoryCounters, RedisCounters, Refusal

from .conftest import delete_prefix, unique_prefix
from .timing import timed

pytestmark = pytest.mark.anyio

WORKER = Path(__file__).with_name("_worker.py")


async def test_equal_amounts_admit_exactly_n(counters: Counters) -> None:
    amount, n = 3 * NANO // 1000, 137
    limit = n * amount
    claim = Claim("shared", limit, amount)
    results = await asyncio.gather(*(counters.reserve(f"r{i}", [claim], ttl=60) for i in range(1000)))
    admitted = [i for i, r in enumerate(results) if r is None]
    assert len(admitted) == n
    assert await counters.usage("shared") == (0, limit)
    refusals = [r for r in results if r is not None]
    assert all(r.spent + r.reserved + r.amount > r.limit for r in refusals)
    # Settling every admitted one at half the amount frees exactly the other half for new reservations.
    await asyncio.gather(*(counters.settle(f"r{i}", amount // 2) for i in admitted))
    spent = n * (amount // 2)
    assert await counters.usage("shared") == (spent, 0)
    more = await asyncio.gather(*(counters.reserve(f"m{i}", [claim], ttl=60) for i in range(1000)))
    assert sum(r is None for r in more) == (limit - spent) // amount


async def test_random_amounts_never_exceed_the_limit(counters: Counters) -> None:
    rng = random.Random(20261122)
    amounts = [rng.randint(1, 5_000_000) for _ in range(1000)]
    limit = sum(amounts) // 3
    results = await asyncio.gather(
        *(counters.reserve(f"r{i}", [Claim("k", limit, a)], ttl=60) for i, a in enumerate(amounts))
    )
    admitted = sum(a for a, r in zip(amounts, results, strict=True) if r is None)
    assert 0 < admitted <= limit
    spent, reserved = await counters.usage("k")
    assert (spent, reserved) == (0, admitted)
    # Nothing was settled or released during the run, so the reserved total only grew: a refused claim
    # did not fit when it was refused, hence does not fit the final total either.
    for amount, result in zip(amounts, results, strict=True):
        if isinstance(result, Refusal):
            assert result.reserved <= reserved
            assert amount > limit - reserved
            assert result.spent + result.reserved + amount > limit


@pytest.mark.parametrize("mode", ["reserve", "admit"])
def test_two_processes_share_one_budget_exactly(redis_url: str, mode: str) -> None:
    prefix, amount, n = unique_prefix(), 1_000, 700  # more than either process's 500 can take alone
    args = [redis_url, prefix, "shared", str(n * amount), str(amount), "500", mode]
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=30)[0] for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0]
        admitted = [int(out.strip()) for out in outputs]
        assert sum(admitted) == n
        usage, calls = asyncio.run(_usage_and_cleanup(redis_url, prefix))
        assert usage == (0, n * amount)
        assert calls == (n if mode == "admit" else 0)  # a refused admission counted no call
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


async def _usage_and_cleanup(url: str, prefix: str) -> tuple[tuple[int, int], int]:
    counters = RedisCounters(url, prefix=prefix)
    try:
        _, calls = await counters.incr_limited("shared:calls", 0, 10**9, ttl=60)
        return await counters.usage("shared"), calls
    finally:
        await delete_prefix(counters)
        await counters.aclose()


async def test_many_expired_holds_are_purged_at_once(counters: Counters) -> None:
    claim = Claim("k", 1_200, 1)
    results, origin = await timed(
        asyncio.gather(*(counters.reserve(f"r{i}", [claim], ttl=0.3) for i in range(1_200)))
    )
    assert all(r is None for r in results)
    await asyncio.sleep(max(0.0, 0.3 - (time.monotonic() - origin.end)) + 0.05)
    assert await counters.reserve("all", [Claim("k", 1_200, 1_200)], ttl=30) is None
    assert await counters.usage("k") == (0, 1_200)


def test_memory_counters_are_exact_across_threads() -> None:
    counters = MemoryCounters()
    claim = Claim("k", 137, 1)

    def worker(t: int) -> int:
        async def run() -> int:
            results = await asyncio.gather(
                *(counters.reserve(f"{t}-{i}", [claim], ttl=60) for i in range(250))
            )
            return sum(r is None for r in results)

        return asyncio.run(run())

    with ThreadPoolExecutor(max_workers=4) as pool:
        admitted = list(pool.map(worker, range(4)))
    assert sum(admitted) == 137
    assert asyncio.run(counters.usage("k")) == (0, 137)
