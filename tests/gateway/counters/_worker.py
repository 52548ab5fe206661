"""One OS process of the two-process budget test: reserve concurrently against a shared Redis budget.

Usage: python _worker.py URL PREFIX KEY LIMIT AMOUNT COROUTINES. Prints ``ready``, waits for a line on
standard input (so that both processes start together), then prints how many reservations it was granted.
"""

from __future__ import annotations

import asyncio
import sys

from aifinops.gateway.counters import Claim, RedisCounters


async def main(url: str, prefix: str, key: str, limit: int, amount: int, coroutines: int) -> int:
    counters = RedisCounters(url, prefix=prefix)
    try:
        await asyncio.gather(*(counters.redis.ping() for _ in range(32)))  # open the pool's connections
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        tag = f"{prefix}{id(counters)}"
        results = await asyncio.gather(
            *(counters.reserve(f"{tag}-{i}", [Claim(key, limit, amount)], ttl=60) for i in range(coroutines))
        )
        return sum(result is None for result in results)
    finally:
        await counters.aclose()


if __name__ == "__main__":
    url, prefix, key, limit, amount, coroutines = sys.argv[1:7]
    print(asyncio.run(main(url, prefix, key, int(limit), int(amount), int(coroutines))), flush=True)
