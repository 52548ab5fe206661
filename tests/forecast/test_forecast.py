"""Forecasts on synthetic seasonal series with known answers; projections, run-out dates, MAPE, scenarios."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from aifinops.forecast import Workload, forecast_daily, mape, plan_scenario, project_total, runout_date

WEEK = np.array([100.0, 110, 120, 115, 105, 40, 30])  # Monday..Sunday


def test_weekly_pattern_is_forecast_within_a_few_percent() -> None:
    rng = np.random.default_rng(1)
    history = np.tile(WEEK, 8) * rng.lognormal(0, 0.03, 56)
    fc = forecast_daily(history, horizon=14, seed=1)
    truth = np.tile(WEEK, 2)
    assert fc.method.startswith("ets")
    assert mape(truth, fc.mean) < 0.05
    assert np.all(fc.lower <= fc.mean) and np.all(fc.mean <= fc.upper)
    inside = np.mean((fc.lower <= truth) & (truth <= fc.upper))
    assert inside >= 0.7  # an 80 % interval covers most of the true values


def test_trend_is_followed() -> None:
    days = np.arange(70)
    history = 50 + 2.0 * days  # +2 a day
    fc = forecast_daily(history, horizon=7, seed=0)
    assert fc.mean[0] == pytest.approx(50 + 2 * 70, rel=0.05)


def test_short_history_falls_back_to_the_recent_mean() -> None:
    fc = forecast_daily([10.0, 12, 11, 9, 10, 11, 12, 10, 11, 10], horizon=5)
    assert fc.method == "mean"
    assert fc.mean.tolist() == [10.6] * 5


def test_bad_horizon_is_refused() -> None:
    with pytest.raises(ValueError, match="horizon"):
        forecast_daily([1.0] * 30, horizon=0)


def test_month_end_projection_adds_the_forecast_to_the_actuals() -> None:
    fc = forecast_daily([20.0] * 10, horizon=10)  # mean 20, no spread
    total = project_total(300.0, fc, days=5)
    assert total["expected"] == pytest.approx(400.0)
    assert total["lower"] == pytest.approx(400.0) and total["upper"] == pytest.approx(400.0)


def test_runout_date_on_a_constant_burn() -> None:
    fc = forecast_daily([100.0] * 10, horizon=30)
    out = runout_date(spent=450.0, amount=1000.0, fc=fc, first_day=date(2026, 3, 10), days=20)
    # 450 + 100 x 6 = 1050 >= 1000 on the sixth day (index 5)
    assert out["runs_out"] == date(2026, 3, 15)
    assert out["overrun_probability"] == 1.0
    safe = runout_date(spent=0.0, amount=10_000.0, fc=fc, first_day=date(2026, 3, 10), days=20)
    assert safe == {"runs_out": None, "overrun_probability": 0.0}


def test_mape_by_hand() -> None:
    assert mape([100, 200, 0], [110, 150, 5]) == pytest.approx((0.1 + 0.25) / 2)
    assert mape([0, 0], [1, 2]) is None


def _workload(**kw: object) -> Workload:
    base = {
        "requests_per_day": 10_000,
        "input_tokens": 1_000,
        "output_tokens": 200,
        "input_price": Decimal("0.000003"),
        "output_price": Decimal("0.000015"),
    }
    return Workload(**{**base, **kw})  # type: ignore[arg-type]


def test_cost_per_request_is_exact() -> None:
    w = _workload(cached_share=0.5, cached_price=Decimal("0.0000003"))
    # 500 x 3e-6 + 500 x 3e-7 + 200 x 1.5e-5
    assert w.cost_per_request() == Decimal("0.0015") + Decimal("0.00015") + Decimal("0.003")


def test_scenario_without_uncertainty_is_the_logistic_curve() -> None:
    w = _workload(uncertainty=0.0, ramp_days=10, days=30)
    out = plan_scenario(w, percentile=80)
    t = np.arange(30) + 0.5
    curve = 10_000 / (1 + np.exp(-8 * (t / 10 - 0.5)))
    expected = float((curve * 0.006).sum())
    assert float(out["total"]) == pytest.approx(expected, abs=0.01)
    assert out["median"] == out["total"] == out["p95"]
    assert float(out["last_day"]) == pytest.approx(10_000 * 0.006, rel=0.01)


def test_higher_percentiles_cost_more() -> None:
    w = _workload(uncertainty=0.5)
    p50, p80 = plan_scenario(w, percentile=50), plan_scenario(w, percentile=80)
    assert p50["total"] < p80["total"] < p80["p95"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("requests_per_day", 0, "requests_per_day"), ("cached_share", 1.5, "cached_share"), ("days", 0, "days")],
)
def test_bad_workloads_are_refused(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _workload(**{field: value})
