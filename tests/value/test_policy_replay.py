"""`policy simulate` on recorded traffic equals replaying the same traffic through the gateway with the policy.

History: calls go through a gateway without guardrails (the emulator answers with fixed token counts).
The dry run replays those records through a policy; then the same calls go through a gateway that enforces
the policy. What the dry run says was routed, refused and saved, per owner, is what the gateway did.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import httpx
import orjson

from aifinops.app import App
from aifinops.core.records import UsageRecord
from aifinops.core.settings import Settings, parse_settings
from tests.emulators.conftest import RunningEmulator
from tests.gateway.conftest import serve_gateway, upstreams


def _budget_body() -> bytes:
    """A gpt-4o-mini call whose prompt tokens are the gateway's worst-case bound of its own body."""
    size = 0
    for _ in range(5):
        text = f"go [emulator prompt_tokens={size:05d} output_tokens=100]"
        body = orjson.dumps(
            {"model": "gpt-4o-mini", "max_tokens": 100, "messages": [{"role": "user", "content": text}]}
        )
        size = (len(body) + 1) // 2
    return body


BUDGET_BODY = _budget_body()
PROMPT = (len(BUDGET_BODY) + 1) // 2
CALL_COST = (Decimal(PROMPT) * Decimal("0.15") + 100 * Decimal("0.6")) / 1_000_000  # gpt-4o-mini list prices
BUDGET = CALL_COST * Decimal("3.5")  # three calls fit, the fourth would overrun

POLICY = f"""
budgets:
  - {{name: ops-daily, scope: {{team: ops}}, period: day, amount: {BUDGET}, hard: true}}
models:
  - {{name: content-mini, scope: {{team: content}}, deny: ["gpt-4o"], route: {{"gpt-4o": "gpt-4o-mini"}}}}
  - {{name: legal-no-41, scope: {{team: legal}}, deny: ["gpt-4.1"]}}
agents:
  - {{name: agent-cap, scope: {{feature: agent}}, max_calls: 3}}
"""

# (team, feature, model, trace, prompt tokens, output tokens)
CALLS = (
    [("content", "writer", "gpt-4o", None, 1000, 500)] * 6
    + [("legal", "review", "gpt-4.1", None, 2000, 300)] * 3
    + [("legal", "review", "gpt-4o-mini", None, 2000, 300)] * 2
    + [("research", "agent", "gpt-4o-mini", "trace-1", 800, 200)] * 5
    + [("research", "agent", "gpt-4o-mini", "trace-2", 800, 200)] * 2
    + [("ops", "digest", "gpt-4o-mini", None, 0, 0)] * 6  # sent as BUDGET_BODY
)


def _send(url: str) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        for team, feature, model, trace, prompt, output in CALLS:
            headers = {"x-aifinops-team": team, "x-aifinops-feature": feature}
            if trace:
                headers["x-aifinops-trace-id"] = trace
            if team == "ops":
                headers["content-type"] = "application/json"
                client.post("/v1/chat/completions", content=BUDGET_BODY, headers=headers)
                continue
            text = f"go [emulator prompt_tokens={prompt} output_tokens={output}]"
            body = {"model": model, "messages": [{"role": "user", "content": text}]}
            client.post("/v1/chat/completions", json=body, headers=headers)


def _run(emu: RunningEmulator, path: Path, extra: str) -> list[UsageRecord]:
    with serve_gateway(upstreams(emu, extra), path) as gw:
        _send(gw.url)
        records = list(gw.wait_records(len(CALLS)))
    assert len(records) == len(CALLS)
    return records


def _cost_by_team(records: list[UsageRecord]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for r in records:
        out[r.team or ""] += r.effective_cost or Decimal(0)
    return dict(out)


def test_dry_run_equals_the_gateway_replay(emu: RunningEmulator, tmp_path: Path) -> None:
    history = _run(emu, tmp_path / "history", "")
    assert all(r.status == "ok" for r in history)
    app = App(Settings(), None)
    app.append(history)
    findings = {
        f["rule"]: f for f in app.simulate_policy(parse_settings(POLICY)) if f["kind"] != "budget_alert"
    }

    live = _run(emu, tmp_path / "live", POLICY)
    refused = [r for r in live if r.status == "rejected"]
    routed = [
        r for r in live if r.model_requested == "gpt-4o" and r.model == "gpt-4o-mini" and r.status == "ok"
    ]
    before, after = _cost_by_team(history), _cost_by_team(live)

    content = findings["content-mini"]
    assert content["routed"] == len(routed) == 6
    assert content["saving"] == before["content"] - after["content"] > 0
    assert content["by_owner"] == {"content": {"routed": 6, "saving": content["saving"]}}

    legal = findings["legal-no-41"]
    legal_refused = [r for r in refused if r.team == "legal"]
    assert legal["refused"] == len(legal_refused) == 3
    assert legal["saving"] == before["legal"] - after["legal"]

    agent = findings["agent-cap"]
    agent_refused = [r for r in refused if r.feature == "agent"]
    assert agent["refused_calls"] == len(agent_refused) == 2
    assert agent["workflows"] == 1
    assert agent["cost_avoided"] == before["research"] - after["research"]
    assert agent["by_owner"] == {"research": {"refused_calls": 2, "cost_avoided": agent["cost_avoided"]}}

    budget = findings["ops-daily"]
    ops_refused = [r for r in refused if r.team == "ops"]
    assert [r.effective_cost for r in history if r.team == "ops"] == [CALL_COST] * 6
    assert budget["calls_blocked"] == len(ops_refused) == 3
    assert budget["cost_not_spent"] == before["ops"] - after["ops"] == 3 * CALL_COST
    assert budget["by_owner"] == {"ops": {"calls_blocked": 3, "cost_not_spent": 3 * CALL_COST}}

    total_saved = sum((before[t] - after[t] for t in before), Decimal(0))
    assert (
        total_saved == content["saving"] + legal["saving"] + agent["cost_avoided"] + budget["cost_not_spent"]
    )
