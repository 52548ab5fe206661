"""`/api/v1/workflows`, `/api/v1/agents` and `aifinops report workflows`, over OTLP data in the ledger."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from aifinops.api import create_server
from aifinops.app import App
from aifinops.cli.main import cli
from aifinops.core.settings import Settings
from aifinops.ingest.otlp import convert_traces
from aifinops.ingest.otlp_attrs import AttributeMap
from tests.ingest.otlp_helpers import SECOND, T0_NS, chat, new_span_id, new_trace, span, traces


def load(app: App, flows: int = 3) -> dict[str, Decimal]:
    """`flows` agent workflows; workflow i has i + 1 nested agents and i + 1 calls. Returns cost by trace."""
    costs = {}
    for i in range(flows):
        trace, parent, spans = new_trace(), b"", []
        for level in range(i + 1):
            agent = new_span_id()
            attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": f"agent-{level}"}
            spans.append(span("invoke_agent", attrs, trace=trace, span_id=agent, parent=parent, kind=1))
            spans.append(
                span(attrs=chat(inp=100_000 * (flows - i)), trace=trace, parent=agent, start=T0_NS + SECOND)
            )
            parent = agent
        batch = convert_traces(traces(spans), AttributeMap())
        app.append_otlp(batch.records, batch.spans)
        costs[trace.hex()] = sum(r.effective_cost for r in batch.records)
    return costs


@pytest.fixture
def app() -> Iterator[App]:
    app = App(Settings(), data_dir=None)
    yield app
    app.close()


def test_workflows_by_cost_and_depth_one_workflow_and_agents(app: App) -> None:
    costs = load(app)
    with TestClient(create_server(app)) as client:
        by_cost = client.get("/api/v1/workflows", params={"since": "2020-01-01", "top": 2}).json()
        assert [Decimal(r["cost"]) for r in by_cost] == sorted(costs.values(), reverse=True)[:2]
        deepest = client.get("/api/v1/workflows", params={"since": "2020-01-01", "order": "depth"}).json()
        assert [r["depth"] for r in deepest] == [4, 3, 2]  # nested agents, then the call
        detail = client.get(f"/api/v1/workflows/{deepest[0]['workflow']}").json()
        assert Decimal(detail["cost"]) == costs[deepest[0]["workflow"]]
        assert sum(Decimal(s["cost"]) for s in detail["steps"]) == Decimal(detail["cost"])
        assert detail["tree"][0]["name"] == "invoke_agent agent-0" and detail["model_calls"] == 3
        agents = {a["agent"]: a for a in client.get("/api/v1/agents", params={"since": "2020-01-01"}).json()}
        assert agents["agent-0"]["runs"] == 3 and agents["agent-2"]["runs"] == 1
        assert Decimal(agents["agent-0"]["cost"]) == sum(
            costs.values()
        )  # the top agent's subtree is everything
        missing = client.get("/api/v1/workflows/nope")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        assert client.get("/api/v1/workflows", params={"order": "width"}).status_code == 400


def test_the_default_period_is_the_last_30_days(app: App) -> None:
    load(app)  # the spans are from March 2026, far in the past
    with TestClient(create_server(app)) as client:
        assert client.get("/api/v1/workflows").json() == []


def test_report_workflows_command(tmp_path: Path) -> None:
    app = App(Settings(), tmp_path)
    costs = load(app)
    app.close()
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path), "report", "workflows", "--since", "2020-01-01"]
    table = runner.invoke(cli, base + ["--top", "2"])
    assert table.exit_code == 0, table.output
    assert "most expensive workflows" in table.output and "retries" in table.output
    assert max(costs, key=costs.get) in table.output  # the full id, to ask for that workflow
    as_json = runner.invoke(cli, base + ["--by", "depth", "--format", "json"])
    rows = json.loads(as_json.output)
    assert [r["depth"] for r in rows] == [4, 3, 2]
    one = runner.invoke(
        cli, ["--data-dir", str(tmp_path), "report", "workflows", "--workflow", rows[0]["workflow"]]
    )
    assert one.exit_code == 0 and "cost by step" in one.output and "invoke_agent agent-0" in one.output
    agents = runner.invoke(cli, base + ["--agents", "--format", "csv"])
    assert agents.output.splitlines()[0].startswith("agent,kind,runs,cost")
    assert len(costs) == 3
