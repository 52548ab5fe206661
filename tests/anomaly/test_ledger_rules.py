"""Ledger-side rules of detection: the authoritative source, drivers of a spend anomaly, the daily forecast
snapshot, and the evaluation harness kept off the HTTP API."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient

from aifinops.alerts import AnomalyRunner
from aifinops.anomaly import Anomaly
from aifinops.api import create_server
from aifinops.app import App
from aifinops.core.settings import Settings
from aifinops.facade import _anomaly_data as data
from tests.factories import T0, rec


def _app() -> App:
    return App(Settings(), None)


def test_calls_seen_by_gateway_and_otlp_count_once_in_the_detector_series() -> None:
    app = _app()
    calls = [
        rec(
            i,
            at=T0 + timedelta(minutes=i),
            team="a",
            effective_cost=Decimal("0.50"),
            list_cost=Decimal("0.50"),
        )
        for i in range(6)
    ]
    mirrored = [
        rec(i, source="otlp", at=T0 + timedelta(minutes=i), team="a", effective_cost=Decimal("0.50"))
        for i in range(6)
    ]
    app.append(calls + mirrored)
    series = data.read_series(
        app.ledger, app.ledger.cost_column, "team", T0, T0 + timedelta(hours=1), timedelta(minutes=5)
    )
    assert [s.owner for s in series] == ["a"]
    # six calls of 0.50: 3.00 once (gateway is authoritative), not 6.00; five in the first slot, one in the next
    assert series[0].cost.sum() == 3.0 and series[0].requests.sum() == 6
    assert series[0].cost[:2].tolist() == [2.5, 0.5]
    app.close()


def test_a_spend_anomaly_names_the_feature_and_model_that_drove_it() -> None:
    app = _app()
    records = []
    for day in (0, 7, 14):  # the same hour on three Mondays: chat as usual, then a batch on the last one
        at = T0 + timedelta(days=day, hours=10)
        records.append(rec(f"c{day}", at=at, team="a", feature="chat", effective_cost=Decimal("1.00")))
    records.append(
        rec(
            "b14",
            at=T0 + timedelta(days=14, hours=10, minutes=5),
            team="a",
            feature="batch",
            model="gpt-5",
            effective_cost=Decimal("5.00"),
        )
    )
    app.append(records)
    start, end = T0 + timedelta(days=14, hours=10), T0 + timedelta(days=14, hours=11)
    current, usual = data.read_breakdown(app.ledger, app.ledger.cost_column, "team", "a", start, end, T0)
    assert dict(current["feature"]) == {"chat": 1.0, "batch": 5.0}
    assert dict(usual["feature"]) == {"chat": 1.0}  # the mean of the two earlier Mondays
    a = Anomaly("spend_spike", "a", "a", start, start, end, 1.0, 6.0, "cost", 5.0, "spend of a spiked")
    app._explain_drivers(a, T0)
    assert a.details["drivers"]["feature"][0] == {
        "key": "batch",
        "observed": 5.0,
        "usual": 0.0,
        "excess": 5.0,
        "share": 1.0,
    }
    assert [d["key"] for d in a.details["drivers"]["model"]] == ["gpt-5"]
    assert "driven by feature batch (+5.00, 100% of the excess)" in a.explanation
    assert "model gpt-5 (+5.00, 100% of the excess)" in a.explanation
    app.close()


def test_forecast_snapshot_is_stored_once_a_day() -> None:
    app = _app()
    app.append(
        [
            rec(d, at=T0 + timedelta(days=d, hours=12), team="a", effective_cost=Decimal("10"))
            for d in range(21)
        ]
    )
    now = T0 + timedelta(days=21, hours=3)
    assert app.snapshot_forecasts(now=now) == 2
    rows = app.ledger.query("SELECT scope, made_on FROM forecast_snapshots ORDER BY scope")
    assert {r["scope"] for r in rows} == {"total", "team=a"}
    assert all(r["made_on"] == now.date() for r in rows)
    assert app.snapshot_forecasts(now=now + timedelta(hours=5)) == 0  # already stored today
    assert app.snapshot_forecasts(now=now + timedelta(days=1)) == 2  # a new day, a new snapshot
    app.close()


def test_the_runner_takes_the_snapshot_after_each_detection_run() -> None:
    app = _app()
    calls: list[int] = []
    app.snapshot_forecasts = lambda: calls.append(1) or 1  # type: ignore[method-assign]
    runner = AnomalyRunner(app, interval=0.05)
    assert runner.start()
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while runner.runs < 2 and datetime.now(UTC) < deadline:
        time.sleep(0.02)
    runner.stop()
    assert len(calls) >= 2 and runner.snapshots == len(calls)


def test_the_evaluation_harness_is_not_served_over_http() -> None:
    app = _app()
    with TestClient(create_server(app)) as client:
        assert client.get("/api/v1/anomalies/evaluate").status_code in (404, 405)
        assert client.post("/api/v1/anomalies/evaluate").status_code in (404, 405)
    app.close()


def test_materiality_is_configurable_and_validated() -> None:
    import pytest
    from pydantic import ValidationError

    app = App(Settings.model_validate({"anomaly": {"materiality": 0.25, "min_impact": 3}}), None)
    cfg = app._detector_config()
    assert (cfg.materiality, cfg.min_impact) == (0.25, 3.0)
    app.close()
    with pytest.raises(ValidationError, match="materiality"):
        Settings.model_validate({"anomaly": {"materiality": -1}})
