"""``report costs --allocated``, ``report coverage`` and the ``/api/v1/allocation`` routes."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from aifinops.api import create_server
from aifinops.app import App
from aifinops.cli.main import cli
from aifinops.core.settings import load_settings
from tests.factories import T0, rec

CONFIG = """
allocation:
  owners:
    - {match: {api_key: "search-*"}, set: {team: search}}
  shared:
    - {name: gw, match: {service: ai-gateway}, split_by: fixed, ratios: {search: 3, support: 1}}
"""
SINCE = (T0 - timedelta(days=1)).date().isoformat()


def _records() -> list:
    return [
        rec("gw", service="ai-gateway", model=None, effective_cost=Decimal("8.00")),
        rec("s", api_key="search-prod", effective_cost=Decimal("2.00")),
        rec("u", api_key="other", effective_cost=Decimal("1.00")),
    ]


@pytest.fixture
def folder(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "aifinops.yaml"
    config.write_text(CONFIG)
    app = App.open(config, tmp_path / "data")
    app.append(_records())
    app.close()
    return config, tmp_path / "data"


def _cli(folder: tuple[Path, Path], *args: str, code: int = 0) -> str:
    config, data = folder
    result = CliRunner().invoke(cli, ["--config", str(config), "--data-dir", str(data), *args])
    assert result.exit_code == code, result.output
    return result.stdout if code == 0 else result.output


def test_report_costs_allocated_json(folder: tuple[Path, Path]) -> None:
    out = json.loads(
        _cli(folder, "report", "costs", "--by", "team", "--since", SINCE, "--allocated", "--format", "json")
    )
    got = {(r["team"], r["allocation"]): r["cost"] for r in out}
    assert got == {
        ("search", "shared:gw"): "6",
        ("search", "direct"): "2",
        ("support", "shared:gw"): "2",
        (None, "unallocated"): "1",
    }
    table = _cli(folder, "report", "costs", "--by", "team", "--since", SINCE, "--allocated")
    assert "shared:gw" in table and "unallocated" in table
    plain = json.loads(_cli(folder, "report", "costs", "--by", "team", "--since", SINCE, "--format", "json"))
    assert all("allocation" not in r for r in plain)


def test_report_costs_allocated_refuses_all_sources(folder: tuple[Path, Path]) -> None:
    out = _cli(folder, "report", "costs", "--allocated", "--sources", "all", code=2)
    assert "authoritative" in out


def test_report_coverage_table_and_json(folder: tuple[Path, Path]) -> None:
    table = _cli(folder, "report", "coverage", "--since", SINCE)
    assert "gateway" in table and "18.2%" in table  # 2 of 11 dollars have a team before pools split
    data = json.loads(_cli(folder, "report", "coverage", "--since", SINCE, "--format", "json"))
    assert data["total"]["allocated_cost"] == "2" and data["total"]["cost"] == "11"
    assert [u["cost"] for u in data["untagged"]] == ["8", "1"]
    csv = _cli(folder, "report", "coverage", "--since", SINCE, "--format", "csv")
    assert csv.splitlines()[0].startswith("source,cost,allocated_cost")


def test_bad_config_fails_with_the_field(tmp_path: Path) -> None:
    config = tmp_path / "aifinops.yaml"
    config.write_text("allocation:\n  shared: [{name: p, match: {service: s}, split_by: fixed}]\n")
    result = CliRunner().invoke(
        cli, ["--config", str(config), "--data-dir", str(tmp_path), "report", "coverage"]
    )
    assert result.exit_code == 1 and "needs ratios" in result.output


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    config = tmp_path / "aifinops.yaml"
    config.write_text(CONFIG)
    app = App(load_settings(config), None)
    app.append(_records())
    with TestClient(create_server(app)) as c:
        yield c
    app.close()


def test_api_costs_allocated(client: TestClient) -> None:
    rows = client.get("/api/v1/costs", params={"by": "team", "since": SINCE, "allocated": "true"}).json()
    assert {(r["team"], r["allocation"], r["cost"]) for r in rows} >= {("support", "shared:gw", "2")}
    bad = client.get("/api/v1/costs", params={"allocated": "true", "sources": "all"})
    assert bad.status_code == 400 and "authoritative" in bad.json()["error"]["message"]


def test_api_rules_and_coverage(client: TestClient) -> None:
    rules = client.get("/api/v1/allocation/rules").json()
    assert rules["shared"][0]["name"] == "gw" and rules["shared"][0]["among"] == "team"
    assert rules["shared"][0]["ratios"] == {"search": "3", "support": "1"}
    cov = client.get("/api/v1/allocation/coverage", params={"since": SINCE, "top": 1}).json()
    assert cov["total"]["allocated_share"] == pytest.approx(2 / 11)
    assert len(cov["untagged"]) == 1 and cov["untagged"][0]["service"] == "ai-gateway"
    by_key = client.get("/api/v1/allocation/coverage", params={"since": SINCE, "by": "api_key"}).json()
    assert by_key["dimension"] == "api_key" and by_key["total"]["allocated_cost"] == "3"


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"since": "soon"}, "since"),
        ({"top": "-1"}, "top"),
        ({"where": "team"}, "KEY=VALUE"),
        ({"by": "period"}, "owner"),
    ],
)
def test_api_coverage_bad_params(client: TestClient, params: dict, needle: str) -> None:
    response = client.get("/api/v1/allocation/coverage", params=params)
    assert response.status_code in (400, 422)
    assert needle in json.dumps(response.json())


def test_cli_goes_through_a_running_server(
    folder: tuple[Path, Path], client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While ``aifinops serve`` holds the ledger, the commands call the API with the same parameters."""
    calls: list[tuple[str, dict]] = []

    class FakeRemote:
        def call(self, method: str, path: str, params: dict | None = None, json: object = None) -> object:
            calls.append((path, dict(params or {})))
            response = client.request(method, path, params=params)
            assert response.status_code == 200, response.text
            return response.json()

    monkeypatch.setattr("aifinops.cli.main.find_server", lambda data_dir: FakeRemote())
    out = json.loads(
        _cli(folder, "report", "costs", "--by", "team", "--since", SINCE, "--allocated", "--format", "json")
    )
    assert {(r["team"], r["allocation"]) for r in out} >= {("support", "shared:gw")}
    cov = json.loads(_cli(folder, "report", "coverage", "--since", SINCE, "--top", "0", "--format", "json"))
    assert cov["untagged"] == [] and cov["total"]["cost"] == "11"
    assert calls[0] == ("/api/v1/costs", {"by": "team", "since": SINCE, "allocated": "true"})
    assert calls[1] == ("/api/v1/allocation/coverage", {"since": SINCE, "top": 0})
