"""`/api/v1/overview` and `/api/v1/usage/models`: the dashboard's summaries, checked against hand-made ledgers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient

from aifinops.api.server import create_server
from aifinops.app import App
from aifinops.core.settings import Settings
from aifinops.facade.overview import model_usage, overview
from tests.factories import rec

NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)  # a Wednesday; March has 31 days
DAY = timedelta(days=1)
TODAY = datetime(2026, 3, 18, tzinfo=UTC)


def _cost(value: str) -> dict:
    d = Decimal(value)
    return {"list_cost": d, "effective_cost": d, "billed_cost": d}


def _app() -> App:
    app = App(Settings(), None)
    app.append(
        [
            rec("today-a", at=TODAY + timedelta(hours=9), team="search", model="gpt-4o", **_cost("2.50")),
            rec("today-b", at=TODAY + timedelta(hours=1), team="ads", model="gpt-4o", **_cost("1.25")),
            # last 7 complete days (Mar 11..17): search 10, ads 1
            rec("y", at=TODAY - DAY, team="search", model="gpt-4o", **_cost("4")),
            rec("d3", at=TODAY - 3 * DAY, team="search", model="gpt-4o", **_cost("6")),
            rec("d7", at=TODAY - 7 * DAY, team="ads", model="claude", **_cost("1")),
            # the 7 days before (Mar 4..10): search 1, ads 5
            rec("d8", at=TODAY - 8 * DAY, team="search", model="gpt-4o", **_cost("1")),
            rec("d10", at=TODAY - 10 * DAY, team="ads", model="claude", **_cost("5")),
            # training, last month: outside month to date, inside the 30-day window
            rec(
                "feb",
                at=datetime(2026, 2, 25, tzinfo=UTC),
                team="ml",
                model=None,
                category="training",
                **_cost("100"),
            ),
            # unpriced, this month
            rec(
                "u",
                at=TODAY - 2 * DAY,
                team="ads",
                model="mystery",
                cost_status="unpriced",
                list_cost=None,
                effective_cost=None,
                billed_cost=None,
            ),
            # older than the window: ignored
            rec("old", at=TODAY - 40 * DAY, team="search", **_cost("1000")),
        ]
    )
    return app


def test_overview_figures_by_hand() -> None:
    o = overview(_app(), now=NOW)
    assert o["today"]["cost"] == Decimal("3.75")
    assert o["yesterday"]["cost"] == Decimal("4")
    # March: 3.75 + 4 + 6 + 1 + 1 + 5 = 20.75 (the February training run is outside)
    assert o["month_to_date"]["cost"] == Decimal("20.75")
    # run rate: last 7 complete days = 4 + 6 + 1 = 11 -> 11/7 a day (to the micro-dollar); forecast: the
    # complete days of March (20.75 - 3.75 today = 17) plus 14 days left (18th..31st) at the run rate
    rate = Decimal("1.571429")
    assert o["forecast"]["daily_run_rate"] == rate
    assert o["forecast"]["month_end_cost"] == Decimal(17) + 14 * rate
    assert o["total"] == {"cost": Decimal("120.75"), "requests": 9, "unpriced_records": 1}
    assert o["training_vs_inference"] == {
        "training": Decimal(100),
        "inference": Decimal("20.75"),
        "other": Decimal(0),
    }
    assert [(t["team"], t["cost"]) for t in o["top_teams"]] == [
        ("ml", Decimal(100)),
        ("search", Decimal("13.5")),
        ("ads", Decimal("7.25")),
    ]
    assert o["top_teams"][0]["share"] == float(Decimal(100) / Decimal("120.75"))
    daily = {d["day"]: d for d in o["daily"]}
    assert daily[TODAY]["cost"] == Decimal("3.75")
    assert daily[datetime(2026, 2, 25, tzinfo=UTC)]["by_category"] == {"training": Decimal(100)}
    # movers: search +9 (1 -> 10), gpt-4o +9 (1 -> 10), claude -4 (5 -> 1), ads -4 (5 -> 1)
    movers = [(m["dimension"], m["value"], m["change"]) for m in o["top_movers"]]
    assert movers[:2] == [("model", "gpt-4o", Decimal(9)), ("team", "search", Decimal(9))]
    assert set(movers[2:4]) == {("model", "claude", Decimal(-4)), ("team", "ads", Decimal(-4))}
    assert o["top_movers"][1]["change_ratio"] == 9.0


def test_overview_of_an_empty_ledger() -> None:
    o = overview(App(Settings(), None), now=NOW)
    assert o["month_to_date"]["cost"] == 0 and o["forecast"]["month_end_cost"] == 0
    assert o["top_movers"] == [] and o["daily"] == [] and o["by_category"] == []


def test_overview_route_and_bad_days() -> None:
    client = TestClient(create_server(_app()))
    body = client.get("/api/v1/overview").json()
    assert set(body) >= {"today", "month_to_date", "forecast", "by_category", "top_movers", "daily"}
    assert isinstance(body["month_to_date"]["cost"], str)  # money as a decimal string
    bad = client.get("/api/v1/overview", params={"days": 0})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"


def test_model_usage_by_hand() -> None:
    app = App(Settings(), None)
    app.append(
        [
            rec(
                1,
                model="gpt-4o",
                requests=2,
                input_tokens=300,
                cached_input_tokens=100,
                output_tokens=10,
                **_cost("0.02"),
            ),
            rec(
                2,
                model="gpt-4o",
                requests=2,
                input_tokens=0,
                cached_input_tokens=0,
                output_tokens=10,
                **_cost("0.02"),
            ),
            rec(3, model="emb", requests=0, input_tokens=0, output_tokens=0, **_cost("0")),
        ]
    )
    rows = {r["model"]: r for r in model_usage(app)}
    assert rows["gpt-4o"]["cost_per_1k_requests"] == Decimal("10")  # 0.04 * 1000 / 4
    assert rows["gpt-4o"]["cache_hit_rate"] == 0.25  # 100 cached of 400 input tokens
    assert rows["emb"]["cost_per_1k_requests"] is None and rows["emb"]["cache_hit_rate"] is None
    client = TestClient(create_server(app))
    body = client.get("/api/v1/usage/models", params={"since": "2026-01-01"}).json()
    assert {r["model"]: r["cost_per_1k_requests"] for r in body} == {"gpt-4o": "10", "emb": None}
    assert client.get("/api/v1/usage/models", params={"since": "soon"}).status_code == 400
