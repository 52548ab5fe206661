"""Unit checks of overrides and the token plan, plus the command line and the load generator."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
import uvicorn

from aifinops.emulators import EmulatorConfig
from aifinops.emulators.__main__ import main
from aifinops.emulators._common import BadRequest, Overrides, apply_headers, deltas, make_plan
from aifinops.emulators.loadgen import DEFAULT_BODY, run_load
from tests.emulators.conftest import RunningEmulator

CFG = EmulatorConfig()


def _ov(headers: dict[str, str] | None = None, directive: str = "") -> Overrides:
    ov = Overrides()
    apply_headers(ov, [(f"x-emulator-{k}".encode(), v.encode()) for k, v in (headers or {}).items()])
    ov.apply_directive(directive)
    return ov


def test_headers_win_over_directive() -> None:
    ov = _ov({"output-tokens": "7"}, "go [emulator output_tokens=3 cached_tokens=2 latency_ms=1.5]")
    assert (ov.output_tokens, ov.cached_tokens, ov.latency_ms) == (7, 2, 1.5)


def test_bad_overrides_are_rejected() -> None:
    with pytest.raises(BadRequest):
        _ov({"prompt-tokenz": "1"})
    with pytest.raises(BadRequest):
        _ov(directive="[emulator output_tokens=-3]")


def test_plan_defaults_and_limits() -> None:
    plan = make_plan(CFG, Overrides(), chars=41, limit=None)
    assert (plan.prompt, plan.output, plan.truncated) == (11, 16, False)
    capped = make_plan(CFG, Overrides(), chars=0, limit=4)
    assert (capped.prompt, capped.output, capped.truncated) == (1, 4, True)
    forced = make_plan(CFG, _ov({"output-tokens": "30"}), chars=8, limit=100)
    assert (forced.output, forced.truncated) == (30, False)


def test_plan_cache_and_reasoning_are_clamped() -> None:
    auto = make_plan(CFG, _ov({"cached-tokens": "100", "cache-write-tokens": "20"}), chars=8, limit=None)
    assert (auto.prompt, auto.cached, auto.writes) == (120, 100, 20)  # prompt grows to hold the cache
    clamped = make_plan(
        CFG, _ov({"prompt-tokens": "50", "cached-tokens": "40", "cache-write-1h-tokens": "30"}), 0, None
    )
    assert (clamped.cached, clamped.write_1h) == (40, 10)
    thinking = make_plan(CFG, _ov({"output-tokens": "5", "reasoning-tokens": "9"}), 0, None)
    assert (thinking.reasoning, thinking.visible) == (5, 0)


def test_deltas_concatenate_to_the_text() -> None:
    assert deltas(CFG, 5, 2) == ["tok tok", " tok tok", " tok"]
    assert "".join(deltas(CFG, 7, 3)) == " ".join(["tok"] * 7)
    assert deltas(CFG, 0, 1) == []


def test_command_line_serves_with_fast_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    main(["--port", "9123", "--latency-ms", "5", "--api-key", "a", "--api-key", "b"])
    assert (seen["port"], seen["loop"], seen["http"], seen["access_log"]) == (
        9123,
        "uvloop",
        "httptools",
        False,
    )
    assert seen["app"].config.latency_ms == 5 and seen["app"].config.api_keys == frozenset({"a", "b"})


def test_load_generator_counts_requests(emu: RunningEmulator) -> None:
    url = f"{emu.openai_base_url}/chat/completions"
    result = asyncio.run(run_load(url, orjson.dumps(DEFAULT_BODY), total=60, concurrency=4))
    assert (result.requests, result.errors) == (60, 0) and result.rps > 0
    assert emu.stats()["requests"] == {"/v1/chat/completions": 60}
