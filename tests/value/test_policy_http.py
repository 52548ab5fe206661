"""`policy simulate` over HTTP and through the CLI, on the ledger file and through a running server."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from aifinops.api import create_server
from aifinops.app import App
from aifinops.cli.main import Ctx, cli
from aifinops.core.settings import Settings
from tests.gateway.conftest import free_port, spawn_aifinops
from tests.recommend.traffic import T0, UNTIL, writer_migration

# the last 10 days of writer_migration: 400 calls on gpt-4o ($3.00), $0.18 on gpt-4o-mini
POLICY = 'models:\n  - name: mini\n    scope: {feature: writer}\n    deny: ["gpt-4o"]\n    route: {"gpt-4o": "gpt-4o-mini"}\n'
BAD = "models:\n  - name: mini\n    deny: [gpt-4o]\n    max_tokens: lots\n"
PARAMS = {"since": T0.isoformat(), "until": UNTIL.isoformat(), "owner": "team"}


@pytest.fixture
def client() -> TestClient:
    app = App(Settings(), data_dir=None)
    app.append(writer_migration())
    with TestClient(create_server(app)) as c:
        yield c
    app.close()


def test_policy_simulate_route(client: TestClient) -> None:
    reply = client.post("/api/v1/policy/simulate", params=PARAMS, json={"yaml": POLICY})
    assert reply.status_code == 200, reply.text
    [finding] = reply.json()
    assert finding["kind"] == "model_policy" and finding["routed"] == 400
    assert Decimal(finding["saving"]) == Decimal("2.82")
    assert finding["by_owner"]["content"]["routed"] == 400


def test_policy_simulate_route_errors_name_line_and_field(client: TestClient) -> None:
    bad = client.post("/api/v1/policy/simulate", params=PARAMS, json={"yaml": BAD})
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert "policy:4" in error["message"] and "max_tokens" in error["message"]
    not_yaml = client.post("/api/v1/policy/simulate", json={"yaml": "models: [unclosed"})
    assert not_yaml.status_code == 400 and "not valid YAML" in not_yaml.json()["error"]["message"]
    assert client.post("/api/v1/policy/simulate", json={}).status_code in (400, 422)
    when = client.post("/api/v1/policy/simulate", params={"since": "yesterdayish"}, json={"yaml": POLICY})
    assert when.status_code == 400 and "since" in when.json()["error"]["message"]


def _ledger(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    app = App(Settings(), data)
    app.append(writer_migration())
    app.close()
    (tmp_path / "policy.yaml").write_text(POLICY)
    return data


def _simulate(data: Path, tmp_path: Path, fmt: str = "json") -> str:
    args = ["--data-dir", str(data), "policy", "simulate", str(tmp_path / "policy.yaml")]
    out = CliRunner().invoke(
        cli, [*args, "--since", T0.isoformat(), "--until", UNTIL.isoformat(), "--format", fmt]
    )
    assert out.exit_code == 0, out.output
    return out.stdout


def _no_local(self: Ctx) -> None:
    raise AssertionError("the command opened the ledger file while the server holds it")


def test_cli_policy_simulate_on_the_file_and_through_a_running_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _ledger(tmp_path)
    local = json.loads(_simulate(data, tmp_path))
    assert Decimal(local[0]["saving"]) == Decimal("2.82")
    local_table = _simulate(data, tmp_path, "table")
    assert "400 routed" in local_table and "content" in local_table
    port = free_port()
    server = spawn_aifinops(["--data-dir", str(data), "serve", "--port", str(port)], port)
    try:
        # the server holds the ledger file: the command goes through POST /api/v1/policy/simulate
        # (opening the file here would be the bug: make it fail loudly)
        monkeypatch.setattr(Ctx, "open_app", _no_local)
        assert json.loads(_simulate(data, tmp_path)) == local
        assert _simulate(data, tmp_path, "table") == local_table
    finally:
        monkeypatch.undo()
        server.terminate()
        server.wait(timeout=30)
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    out = CliRunner().invoke(cli, ["--data-dir", str(data), "policy", "simulate", str(bad)])
    assert out.exit_code != 0 and "bad.yaml:4" in out.output and "max_tokens" in out.output


def test_recommend_says_semantic_caching_is_not_analysed(tmp_path: Path) -> None:
    data = _ledger(tmp_path)
    out = CliRunner().invoke(cli, ["--data-dir", str(data), "recommend", "--until", UNTIL.isoformat()])
    assert out.exit_code == 0, out.output
    assert "semantic (near-duplicate) caching is not analysed yet" in out.stderr
    only = CliRunner().invoke(cli, ["--data-dir", str(data), "recommend", "--kind", "batch"])
    assert "semantic" not in only.stderr
