"""The value area's HTTP routes and commands, and the outcome helper, on hand-built traffic."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

import aifinops
from aifinops.api import create_server
from aifinops.app import App
from aifinops.cli.main import cli
from aifinops.core.errors import AifinopsError, InputError
from aifinops.core.settings import Settings
from tests.recommend.traffic import UNTIL, writer_migration


@pytest.fixture
def client() -> TestClient:
    app = App(Settings(value={"min_monthly_saving": 0}), data_dir=None)
    app.append(writer_migration())
    with TestClient(create_server(app)) as c:
        yield c
    app.close()


def test_recommend_apply_and_savings_over_http(client: TestClient) -> None:
    until = UNTIL.isoformat()
    [rec] = client.get("/api/v1/recommendations", params={"until": until}).json()
    assert rec["kind"] == "model_rightsizing" and Decimal(rec["monthly_saving"]) == Decimal("8.46")
    done = client.post(f"/api/v1/recommendations/{rec['id']}/apply", json={"applied_at": until, "note": "x"})
    assert done.status_code == 200, done.text
    again = client.post(f"/api/v1/recommendations/{rec['id']}/apply", json={"applied_at": until})
    assert again.status_code == 409 and again.json()["error"]["code"]
    missing = client.post("/api/v1/recommendations/nope/apply", json={"applied_at": until})
    assert missing.status_code == 404
    [row] = client.get("/api/v1/savings").json()
    assert row["id"] == rec["id"] and Decimal(row["expected_monthly_saving"]) == Decimal("8.46")
    assert client.get("/api/v1/recommendations", params={"kind": "nope"}).status_code == 400


def test_outcomes_value_zombies_maturity_over_http(client: TestClient) -> None:
    body = [
        {
            "occurred_at": "2026-03-25T00:00:00Z",
            "outcome_type": "article",
            "count": 2,
            "value": "10",
            "feature": "writer",
            "initiative": "content",
        },
    ]
    assert client.post("/api/v1/outcomes", json=body).json() == {"inserted": 1, "duplicates": 0}
    bad = client.post("/api/v1/outcomes", json={"outcome_type": "x"})
    assert bad.status_code == 400 and "occurred_at" in " ".join(bad.json()["error"]["details"])
    assert client.post("/api/v1/outcomes", content=b"{nope").status_code == 400
    [row] = client.get(
        "/api/v1/value", params={"by": "feature", "since": "2026-03-01", "until": UNTIL.isoformat()}
    ).json()
    # $0.36 on gpt-4o-mini + $3.00 on gpt-4o; 2 outcomes worth $10
    assert Decimal(row["cost"]) == Decimal("3.36") and Decimal(row["cost_per_outcome"]) == Decimal("1.68")
    assert row["roi"] == pytest.approx((10 - 3.36) / 3.36)
    assert client.get("/api/v1/value", params={"by": "model"}).status_code == 400
    assert client.get("/api/v1/zombies").status_code == 200
    assert client.get("/api/v1/maturity").json()["stage"] in ("crawl", "walk", "run")


def test_cli_recommend_apply_and_reports(tmp_path: Path) -> None:
    app = App(Settings(), tmp_path)
    app.append(writer_migration())
    app.close()
    config = tmp_path / "aifinops.yaml"
    config.write_text("value: {min_monthly_saving: 0}\n")
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path), "--config", str(config)]
    out = runner.invoke(cli, [*base, "recommend", "--until", UNTIL.isoformat(), "--format", "json"])
    assert out.exit_code == 0, out.output
    [rec] = json.loads(out.stdout)
    table = runner.invoke(cli, [*base, "recommend", "--until", UNTIL.isoformat(), "--show-change"])
    assert rec["id"] in table.stdout and "route:" in table.stdout
    applied = runner.invoke(cli, [*base, "recommend", "apply", rec["id"], "--at", UNTIL.isoformat()])
    assert applied.exit_code == 0, applied.output
    twice = runner.invoke(cli, [*base, "recommend", "apply", rec["id"], "--at", UNTIL.isoformat()])
    assert twice.exit_code == 1 and "applied already" in twice.output
    savings = runner.invoke(cli, [*base, "report", "savings", "--format", "json"])
    assert json.loads(savings.stdout)[0]["id"] == rec["id"]
    for args in (["report", "zombies"], ["maturity"], ["report", "value", "--since", "2026-03-01"]):
        result = runner.invoke(cli, [*base, *args])
        assert result.exit_code == 0, result.output
    bad = runner.invoke(cli, [*base, "report", "value", "--by", "model"])
    assert bad.exit_code == 1 and "group by" in bad.output


def test_record_outcome_helper_posts_to_the_api() -> None:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"] = str(request.url)
        seen["body"] = json.loads(request.content)
        seen["auth"] = request.headers.get("authorization")
        return httpx.Response(200, json={"inserted": 1, "duplicates": 0})

    result = aifinops.record_outcome(
        "ticket_resolved",
        value=Decimal("9.50"),
        feature="support",
        url="http://x:1",
        api_key="k",
        outcome_id="t-1",
        transport=httpx.MockTransport(handler),
    )
    assert result["inserted"] == 1 and seen["url"] == "http://x:1/api/v1/outcomes"
    assert (
        seen["body"]["value"] == "9.50"
        and seen["body"]["feature"] == "support"
        and seen["auth"] == "Bearer k"
    )
    with pytest.raises(InputError, match="colour"):
        aifinops.record_outcome("x", colour="red")
    refuse = httpx.MockTransport(
        lambda r: httpx.Response(400, json={"error": {"code": "bad", "message": "no", "details": []}})
    )
    with pytest.raises(AifinopsError, match="no"):
        aifinops.record_outcome("x", url="http://x:1", transport=refuse)
    assert "record_outcome" in aifinops.__all__


def test_cli_policy_simulate_per_owner(tmp_path: Path) -> None:
    app = App(Settings(), tmp_path)
    app.append(writer_migration())
    app.close()
    policy = tmp_path / "new.yaml"
    policy.write_text(
        'models:\n  - {name: mini, scope: {team: content}, deny: ["gpt-4o"], route: {"gpt-4o": "gpt-4o-mini"}}\n'
    )
    runner = CliRunner()
    base = [
        "--data-dir",
        str(tmp_path),
        "policy",
        "simulate",
        str(policy),
        "--since",
        "2026-03-01",
        "--until",
        "2026-04-01",
    ]
    [finding] = json.loads(runner.invoke(cli, [*base, "--format", "json"]).stdout)
    # 400 calls on gpt-4o: $3.00, $0.18 on gpt-4o-mini
    assert finding["by_owner"] == {"content": {"routed": 400, "saving": "2.82"}}
    table = runner.invoke(cli, base).stdout
    assert "per team" in table and "$2.82" in table
    by_feature = runner.invoke(cli, [*base, "--owner", "feature"]).stdout
    assert "per feature" in by_feature and "writer" in by_feature
