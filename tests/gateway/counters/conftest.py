"""The conformance suite runs against both backends: ``counters`` is a MemoryCounters, then a RedisCounters.

The Redis one uses 127.0.0.1:6379 (or ``AIFINOPS_TEST_REDIS_URL``) under a prefix unique to the test, and
deletes its keys afterwards. Without a reachable Redis its cases are skipped, or fail when
``AIFINOPS_REQUIRE_REDIS=1`` (as in CI).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis

from aifinops.gateway.counters import Counters, MemoryCounters, RedisCounters

REDIS_URL = os.environ.get("AIFINOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis, after checking that it answers."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("AIFINOPS_REQUIRE_REDIS") == "1":
            pytest.fail(f"AIFINOPS_REQUIRE_REDIS=1 but Redis at {REDIS_URL} is not reachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {exc}")
    finally:
        client.close()
    return REDIS_URL


def unique_prefix() -> str:
    return f"aifinops:test:{uuid.uuid4().hex[:12]}:"


async def delete_prefix(counters: RedisCounters) -> None:
    keys = [key async for key in counters.redis.scan_iter(match=f"{counters.prefix}*", count=1000)]
    if keys:
        await counters.redis.delete(*keys)


@pytest.fixture(params=["memory", "redis"])
async def counters(request: pytest.FixtureRequest) -> AsyncIterator[Counters]:
    if request.param == "memory":
        yield MemoryCounters()
        return
    backend = RedisCounters(request.getfixturevalue("redis_url"), prefix=unique_prefix())
    try:
        yield backend
    finally:
        await delete_prefix(backend)
        await backend.aclose()
