"""Guardrails through the official SDKs: budgets, rate limits, model policy, agent caps, audit, reload."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.emulators.conftest import RunningEmulator
from tests.gateway.conftest import RunningGateway, serve_gateway, upstreams

HI = [{"role": "user", "content": "hi [emulator output_tokens=10]"}]


def _client(gw: RunningGateway, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.openai_base_url, api_key="sk", max_retries=0, default_headers=headers)


def _spent(gw: RunningGateway, team: str) -> Decimal:
    return sum(
        (r.effective_cost or Decimal(0) for r in gw.records if r.team == team and r.status == "ok"),
        Decimal(0),
    )


def test_hard_budget_blocks_at_the_limit_and_says_why(emu: RunningEmulator, tmp_path: Path) -> None:
    budget = Decimal("0.002")
    config = upstreams(
        emu,
        f"budgets:\n  - {{name: search-daily, scope: {{team: search}}, period: day, amount: {budget}, hard: true}}\n",
    )
    with serve_gateway(config, tmp_path) as gw:
        client = _client(gw, **{"x-aifinops-team": "search"})
        admitted = 0
        with pytest.raises(openai.RateLimitError) as info:
            for _ in range(100):
                client.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=10)
                admitted += 1
        message = info.value.body["message"] if isinstance(info.value.body, dict) else str(info.value)
        assert "search-daily" in message and "$0.00" in message and "resets at" in message
        assert info.value.response.headers["x-aifinops-budget"] == "search-daily"
        assert int(info.value.response.headers["retry-after"]) > 0
        spent = _spent(gw, "search")
        assert admitted > 3 and spent <= budget
        refusal = [r for r in gw.records if r.status == "rejected"][-1]
        assert refusal.effective_cost == 0 and refusal.tags["guardrail"] == "budget"
        # other teams are not affected
        _client(gw, **{"x-aifinops-team": "ads"}).chat.completions.create(
            model="gpt-4o", messages=HI, max_tokens=10
        )
        # and the refusal is in the audit log and the API
        audit = httpx.get(f"{gw.url}/api/v1/audit", params={"decision": "refuse"}).json()
        assert audit[0]["rule"] == "search-daily" and audit[0]["kind"] == "budget"
        status = httpx.get(f"{gw.url}/api/v1/budgets").json()
        assert status[0]["name"] == "search-daily" and status[0]["hard"] is True


def test_no_request_refused_while_its_worst_case_still_fits(emu: RunningEmulator, tmp_path: Path) -> None:
    budget = Decimal("0.003")
    config = upstreams(emu, f"budgets:\n  - {{name: b, period: day, amount: {budget}, hard: true}}\n")
    with serve_gateway(config, tmp_path) as gw:
        client = _client(gw)
        with pytest.raises(openai.RateLimitError):
            for _ in range(200):
                client.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=10)
        worst = gw.gateway.guard  # the reservation of one such request, from the audit log
        allowed = [e for e in gw.gateway.audit.read(limit=1000, decision="allow")]
        worst_case = Decimal(allowed[0]["reserved"])
        spent = _spent(gw, None)  # noqa: F841 - team None: records without a team
        total = sum((r.effective_cost or Decimal(0) for r in gw.records if r.status == "ok"), Decimal(0))
        assert total <= budget < total + worst_case  # refused only when the next worst case did not fit
        assert worst is not None


def test_concurrent_requests_never_overshoot(emu: RunningEmulator, tmp_path: Path) -> None:
    budget = Decimal("0.01")
    config = upstreams(emu, f"budgets:\n  - {{name: b, period: month, amount: {budget}, hard: true}}\n")

    async def fire(url: str) -> tuple[int, int]:
        client = openai.AsyncOpenAI(base_url=url, api_key="sk", max_retries=0)
        ok = refused = 0

        async def one() -> None:
            nonlocal ok, refused
            try:
                await client.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=10)
                ok += 1
            except openai.RateLimitError:
                refused += 1

        await asyncio.gather(*(one() for _ in range(300)))
        await client.close()
        return ok, refused

    with serve_gateway(config, tmp_path) as gw:
        ok, refused = asyncio.run(fire(gw.openai_base_url))
        assert ok > 10 and refused > 10
        total = sum(
            (r.effective_cost or Decimal(0) for r in gw.wait_records(300) if r.status == "ok"), Decimal(0)
        )
        assert total <= budget


def test_reservations_are_released_on_upstream_errors_and_cut_streams(
    emu: RunningEmulator, tmp_path: Path
) -> None:
    # room for two worst cases at a time: without releases the third failing call would be refused
    config = upstreams(emu, "budgets:\n  - {name: tiny, period: day, amount: 0.0005, hard: true}\n")
    with serve_gateway(config, tmp_path) as gw:
        client = _client(gw)
        for _ in range(5):
            with pytest.raises(openai.InternalServerError):
                client.chat.completions.create(
                    model="gpt-4o",
                    messages=[{"role": "user", "content": "[emulator status=500]"}],
                    max_tokens=10,
                )
        for _ in range(3):
            with pytest.raises(openai.APIError):
                for _chunk in client.chat.completions.create(
                    model="gpt-4o",
                    messages=[{"role": "user", "content": "[emulator output_tokens=5 cut_after=2]"}],
                    max_tokens=10,
                    stream=True,
                ):
                    pass
        (status,) = httpx.get(f"{gw.url}/api/v1/budgets").json()
        live = status["status"][0]["live"]
        spent = sum((r.effective_cost for r in gw.records), Decimal(0))
        assert (
            Decimal(live["reserved"]) == 0 and Decimal(live["spent"]) == spent > 0
        )  # cut streams cost what they used
        assert all(r.effective_cost == 0 for r in gw.records if r.status == "error")


def test_anthropic_clients_get_their_own_error_shape(emu: RunningEmulator, tmp_path: Path) -> None:
    config = upstreams(emu, "budgets:\n  - {name: none-left, period: day, amount: 0.000001, hard: true}\n")
    with serve_gateway(config, tmp_path) as gw:
        client = anthropic.Anthropic(base_url=gw.url, api_key="sk", max_retries=0)
        with pytest.raises(anthropic.RateLimitError) as info:
            client.messages.create(
                model="claude-sonnet-4-6", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
            )
        assert info.value.body["type"] == "error" and "none-left" in info.value.body["error"]["message"]


def test_rate_limit_per_user_with_retry_after(emu: RunningEmulator, tmp_path: Path) -> None:
    config = upstreams(
        emu, "rate_limits:\n  - {scope: {tag:tier: free}, per: user, requests_per_minute: 3}\n"
    )
    with serve_gateway(config, tmp_path) as gw:
        free = _client(gw, **{"x-aifinops-user": "u1", "x-aifinops-tags": "tier=free"})
        for _ in range(3):
            free.chat.completions.create(model="gpt-4o", messages=HI)
        with pytest.raises(openai.RateLimitError) as info:
            free.chat.completions.create(model="gpt-4o", messages=HI)
        assert int(info.value.response.headers["retry-after"]) >= 1
        # another user has their own bucket; another tier is not limited
        _client(gw, **{"x-aifinops-user": "u2", "x-aifinops-tags": "tier=free"}).chat.completions.create(
            model="gpt-4o", messages=HI
        )
        pro = _client(gw, **{"x-aifinops-user": "u1", "x-aifinops-tags": "tier=pro"})
        for _ in range(5):
            pro.chat.completions.create(model="gpt-4o", messages=HI)


def test_model_policy_deny_route_and_max_tokens(emu: RunningEmulator, tmp_path: Path) -> None:
    config = upstreams(
        emu,
        "models:\n"
        "  - {scope: {team: support}, allow: ['gpt-4o-mini', 'claude-haiku-*'], route: {'gpt-4o': gpt-4o-mini}, max_tokens: 20}\n"
        "  - {scope: {team: legal}, deny: ['claude-opus-*'], max_tokens: 50, max_tokens_mode: reject}\n",
    )
    with serve_gateway(config, tmp_path) as gw:
        support = _client(gw, **{"x-aifinops-team": "support"})
        support.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "[emulator output_tokens=500]"}]
        )
        routed = gw.wait_records(1)[-1]
        assert routed.model_requested == "gpt-4o" and routed.model == "gpt-4o-mini"
        assert routed.output_tokens == 20  # the injected ceiling reached the upstream
        with pytest.raises(openai.PermissionDeniedError) as info:
            support.chat.completions.create(model="gpt-5", messages=HI)
        assert "gpt-5" in str(info.value) and "allowed: gpt-4o-mini" in str(info.value)
        legal = anthropic.Anthropic(
            base_url=gw.url, api_key="sk", max_retries=0, default_headers={"x-aifinops-team": "legal"}
        )
        with pytest.raises(anthropic.PermissionDeniedError):
            legal.messages.create(
                model="claude-opus-4-6", max_tokens=10, messages=[{"role": "user", "content": "x"}]
            )
        with pytest.raises(anthropic.BadRequestError) as too_many:
            legal.messages.create(
                model="claude-sonnet-4-6", max_tokens=500, messages=[{"role": "user", "content": "x"}]
            )
        assert "ceiling of 50" in str(too_many.value)


def test_agent_caps_per_trace(emu: RunningEmulator, tmp_path: Path) -> None:
    config = upstreams(
        emu, "agents:\n  - {scope: {use_case: research}, max_calls: 5, max_depth: 2, max_retries: 1}\n"
    )
    with serve_gateway(config, tmp_path) as gw:

        def call(
            trace: str, n: int, parent: str | None = None, span: str | None = None, text: str | None = None
        ) -> None:
            headers = {"x-aifinops-use-case": "research", "x-aifinops-trace-id": trace}
            if parent:
                headers["x-aifinops-parent-id"] = parent
            if span:
                headers["x-aifinops-span-id"] = span
            _client(gw, **headers).chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": text or f"step {n}"}]
            )

        call("t1", 1, span="root")
        call("t1", 2, parent="root", span="child")
        with pytest.raises(openai.PermissionDeniedError, match="max_depth"):
            call("t1", 3, parent="child", span="grandchild")
        call("t1", 4, text="same")
        call("t1", 5, text="same")  # one retry is allowed
        with pytest.raises(openai.PermissionDeniedError, match="max_retries"):
            call("t1", 5, text="same")
        call("t1", 6)
        with pytest.raises(openai.PermissionDeniedError, match="max_calls"):
            call("t1", 7)
        call("t2", 1)  # another workflow starts fresh


def test_policy_reloads_without_restart_and_bad_files_are_refused(
    emu: RunningEmulator, tmp_path: Path
) -> None:
    from aifinops.cli.serving import ConfigWatcher

    path = tmp_path / "aifinops.yaml"
    path.write_text(upstreams(emu))
    with serve_gateway(path.read_text(), tmp_path / "data") as gw:
        gw.app.config_path = path
        watcher = ConfigWatcher(gw.app, gw.gateway)
        _client(gw, **{"x-aifinops-team": "x"}).chat.completions.create(model="gpt-4o", messages=HI)
        path.write_text(upstreams(emu, "models:\n  - {scope: {team: x}, deny: ['gpt-4o']}\n"))
        import os

        os.utime(path, (1, 1))
        assert watcher.check()
        with pytest.raises(openai.PermissionDeniedError):
            _client(gw, **{"x-aifinops-team": "x"}).chat.completions.create(model="gpt-4o", messages=HI)
        path.write_text("models:\n  - {scope: {teem: x}}\n")
        os.utime(path, (2, 2))
        assert not watcher.check()
        with pytest.raises(openai.PermissionDeniedError):  # the running policy stayed
            _client(gw, **{"x-aifinops-team": "x"}).chat.completions.create(model="gpt-4o", messages=HI)
        assert gw.gateway.audit.read(decision="config_rejected")[0]["details"]


def test_soft_budget_alerts_at_thresholds(emu: RunningEmulator, tmp_path: Path) -> None:
    config = upstreams(emu, "budgets:\n  - {name: soft, period: day, amount: 0.001, alert_at: [0.5, 1.0]}\n")
    with serve_gateway(config, tmp_path) as gw:
        client = _client(gw)
        for _ in range(12):
            client.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=10)  # never blocked
        alerts = gw.gateway.audit.read(decision="alert")
        assert sorted(a["threshold"] for a in alerts) == [0.5, 1.0]


def test_unreachable_counters_fail_closed_with_a_clear_error(emu: RunningEmulator, tmp_path: Path) -> None:
    config = upstreams(
        emu, "redis_url: redis://127.0.0.1:9/0\nbudgets:\n  - {name: b, period: day, amount: 5, hard: true}\n"
    )
    with serve_gateway(config, tmp_path) as gw:
        with pytest.raises(openai.InternalServerError) as info:
            _client(gw).chat.completions.create(model="gpt-4o", messages=HI, max_tokens=10)
        assert info.value.status_code == 503 and "guardrails unavailable" in str(info.value)
        assert (
            gw.records[-1].status == "rejected"
            and gw.records[-1].tags["guardrail"] == "guardrails_unavailable"
        )
        assert emu.stats()["requests"].get("/v1/chat/completions", 0) == 0  # nothing was forwarded
