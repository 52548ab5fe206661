"""On a small demo: every injected incident is found; the API and CLI over the same facade."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aifinops.api import create_server
from aifinops.app import App
from aifinops.core.settings import Settings
from aifinops.demo import generate

SEED, DAYS, SCALE = 3, 30, 0.2
#: incident -> (anomaly kinds that find it, owner)
EXPECTED = {
    "idle-gpu-endpoint": (("idle_endpoint",), "platform"),
    "prompt-bloat": (("prompt_bloat",), "search"),
    "runaway-training": (("runaway_training",), "data-science"),
    "model-tier-shift": (("spend_spike", "spend_shift", "model_mix_shift"), "marketing"),
    "retry-storm": (("error_surge", "retry_surge"), "support"),
    "runaway-agent-loop": (("runaway_workflow",), "data-science"),
}


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[App, dict[str, Any]]]:
    settings = Settings.model_validate(
        {"budgets": [{"name": "search-monthly", "scope": {"team": "search"}, "period": "month", "amount": 1}]}
    )
    app = App(settings, None)
    summary = app.load_demo(seed=SEED, days=DAYS, scale=SCALE)
    yield app, summary
    app.close()


def test_every_demo_incident_is_found_soon_after_it_starts(demo: tuple[App, dict[str, Any]]) -> None:
    app, summary = demo
    windows = generate(SEED, days=DAYS, scale=SCALE, end=summary["end"]).incidents
    found = app.find_anomalies(now=summary["end"])
    for name, (kinds, owner) in EXPECTED.items():
        start, end = windows[name]
        hits = [
            a
            for a in found
            if a["kind"] in kinds
            and a["owner"] == owner
            and start <= a["detected_at"] <= end + timedelta(hours=1)
        ]
        assert hits, f"{name} not found"
        delay = min(a["detected_at"] for a in hits) - start
        assert delay <= timedelta(hours=12), f"{name} found {delay} after it started"
        assert all(a["explanation"] and a["impact"] >= 0 for a in hits)


@pytest.fixture(scope="module")
def client(demo: tuple[App, dict[str, Any]]) -> Iterator[TestClient]:
    app, summary = demo
    app.detect_anomalies(now=summary["end"])
    with TestClient(create_server(app)) as c:
        yield c


def test_list_ack_and_resolve_over_http(client: TestClient) -> None:
    rows = client.get("/api/v1/anomalies", params={"kind": "runaway_training", "since": "60d"}).json()
    assert rows and rows[0]["kind"] == "runaway_training" and rows[0]["owner"] == "data-science"
    aid = rows[0]["anomaly_id"]
    acked = client.post(f"/api/v1/anomalies/{aid}/ack", json={"by": "ana"})
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    again = client.post(f"/api/v1/anomalies/{aid}/ack")
    assert again.status_code == 409 and again.json()["error"]["code"]
    resolved = client.post(f"/api/v1/anomalies/{aid}/resolve")
    assert resolved.json()["status"] == "resolved"
    listed = client.get("/api/v1/alerts", params={"status": "resolved"}).json()
    assert any(a["alert_id"] == resolved.json()["alert_id"] for a in listed)


def test_budget_threshold_goes_through_the_alert_path(client: TestClient) -> None:
    rows = client.get("/api/v1/anomalies", params={"kind": "budget_threshold"}).json()
    assert [r["subject"] for r in rows] == ["search-monthly@1.0"]  # $1 budget: the 100 % threshold is crossed


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/api/v1/alerts", {"status": "bogus"}, 400),
        ("/api/v1/anomalies", {"kind": "bogus"}, 400),
        ("/api/v1/anomalies", {"since": "yesterday-ish"}, 400),
        ("/api/v1/forecast", {"budget": "nope"}, 404),
        ("/api/v1/forecast", {"horizon": 0}, 400),
    ],
)
def test_bad_requests_get_the_error_shape(client: TestClient, path: str, params: dict, status: int) -> None:
    response = client.get(path, params=params)
    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_unknown_anomaly_is_404(client: TestClient) -> None:
    assert client.post("/api/v1/anomalies/an_missing/ack").status_code == 404


def test_forecast_by_team_and_for_a_budget(client: TestClient) -> None:
    body = client.get("/api/v1/forecast", params={"by": "team", "horizon": 7}).json()
    teams = {s["key"]["team"] for s in body["series"]}
    assert {"search", "support", "data-science"} <= teams
    first = body["series"][0]
    assert len(first["days"]) == 7
    day = first["days"][0]
    assert float(day["lower"]) <= float(day["mean"]) <= float(day["upper"])
    me = first["month_end"]
    assert float(me["lower"]) <= float(me["expected"]) <= float(me["upper"])
    budget = client.get("/api/v1/forecast", params={"budget": "search-monthly"}).json()["series"][0]["budget"]
    assert budget["name"] == "search-monthly" and budget["overrun_probability"] == 1.0


def test_scenario_planner_over_http(client: TestClient) -> None:
    good = {"model": "gpt-4o-mini", "requests_per_day": 5000, "input_tokens": 800, "output_tokens": 200}
    out = client.post("/api/v1/forecast/scenario", json=good).json()
    assert out["percentile"] == 80 and float(out["total"]) > 0 and float(out["p95"]) >= float(out["total"])
    unknown = client.post("/api/v1/forecast/scenario", json={**good, "model": "no-such-model-xyz"})
    assert unknown.status_code == 400 and "no price" in unknown.json()["error"]["message"]
    extra = client.post("/api/v1/forecast/scenario", json={**good, "color": "red"})
    assert extra.status_code == 400


def test_anomaly_kpis_keep_their_keys(demo: tuple[App, dict[str, Any]], client: TestClient) -> None:
    app, summary = demo
    kpis = app.anomaly_kpis(since=summary["start"], until=summary["end"])
    assert 0.9 <= kpis["detection_rate"] <= 1.0  # from the harness run behind the KPI
    assert kpis["mttd_source"] == "live" and kpis["anomalies"] > 0
    assert kpis["mttd_minutes"] > 0
    assert sum(kpis["alerts"].values()) > 0
    empty = app.anomaly_kpis(since=summary["end"], until=summary["end"])
    assert empty["anomalies"] == 0 and empty["mttd_source"] == "harness"


def test_budget_alert_is_delivered_with_default_routes_and_each_threshold_alerts_once() -> None:
    from tests.factories import T0, rec

    settings = Settings.model_validate(
        {
            "budgets": [
                {
                    "name": "s",
                    "scope": {"team": "search"},
                    "period": "month",
                    "amount": 10,
                    "alert_at": [0.5, 1.0],
                }
            ],
            "alerts": {
                "channels": {"h": {"type": "webhook", "url": "http://127.0.0.1:9/x", "timeout_seconds": 1}},
                "routes": [{"channels": ["h"]}],
            },
        }
    )
    app = App(settings, None)
    from decimal import Decimal

    app.append([rec(1, team="search", effective_cost=Decimal(6))])
    now = T0 + timedelta(hours=1)
    app.detect_anomalies(now=now)
    [first] = app.list_alerts()
    assert first["kind"] == "budget_threshold" and first["severity"] == "medium"
    assert [d["channel"] for d in app.alert_deliveries(first["alert_id"])] == [
        "h"
    ]  # routed (the receiver is down)
    app.append([rec(2, team="search", effective_cost=Decimal(5))])
    app.detect_anomalies(now=now)
    alerts = app.list_alerts()
    assert sorted(a["severity"] for a in alerts) == [
        "high",
        "medium",
    ]  # the 100 % crossing is an alert of its own
    app.detect_anomalies(now=now)
    assert len(app.list_alerts()) == 2  # seen again: nothing new
