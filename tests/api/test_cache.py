"""The read API's response cache: hit/miss/age, TTL, invalidation, single flight, team isolation, off with 0."""

from __future__ import annotations

import asyncio
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from aifinops.api import create_server
from aifinops.api.cache import STALE_FACTOR, ResponseCache, install_cache
from aifinops.api.cache_warmer import CacheWarmer, startup_requests
from aifinops.core.settings import Settings
from tests.access.teams import COST, PER_TEAM, build_app


def _server(ttl: int = 60, *, local: bool = True) -> tuple[Any, ResponseCache, dict[str, int]]:
    settings = Settings()
    settings.reporting.cache_seconds = ttl
    app = build_app(settings)
    server = create_server(app, local_mode=local)
    calls = {"n": 0}

    @server.get("/api/v1/test-counter")
    def counter(request: Request) -> dict[str, Any]:
        calls["n"] += 1
        return {"n": calls["n"]}

    @server.get("/api/v1/test-slow")
    async def slow(request: Request) -> dict[str, Any]:
        calls["n"] += 1
        await asyncio.sleep(0.3)
        return {"n": calls["n"]}

    cache = install_cache(server)
    cache.prefixes = (
        *cache.prefixes,
        "/api/v1/test-",
        "/api/v1/costs",
    )  # this test's routes, and a real report
    return server, cache, calls


def test_miss_then_hit_with_age_and_same_body() -> None:
    server, cache, calls = _server()
    client = TestClient(server)
    first = client.get("/api/v1/test-counter?b=2&a=1")
    assert first.headers["x-aifinops-cache"] == "miss"
    second = client.get("/api/v1/test-counter?a=1&b=2")  # same query, other order: same entry
    assert second.headers["x-aifinops-cache"] == "hit"
    assert second.json() == first.json() == {"n": 1}
    assert int(second.headers["age"]) >= 0
    assert client.get("/api/v1/test-counter?a=2").json() == {"n": 2}  # another query: another entry
    entry = next(iter(cache._entries.values()))
    entry.created -= 7  # as if computed 7 s ago
    assert client.get("/api/v1/test-counter?a=1&b=2").headers["age"] == "7"


def test_real_report_is_cached_and_no_cache_recomputes() -> None:
    server, _, _ = _server()
    client = TestClient(server)
    miss = client.get("/api/v1/costs", params={"by": "team", "since": "7d"})
    hit = client.get("/api/v1/costs", params={"by": "team", "since": "7d"})
    assert (miss.headers["x-aifinops-cache"], hit.headers["x-aifinops-cache"]) == ("miss", "hit")
    assert hit.json() == miss.json()
    fresh = client.get(
        "/api/v1/costs", params={"by": "team", "since": "7d"}, headers={"cache-control": "no-cache"}
    )
    assert fresh.headers["x-aifinops-cache"] == "miss"


def test_ttl_expiry_past_the_stale_window() -> None:
    server, cache, calls = _server(ttl=60)
    client = TestClient(server)
    client.get("/api/v1/test-counter")
    for entry in cache._entries.values():
        entry.expires = time.monotonic() - STALE_FACTOR * 60 - 0.01  # 60 s, then the stale window, gone by
    again = client.get("/api/v1/test-counter")
    assert again.headers["x-aifinops-cache"] == "miss"
    assert again.json() == {"n": 2}


def test_expired_entry_is_served_stale_while_one_request_recomputes_it() -> None:
    server, cache, calls = _server(ttl=60)
    with TestClient(server) as client:
        client.get("/api/v1/test-counter")
        for entry in cache._entries.values():
            entry.created -= 61
            entry.expires = time.monotonic() - 1  # expired a second ago
        stale = client.get("/api/v1/test-counter")
        assert (stale.headers["x-aifinops-cache"], stale.json()) == ("stale", {"n": 1})
        assert int(stale.headers["age"]) >= 61
        deadline = time.monotonic() + 10
        while calls["n"] < 2 and time.monotonic() < deadline:  # the background recomputation
            time.sleep(0.02)
        time.sleep(0.1)
        fresh = client.get("/api/v1/test-counter")
        assert (fresh.headers["x-aifinops-cache"], fresh.json()) == ("hit", {"n": 2})
        assert calls["n"] == 2


def test_a_write_invalidates_everything_a_failed_one_does_not() -> None:
    server, cache, calls = _server()
    client = TestClient(server)
    client.get("/api/v1/test-counter")
    assert client.post("/api/v1/keys", json={"name": "x", "role": "nope"}).status_code == 400
    assert client.get("/api/v1/test-counter").headers["x-aifinops-cache"] == "hit"
    created = client.post("/api/v1/keys", json={"name": "ci", "role": "admin"})
    assert created.status_code == 201
    assert len(cache) == 0
    again = client.get("/api/v1/test-counter", headers={"authorization": f"Bearer {created.json()['key']}"})
    assert (again.headers["x-aifinops-cache"], again.json()) == ("miss", {"n": 2})  # same admin view


def test_read_only_post_does_not_invalidate() -> None:
    server, cache, _ = _server()
    client = TestClient(server)
    client.get("/api/v1/test-counter")
    client.post("/api/v1/forecast/scenario", json={})  # a what-if: reads only, whatever its status
    assert client.get("/api/v1/test-counter").headers["x-aifinops-cache"] == "hit"


def test_config_reload_invalidates() -> None:
    server, cache, _ = _server()
    client = TestClient(server)
    client.get("/api/v1/test-counter")
    app = server.state._state["app"]
    settings = Settings()
    settings.reporting.cache_seconds = 60
    app.reload(settings)
    assert client.get("/api/v1/test-counter").headers["x-aifinops-cache"] == "miss"


def test_single_flight_concurrent_requests_compute_once() -> None:
    server, _, calls = _server()
    client = TestClient(server)
    results: list[Any] = []

    def get() -> None:
        results.append(client.get("/api/v1/test-slow"))

    threads = [threading.Thread(target=get) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls["n"] == 1
    assert sorted(r.headers["x-aifinops-cache"] for r in results) == ["hit", "hit", "hit", "miss"]
    assert {r.text for r in results} == {'{"n":1}'}


def test_team_keys_and_admin_never_share_a_body() -> None:
    server, _, _ = _server(local=False)
    app = server.state._state["app"]
    keys = {
        "admin": app.keys_create(name="admin", role="admin")["key"],
        "bravo": app.keys_create(name="bravo", role="team", team="bravo")["key"],
        "chartreuse": app.keys_create(name="chartreuse", role="team", team="chartreuse")["key"],
    }
    client = TestClient(server)
    url = "/api/v1/costs?by=team&since=30d"
    seen: dict[str, list[Any]] = {}
    for round_ in range(2):
        for who, key in keys.items():
            response = client.get(url, headers={"authorization": f"Bearer {key}"})
            assert response.headers["x-aifinops-cache"] == ("miss" if round_ == 0 else "hit")
            seen.setdefault(who, []).append(response.json())
    for who in ("bravo", "chartreuse"):
        assert seen[who][0] == seen[who][1]
        assert [r["team"] for r in seen[who][0]] == [who]
        assert Decimal(seen[who][0][0]["cost"]) == COST[who] * PER_TEAM
    assert {r["team"] for r in seen["admin"][1]} == {"aubergine", "bravo", "chartreuse"}
    anonymous = client.get(url)
    assert anonymous.status_code == 401  # the gate runs before the cache: no key, no cached body


def test_disabled_with_zero() -> None:
    server, cache, calls = _server(ttl=0)
    client = TestClient(server)
    first = client.get("/api/v1/test-counter")
    second = client.get("/api/v1/test-counter")
    assert "x-aifinops-cache" not in second.headers
    assert (first.json(), second.json()) == ({"n": 1}, {"n": 2})
    assert len(cache) == 0


def test_excluded_paths_are_live() -> None:
    server, cache, _ = _server()
    client = TestClient(server)
    client.get("/api/v1/whoami")
    response = client.get("/api/v1/whoami")
    assert "x-aifinops-cache" not in response.headers
    assert len(cache) == 0


def test_lru_bound() -> None:
    server, cache, _ = _server()
    cache.max_entries = 2
    client = TestClient(server)
    for q in ("a=1", "a=2", "a=3"):
        client.get(f"/api/v1/test-counter?{q}")
    assert len(cache) == 2
    assert client.get("/api/v1/test-counter?a=1").headers["x-aifinops-cache"] == "miss"
    assert client.get("/api/v1/test-counter?a=3").headers["x-aifinops-cache"] == "hit"


def test_warmer_refreshes_what_was_asked_for_and_stops() -> None:
    server, cache, calls = _server()
    client = TestClient(server)
    client.get("/api/v1/test-counter?x=1")  # a user asked for it: n=1
    warmer = CacheWarmer(server, poll_seconds=0.05)
    key = next(iter(cache.requested))
    assert warmer.due() == []  # fresh for another minute
    cache.peek(key).expires = time.monotonic() + 1  # about to expire
    assert warmer.due() == [key]
    assert asyncio.run(warmer.request(key[0], key[1], key[2])) == 200
    assert calls["n"] == 2
    assert cache.peek(key).expires > time.monotonic() + 50
    hit = client.get("/api/v1/test-counter?x=1")
    assert (hit.headers["x-aifinops-cache"], hit.json()) == ("hit", {"n": 2})
    startup = startup_requests(server)
    assert startup[0] == ("/api/v1/overview", "")
    assert {("/api/v1/recommendations", ""), ("/api/v1/maturity", ""), ("/api/v1/zombies", "")} <= set(
        startup
    )
    warmer.start()
    warmer.stop(timeout=30)
    assert not warmer._thread.is_alive()


@pytest.mark.parametrize("ttl", [0])
def test_warmer_does_not_start_when_the_cache_is_off(ttl: int) -> None:
    server, _, _ = _server(ttl=ttl)
    warmer = CacheWarmer(server)
    warmer.start()
    assert not warmer._thread.is_alive()


def test_a_computation_begun_before_a_write_is_neither_joined_nor_stored_after_it() -> None:
    from aifinops.api.cache import Entry

    cache = ResponseCache()
    key = ("/api/v1/costs", "", "*/*", "admin", "")
    leader, old = cache.begin(key)
    assert leader
    cache.clear()  # a write while it runs
    leader, new = cache.begin(key)
    assert leader and new is not old
    cache.finish(key, old, Entry(200, [], b"[]", 0.0, time.monotonic() + 60))
    assert cache.peek(key) is None and old.future.result() is not None
    assert cache.begin(key) == (False, new)


def test_only_the_heavy_reports_are_cached() -> None:
    """Raw records and spend rollups stay live: what the gateway just metered shows at once."""
    from aifinops.api.cache import _cacheable_path

    assert _cacheable_path("/api/v1/kpis") and _cacheable_path("/api/v1/recommendations")
    assert not _cacheable_path("/api/v1/records") and not _cacheable_path("/api/v1/costs")
    assert not _cacheable_path("/api/v1/anomalies") and not _cacheable_path("/api/v1/budgets")
