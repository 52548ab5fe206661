"""KPIs of the hand-built ledger (tests/kpis/conftest.py), every expected value worked out by hand."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from aifinops.app import App
from aifinops.core.errors import InputError
from aifinops.kpis import KPIS
from tests.factories import T0
from tests.kpis.conftest import SINCE, UNTIL

D = Decimal


def _whole(app: App) -> dict:
    rows = app.kpis(since=SINCE, until=UNTIL)
    assert len(rows) == 1
    return rows[0]


def test_cost_per_inference_call_and_1k(app: App) -> None:
    row = _whole(app)
    # all spend: 0.0035 + 0.0070 + 0.00021 + 2.00 + 0 + 10 + 10 + 6 + 0.0035 + 0.00021
    assert row["cost"] == D("28.01442")
    # inference (hosted + self-hosted incl. the GPU hour): 2.01421 over r1, r2, r3, r6, r10 = 5 requests
    assert row["cost_per_inference"] == D("0.402842")
    assert row["cost_per_1k_inferences"] == D("402.842")
    # API calls: everything but training (2.01442) over 6 requests (the evaluation call included)
    assert row["cost_per_api_call"] == D("0.335736666667")


def test_token_costs_split_by_catalog_rates(app: App) -> None:
    row = _whole(app)
    # token spend excludes the self-hosted request (cost_in: gpu): r1, r2, r3, r10, r11 = 0.01442
    # input side: 0.0025 + 0.005 + 0.00015 + 0.0025 + 0.00015 = 0.0103 over 6000 input tokens
    assert row["cost_per_input_token"] == D("0.000001716667")
    # output side: 0.001 + 0.002 + 0.00006 + 0.001 + 0.00006 = 0.00412 over 600 output tokens
    assert row["cost_per_output_token"] == D("0.000006866667")
    assert row["cost_per_token"] == D("0.000002184848")  # 0.01442 / 6600
    assert row["token_cost_efficiency"] == pytest.approx(600 / 0.01442)


def test_training_run_and_efficiency(app: App) -> None:
    row = _whole(app)
    assert row["cost_per_training_run"] == D("13")  # 26 over run-a and run-b
    # useful GPU-hours: 2 x 0.5 + 2 x 0.75 + 1 x 1.0 = 3.5; 26 / 3.5
    assert row["training_cost_efficiency"] == D("7.428571428571")


def test_latency_to_cost_and_model_fit(app: App) -> None:
    row = _whole(app)
    # mean latency of inference records: (400 + 600 + 200 + 100 + 800) / 5 = 420 ms
    assert row["inference_latency_to_cost_ratio"] == pytest.approx(420 / 0.402842)
    # qa: 4400 tokens at gpt-4o-mini's 0.00021/1100 per token = 0.00084; ads-copy: its only model, 0.0035
    assert row["model_fit_score"] == pytest.approx((0.00084 + 0.0035) / 0.01421)


def test_value_outcomes_and_unit_costs(app: App) -> None:
    row = _whole(app)
    assert row["ai_roi"] == pytest.approx((9 - 28.01442) / 28.01442)
    assert row["cost_per_outcome"] == D("5.602884")  # 28.01442 / 5 outcomes
    assert row["cost_per_transaction"] == D("5.602884")  # r1+r2 (trace t1), r3, r6, r10, r11
    assert row["cost_per_customer"] == D("0.005355")  # 0.01071 over globex and initech
    assert row["cost_per_feature"] == D("0.004806666667")  # 0.01442 over answers, copy, evals


def test_time_to_value_and_first_deployment(app: App) -> None:
    row = _whole(app)
    # answers: first record T0-1d, first outcome T0+2h (26 h); copy: T0 -> T0+1h (1 h); median 13.5 h
    assert row["time_to_value_days"] == pytest.approx(13.5 / 24)
    # answers: dev at T0-1d, prod at T0 (1 day); copy: prod from the start (0); evals: never in prod
    assert row["time_to_first_deployment_days"] == pytest.approx(0.5)


def test_unavailable_areas_are_null_with_a_note(app: App) -> None:
    row = _whole(app)
    for name in ("gpu_utilization_rate", "anomaly_detection_rate", "mean_time_to_detect_minutes"):
        assert row[name] is None
        assert "not available" in row["notes"][name]
    assert set(row["notes"]) == {
        "gpu_utilization_rate",
        "anomaly_detection_rate",
        "mean_time_to_detect_minutes",
    }
    assert {k.name for k in KPIS} <= set(row)


def test_other_areas_feed_their_kpis(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        App, "anomaly_kpis", lambda self, **kw: {"detection_rate": 0.75, "mttd_minutes": 42.0}
    )
    monkeypatch.setattr(
        App, "gpu_utilization", lambda self, **kw: [{"team": "search", "utilization": 0.6}, {"team": "x"}]
    )
    monkeypatch.setattr(
        App,
        "value_summary",
        lambda self, **kw: [{"team": "search", "value": D("100"), "outcomes": 4}],
    )
    row = _whole(app)
    assert (row["anomaly_detection_rate"], row["mean_time_to_detect_minutes"]) == (0.75, 42.0)
    search = next(r for r in app.kpis(by=["team"], since=SINCE, until=UNTIL) if r["team"] == "search")
    assert search["gpu_utilization_rate"] == 0.6
    assert search["cost_per_outcome"] == search["cost"] / 4
    assert search["ai_roi"] == pytest.approx(float((D(100) - search["cost"]) / search["cost"]))
    assert "whole ledger" in search["notes"]["anomaly_detection_rate"]


def test_by_team(app: App) -> None:
    rows = {r["team"]: r for r in app.kpis(by=["team"], since=SINCE, until=UNTIL)}
    assert list(rows) == ["search", "ads"]  # most expensive first
    ads = rows["ads"]
    assert ads["cost"] == D("0.0035") and ads["cost_per_inference"] == D("0.0035")
    assert ads["cost_per_outcome"] == D("0.00175")  # 2 outcomes, none valued
    assert ads["ai_roi"] is None and ads["notes"]["ai_roi"] == "no valued outcomes or no spend"
    assert (
        ads["cost_per_training_run"] is None and ads["notes"]["cost_per_training_run"] == "no training runs"
    )
    assert ads["model_fit_score"] == 1.0
    search = rows["search"]
    assert search["ai_roi"] == pytest.approx((9 - 28.01092) / 28.01092)
    assert search["cost_per_transaction"] == D("7.00273")  # 28.01092 over t1, r3, r6 and r11


def test_grain_and_filters(app: App) -> None:
    rows = app.kpis(since=SINCE, until=UNTIL, grain="day")
    assert [(r["period"], r["cost"]) for r in rows] == [
        (T0 - timedelta(days=1), D("0.00021")),
        (T0, D("28.01421")),
    ]
    assert rows[0]["cost_per_outcome"] is None and rows[0]["notes"]["cost_per_outcome"] == "no outcomes"
    assert "per period" in rows[1]["notes"]["gpu_utilization_rate"]
    only = app.kpis(since=SINCE, until=UNTIL, where={"team": "ads"}, names=["cost_per_inference"])
    assert only == [{"cost": D("0.0035"), "cost_per_inference": D("0.0035"), "notes": {}}]
    by_model = app.kpis(by=["model"], since=SINCE, until=UNTIL, names=["cost_per_outcome"])
    assert all("cannot be attributed" in r["notes"]["cost_per_outcome"] for r in by_model)


def test_bad_input(app: App) -> None:
    with pytest.raises(InputError, match="unknown KPI"):
        app.kpis(names=["cost_per_unicorn"])
    with pytest.raises(InputError, match="grain"):
        app.kpis(grain="fortnight")


def test_empty_ledger_and_definitions(app: App) -> None:
    assert app.kpis(since=T0 + timedelta(days=30)) == []
    names = [d["name"] for d in app.kpi_definitions()]
    assert len(names) == len(set(names)) == len(KPIS) >= 21
    assert all(d["formula"] and d["unit"] for d in app.kpi_definitions())


def test_by_feature_and_by_tag(app: App) -> None:
    rows = {r["feature"]: r for r in app.kpis(by=["feature"], since=SINCE, until=UNTIL)}
    answers = rows["answers"]
    assert answers["cost"] == D("0.01071") and answers["cost_per_outcome"] == D("0.00357")  # 3 outcomes
    assert answers["ai_roi"] == pytest.approx((9 - 0.01071) / 0.01071)
    assert answers["time_to_value_days"] == pytest.approx(26 / 24)  # T0-1d -> T0+2h
    assert answers["time_to_first_deployment_days"] == pytest.approx(1.0)
    assert answers["cost_per_customer"] == D("0.005355")  # globex 0.00371 + initech 0.007, 2 customers
    runs = {r["run_id"]: r for r in app.kpis(by=["run_id"], since=SINCE, until=UNTIL)}
    assert runs["run-a"]["cost_per_training_run"] == D(20)
    assert runs["run-a"]["training_cost_efficiency"] == D(8)  # 20 / (2 x 0.5 + 2 x 0.75)
