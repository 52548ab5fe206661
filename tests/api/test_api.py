"""The REST API: JSON twins of the facade, one error shape, health endpoints."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from aifinops.api import create_server
from aifinops.app import App
from aifinops.core.settings import Settings
from tests.factories import rec


@pytest.fixture
def client() -> TestClient:
    app = App(Settings(), data_dir=None)
    app.ledger.append(
        [
            rec(1, team="search", effective_cost=Decimal("1.25")),
            rec(2, team="search", effective_cost=Decimal("0.000000000001")),
            rec(3, team="ads", effective_cost=Decimal("2")),
        ]
    )
    with TestClient(create_server(app)) as c:
        yield c
    app.close()


def test_costs_by_team_money_as_exact_strings(client: TestClient) -> None:
    rows = client.get("/api/v1/costs", params={"by": "team", "since": "2020-01-01"}).json()
    assert [(r["team"], r["cost"]) for r in rows] == [("ads", "2"), ("search", "1.250000000001")]


def test_costs_filters_and_grain(client: TestClient) -> None:
    rows = client.get(
        "/api/v1/costs", params={"since": "2020-01-01", "where": "team=search", "grain": "day"}
    ).json()
    assert len(rows) == 1 and rows[0]["requests"] == 2 and rows[0]["period"].startswith("2026-03-02")


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"since": "yesterday-ish"}, "since"),
        ({"grain": "fortnight"}, "grain"),
        ({"where": "team"}, "KEY=VALUE"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_bad_query_gets_the_one_error_shape(client: TestClient, params: dict, needle: str) -> None:
    response = client.get("/api/v1/costs", params=params)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert needle in body["error"]["message"]


def test_unknown_path_uses_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_records_pagination(client: TestClient) -> None:
    first = client.get("/api/v1/records", params={"limit": 2}).json()
    second = client.get("/api/v1/records", params={"limit": 2, "offset": first["next_offset"]}).json()
    ids = [r["record_id"] for r in first["data"] + second["data"]]
    assert len(ids) == 3 == len(set(ids))


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/costs" in spec["paths"]
    page = client.get("/")
    assert page.status_code == 200 and "/api/v1/costs" in page.text
