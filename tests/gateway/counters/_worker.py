"""One OS process of the two-process budget tests: reserve (or admit) concurrently against a shared Redis budget.

Usage: python _worker.py URL PREFIX KEY LIMIT AMOUNT COROUTINES [reserve|admit]. Prints ``ready``, waits for
a line on standard input (so that both processes start together), then prints how many were granted.
``admit`` also takes a token from a bucket and counts the call on a limited counter (both roomy), so the
budget claim is checked inside the one-script admission.
"""

from __future__ import annotations

import asyncio
import sys

from aifinops.gateway.counters import Bucket, Claim, Limited, RedisCounters


async def main(url: str, prefix: str, key: str, limit: int, amount: int, coroutines: int, mode: str) -> int:
    counters = RedisCounters(url, prefix=prefix)
    try:
        await asyncio.gather(*(counters.redis.ping() for _ in range(32)))  # open the pool's connections
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        tag = f"{prefix}{id(counters)}"
        claims = [Claim(key, limit, amount)]
        if mode == "admit":
            buckets = [Bucket(f"{key}:rpm", 10 * coroutines, 1, 1)]
            limited = [Limited(f"{key}:calls", 1, 10 * coroutines, 60)]
            admissions = await asyncio.gather(
                *(counters.admit(f"{tag}-{i}", claims, buckets, limited, ttl=60) for i in range(coroutines))
            )
            return sum(a.admitted for a in admissions)
        results = await asyncio.gather(
            *(counters.reserve(f"{tag}-{i}", claims, ttl=60) for i in range(coroutines))
        )
        return sum(result is None for result in results)
    finally:
        await counters.aclose()


if __name__ == "__main__":
    url, prefix, key, limit, amount, coroutines = sys.argv[1:7]
    mode = sys.argv[7] if len(sys.argv) > 7 else "reserve"
    print(asyncio.run(main(url, prefix, key, int(limit), int(amount), int(coroutines), mode)), flush=True)
