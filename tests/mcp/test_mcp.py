"""The MCP server, tested with the official SDK's own client: in process, over stdio and streamable HTTP."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest
import uvicorn
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from aifinops.core.errors import Unauthorized
from aifinops.mcp import http_app
from aifinops.mcp.http import stdio_server
from mcp import Client
from tests.access.teams import COST, PER_TEAM, TEAMS, build_app

TOOLS = {
    "whoami",
    "dimensions",
    "spend",
    "explain_costs",
    "list_anomalies",
    "list_budgets",
    "list_recommendations",
    "get_kpis",
}


def _data(result: Any) -> Any:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        data = result.structured_content
        return data.get("result", data) if set(data) == {"result"} else data
    return json.loads(result.content[0].text)


def _call(server: Any, tool: str, args: dict[str, Any] | None = None) -> Any:
    async def go() -> Any:
        async with Client(server) as client:
            return await client.call_tool(tool, args or {})

    return anyio.run(go)


@pytest.fixture(scope="module")
def app():  # type: ignore[no-untyped-def]
    app = build_app(days_ago=2)
    app.__dict__["test_keys"] = {
        "team": app.keys_create(name="bravo", role="team", team="bravo")["key"],
        "finance": app.keys_create(name="fin", role="finance")["key"],
    }
    return app


def test_tools_are_listed_with_read_only_hints(app) -> None:  # type: ignore[no-untyped-def]
    async def go() -> Any:
        async with Client(stdio_server(app, app.test_keys["finance"])) as client:
            return (await client.list_tools()).tools

    tools = anyio.run(go)
    assert {t.name for t in tools} == TOOLS
    assert all(t.annotations.read_only_hint for t in tools)


def test_spend_by_any_dimension_for_finance_and_team(app) -> None:  # type: ignore[no-untyped-def]
    everyone = _data(_call(stdio_server(app, app.test_keys["finance"]), "spend", {"by": "team"}))
    assert {r["team"]: Decimal(r["cost"]) for r in everyone["rows"]} == {t: COST[t] * PER_TEAM for t in TEAMS}
    bravo = _data(_call(stdio_server(app, app.test_keys["team"]), "spend", {"by": "team,feature"}))
    assert [(r["team"], r["feature"], Decimal(r["cost"])) for r in bravo["rows"]] == [
        ("bravo", "feat-bravo", COST["bravo"] * PER_TEAM)
    ]
    asked = _data(
        _call(
            stdio_server(app, app.test_keys["team"]), "spend", {"by": "team", "where": {"team": "aubergine"}}
        )
    )
    assert asked["rows"] == []


def test_explain_costs_names_the_biggest_groups_and_movers(app) -> None:  # type: ignore[no-untyped-def]
    data = _data(
        _call(stdio_server(app, app.test_keys["finance"]), "explain_costs", {"since": "7d", "by": "team"})
    )
    total = sum(COST.values()) * PER_TEAM
    assert Decimal(data["total_cost"]) == total and Decimal(data["previous_total_cost"]) == 0
    biggest = data["drivers"]["team"]["biggest"]
    assert [b["team"] for b in biggest] == ["chartreuse", "bravo", "aubergine"]
    assert biggest[0]["share"] == pytest.approx(float(COST["chartreuse"] / sum(COST.values())))
    movers = data["drivers"]["team"]["movers"]
    assert movers[0]["team"] == "chartreuse" and Decimal(movers[0]["change"]) == COST["chartreuse"] * PER_TEAM
    assert movers[0]["change_pct"] is None  # nothing the period before


def test_explain_compares_with_the_previous_period() -> None:
    app = build_app(days_ago=10)  # all spend 10 days ago: in the previous 7-day window of a "7d" period
    app_now = build_app(days_ago=2)
    assert app_now  # (separate ledgers: keep each test's numbers independent)
    data = _data(_call(stdio_server(app, None), "explain_costs", {"since": "7d", "by": "team", "top": 1}))
    assert Decimal(data["total_cost"]) == 0
    assert Decimal(data["change"]) == -sum(COST.values()) * PER_TEAM
    assert data["change_pct"] == pytest.approx(-100.0)
    assert [m["team"] for m in data["drivers"]["team"]["movers"]] == ["chartreuse"]


def test_anomalies_budgets_and_recommendations_are_scoped(app) -> None:  # type: ignore[no-untyped-def]
    finance = stdio_server(app, app.test_keys["finance"])
    team = stdio_server(app, app.test_keys["team"])
    assert sorted(a["owner"] for a in _data(_call(finance, "list_anomalies"))["anomalies"]) == sorted(TEAMS)
    assert [a["owner"] for a in _data(_call(team, "list_anomalies"))["anomalies"]] == ["bravo"]
    assert _data(_call(finance, "list_budgets")) == {"budgets": []}  # none configured
    recommendations = _call(team, "list_recommendations")
    assert not recommendations.is_error, recommendations.content
    assert all(t not in recommendations.content[0].text for t in ("aubergine", "chartreuse"))


def test_budgets_and_kpis_of_a_team() -> None:
    from aifinops.core.settings import Settings

    window = {"period": "custom", "start": date(2000, 1, 1), "end": date(2100, 1, 1)}  # as YAML reads them
    settings = Settings.model_validate(
        {
            "budgets": [
                {"name": "bravo-b", "scope": {"team": "bravo"}, "amount": 100, **window},
                {"name": "aubergine-b", "scope": {"team": "aubergine"}, "amount": 100, **window},
            ]
        }
    )
    app = build_app(settings)
    team_key = app.keys_create(name="b", role="team", team="bravo")["key"]
    budgets = _data(_call(stdio_server(app, team_key), "list_budgets"))["budgets"]
    assert [b["name"] for b in budgets] == ["bravo-b"]
    spent = COST["bravo"] * PER_TEAM
    status = budgets[0]["status"][0]
    assert Decimal(status["spent"]) == spent and Decimal(status["remaining"]) == 100 - spent
    assert status["used"] == pytest.approx(float(spent / 100))
    kpis = _data(_call(stdio_server(app, team_key), "get_kpis", {"by": "team"}))["kpis"]
    assert [(k["team"], Decimal(k["cost"])) for k in kpis] == [("bravo", spent)]


def test_features_still_being_built_answer_not_available_yet() -> None:
    from aifinops.mcp.tools import NotAvailable, anomalies

    class Bare:  # a facade without the anomaly area
        pass

    class Pending:
        def list_anomalies(self, **_: object) -> None:
            raise NotImplementedError

    for facade in (Bare(), Pending()):
        with pytest.raises(NotAvailable, match="not available yet"):
            anomalies(facade)


def test_bad_arguments_are_tool_errors(app) -> None:  # type: ignore[no-untyped-def]
    result = _call(
        stdio_server(app, None if not app.has_api_keys() else app.test_keys["finance"]),
        "spend",
        {"since": "soon"},
    )
    assert result.is_error and "since" in result.content[0].text


def test_the_same_access_control_applies(app) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Unauthorized):
        stdio_server(app, None)  # keys exist: no keyless local mode
    who = _data(_call(stdio_server(app, app.test_keys["team"]), "whoami"))
    assert (who["role"], who["team"]) == ("team", "bravo")


def test_stdio_transport_spawned_as_a_command(tmp_path: Path) -> None:
    app = build_app(data_dir=tmp_path)
    key = app.keys_create(name="bravo", role="team", team="bravo")["key"]
    app.close()
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "aifinops", "--data-dir", str(tmp_path), "mcp"],
        env={**os.environ, "AIFINOPS_API_KEY": key},
        cwd=str(tmp_path),
    )

    async def go() -> Any:
        async with Client(params) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            spend = await client.call_tool("spend", {"by": "team"})
            return names, spend

    names, spend = anyio.run(go)
    assert names == TOOLS
    assert [r["team"] for r in _data(spend)["rows"]] == ["bravo"]


def _serve(asgi: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}/mcp"


def test_streamable_http_needs_a_key_and_scopes_to_its_team(app) -> None:  # type: ignore[no-untyped-def]
    import httpx

    server, thread, url = _serve(http_app(app, loopback=True))
    try:
        refused = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"

        async def go(key: str) -> Any:
            http = create_mcp_http_client(headers={"authorization": f"Bearer {key}"})
            async with Client(streamable_http_client(url, http_client=http)) as client:
                who = await client.call_tool("whoami", {})
                spend = await client.call_tool("spend", {"by": "team"})
                return _data(who), _data(spend)

        who, spend = anyio.run(go, app.test_keys["team"])
        assert who["team"] == "bravo"
        assert [r["team"] for r in spend["rows"]] == ["bravo"]
        _, spend = anyio.run(go, app.test_keys["finance"])
        assert {r["team"] for r in spend["rows"]} == set(TEAMS)
    finally:
        server.should_exit = True
        thread.join(10)


def test_streamable_http_in_local_mode_needs_no_key() -> None:
    app = build_app()
    server, thread, url = _serve(http_app(app, loopback=True))
    try:

        async def go() -> Any:
            async with Client(url) as client:
                return _data(await client.call_tool("whoami", {}))

        assert anyio.run(go)["local_mode"] is True
    finally:
        server.should_exit = True
        thread.join(10)


def test_serve_hosts_the_mcp_endpoint_behind_the_same_gate(tmp_path: Path) -> None:
    import httpx

    from tests.access.server import serve

    served = serve(tmp_path)  # keys exist: every call needs one
    server, thread, url = _serve(served.client.app)
    base = url.removesuffix("/mcp")
    try:
        refused = httpx.post(f"{base}/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert refused.status_code == 401

        async def go(key: str, path: str) -> Any:
            http = create_mcp_http_client(headers={"authorization": f"Bearer {key}"})
            async with Client(streamable_http_client(f"{base}{path}", http_client=http)) as client:
                return _data(await client.call_tool("spend", {"by": "team"}))

        team = anyio.run(go, served.keys["team"], "/mcp/")
        assert [r["team"] for r in team["rows"]] == ["bravo"]
        finance = anyio.run(go, served.keys["finance"], "/mcp")  # without the slash: redirected
        assert {r["team"] for r in finance["rows"]} == set(TEAMS)
    finally:
        server.should_exit = True
        thread.join(10)
