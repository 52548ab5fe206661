"""Virtual keys and attribution, the exact-match cache, fallback routing, aliases, bad input, metrics."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from aifinops.gateway.keys import hash_key
from tests.emulators.conftest import RunningEmulator
from tests.gateway.conftest import serve_gateway, upstreams

KEYS = (
    "keys:\n"
    "  - {name: search-prod, key: sk-search-123, team: search, project: assistant, environment: prod}\n"
    "  - {name: open-key, key: 'sha256:"
    + hash_key("sk-open-456")
    + "', team: platform, allow_overrides: true}\n"
)


def _chat(url: str, key: str, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, default_headers=headers)


def test_virtual_keys_attribute_and_headers_add_detail(emu: RunningEmulator, tmp_path: Path) -> None:
    with serve_gateway(upstreams(emu, KEYS), tmp_path) as gw:
        client = _chat(
            gw.url,
            "sk-search-123",
            **{"x-aifinops-team": "ads", "x-aifinops-feature": "answers", "x-aifinops-customer": "acme"},
        )
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], user="u-42"
        )
        _chat(gw.url, "sk-open-456", **{"x-aifinops-team": "ads"}).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
        first, second = gw.wait_records(2)
        # the key's own attribution wins over headers; headers add what the key does not say
        assert (first.team, first.project, first.environment, first.feature, first.customer, first.user) == (
            "search",
            "assistant",
            "prod",
            "answers",
            "acme",
            "u-42",
        )
        assert first.api_key == "search-prod" and "sk-search-123" not in repr(first)
        assert second.team == "ads" and second.api_key == "open-key"  # this key allows overrides
        assert emu.stats()["requests"]  # the upstream saw the gateway's own provider key, not the virtual key


@pytest.mark.parametrize("key", [None, "sk-wrong"])
def test_missing_or_unknown_key_is_refused_in_each_protocol(
    emu: RunningEmulator, tmp_path: Path, key: str | None
) -> None:
    with serve_gateway(upstreams(emu, KEYS), tmp_path) as gw:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        r = httpx.post(
            f"{gw.url}/v1/chat/completions", json={"model": "gpt-4o", "messages": []}, headers=headers
        )
        assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
        a = httpx.post(
            f"{gw.url}/v1/messages",
            json={"model": "claude-sonnet-4-6", "max_tokens": 5, "messages": []},
            headers={"x-api-key": key or ""},
        )
        assert (
            a.status_code == 401
            and a.json()["type"] == "error"
            and a.json()["error"]["type"] == "authentication_error"
        )
        with pytest.raises(anthropic.AuthenticationError):
            anthropic.Anthropic(base_url=gw.url, api_key="sk-wrong", max_retries=0).messages.create(
                model="claude-sonnet-4-6", max_tokens=5, messages=[{"role": "user", "content": "x"}]
            )
        assert gw.records == []


def test_exact_cache_serves_hits_without_upstream_and_records_avoided_cost(
    emu: RunningEmulator, tmp_path: Path
) -> None:
    config = upstreams(emu, "gateway:\n  cache: {models: ['gpt-4o*'], ttl_seconds: 60}\n")
    with serve_gateway(config, tmp_path) as gw:
        client = _chat(gw.url, "sk-client")
        messages = [
            {"role": "user", "content": "same question [emulator prompt_tokens=1000 output_tokens=100]"}
        ]
        a = client.chat.completions.create(model="gpt-4o", messages=messages)
        upstream_calls = emu.stats()["requests"]
        b = client.chat.completions.create(model="gpt-4o", messages=messages)
        assert emu.stats()["requests"] == upstream_calls  # served from the cache
        assert a.choices[0].message.content == b.choices[0].message.content
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "different"}])
        miss, hit, other = gw.wait_records(3)
        assert miss.cache_hit is False and hit.cache_hit is True and other.cache_hit is False
        expected = (1000 * Decimal("2.5") + 100 * Decimal("10")) / Decimal(1_000_000)
        assert miss.effective_cost == expected
        assert hit.effective_cost == 0 and Decimal(hit.tags["avoided_cost"]) == expected


def test_fallback_to_a_second_upstream_and_aliases(emu: RunningEmulator, tmp_path: Path) -> None:
    config = (
        "providers:\n"
        "  primary: {type: openai, base_url: http://127.0.0.1:9/v1, api_key: k, models: ['gpt-4o']}\n"  # nothing listens on port 9
        f"  backup: {{type: openai, base_url: {emu.openai_base_url}, api_key: k, pricing_provider: openai}}\n"
        "gateway:\n  aliases: {fast: gpt-4o-mini}\n  fallbacks: {gpt-4o: [backup/gpt-4o]}\n"
    )
    with serve_gateway(config, tmp_path) as gw:
        client = _chat(gw.url, "sk-client")
        reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices
        client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "hi"}])
        served, aliased = gw.wait_records(2)
        assert (
            served.service == "backup" and served.tags["fallback_from"] == "primary" and served.status == "ok"
        )
        assert served.effective_cost > 0
        assert aliased.model_requested == "fast" and aliased.model == "gpt-4o-mini"


def test_all_upstreams_down_is_a_502_and_a_zero_cost_record(tmp_path: Path) -> None:
    config = "providers:\n  openai: {base_url: http://127.0.0.1:9/v1, api_key: k}\n"
    with serve_gateway(config, tmp_path) as gw:
        with pytest.raises(openai.APIStatusError) as info:
            _chat(gw.url, "sk").chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
            )
        assert info.value.status_code == 502
        (rec,) = gw.wait_records(1)
        assert rec.status == "upstream_unavailable" and rec.effective_cost == 0 and rec.error


@pytest.mark.parametrize(
    ("body", "headers", "status", "needle"),
    [
        (b"{not json", {}, 400, "not valid JSON"),
        (b"[1, 2]", {}, 400, "JSON object"),
        (b'{"messages": []}', {}, 400, "model is required"),
        (b'{"model": "gpt-4o", "messages": []}', {"x-aifinops-team": "x" * 300}, 400, "longer than"),
        (b'{"model": "gpt-4o", "messages": []}', {"x-aifinops-tags": "novalue"}, 400, "k=v"),
        (b"x" * (2 * 1024 * 1024), {}, 413, "larger than"),
    ],
)
def test_bad_input_gets_a_clear_error_and_the_gateway_keeps_serving(
    emu: RunningEmulator, tmp_path: Path, body: bytes, headers: dict, status: int, needle: str
) -> None:
    config = upstreams(emu, "gateway:\n  max_body_bytes: 1048576\n")
    with serve_gateway(config, tmp_path) as gw:
        r = httpx.post(
            f"{gw.url}/v1/chat/completions",
            content=body,
            headers={"content-type": "application/json", **headers},
        )
        assert r.status_code == status and needle in r.json()["error"]["message"]
        ok = _chat(gw.url, "sk").chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
        assert ok.choices and len(gw.wait_records(1)) == 1


def test_metrics_health_and_records_reach_the_ledger(emu: RunningEmulator, tmp_path: Path) -> None:
    with serve_gateway(upstreams(emu), tmp_path) as gw:
        _chat(gw.url, "sk", **{"x-aifinops-team": "search"}).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
        gw.wait_records(1)
        text = httpx.get(f"{gw.url}/metrics").text
        assert (
            'aifinops_gateway_requests_total{model="gpt-4o",provider="openai",status="ok",team="search"} 1.0'
            in text
        )
        assert (
            "aifinops_gateway_cost_usd_total" in text and "aifinops_gateway_overhead_seconds_bucket" in text
        )
        assert httpx.get(f"{gw.url}/healthz").json() == {"status": "ok"}
        assert gw.shipper.ship_once() == 1
        rows = httpx.get(f"{gw.url}/api/v1/costs", params={"by": "team", "since": "1h"}).json()
        assert rows[0]["team"] == "search" and Decimal(rows[0]["cost"]) == gw.records[0].effective_cost


def test_azure_openai_upstream(emu: RunningEmulator, tmp_path: Path) -> None:
    config = (
        "providers:\n"
        f"  azure: {{type: azure, base_url: {emu.url}, api_key: az-key, api_version: 2024-10-21, models: ['gpt-4o*']}}\n"
    )
    with serve_gateway(config, tmp_path) as gw:
        _chat(gw.url, "sk").chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "[emulator prompt_tokens=1000 output_tokens=100]"}],
        )
        (rec,) = gw.wait_records(1)
        assert rec.provider == "azure" and rec.service == "azure" and rec.status == "ok"
        assert rec.price_id.startswith("azure/") and rec.effective_cost > 0
