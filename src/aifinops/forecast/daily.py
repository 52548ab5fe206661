"""Daily spend forecasts with prediction intervals (statsmodels ETS), month-end projections, budget run-out
dates and forecast accuracy (MAPE)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

__all__ = ["Forecast", "forecast_daily", "project_total", "runout_date", "mape"]


@dataclass
class Forecast:
    """``horizon`` days ahead: mean and the ``level`` prediction interval, per day, plus sample paths."""

    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    level: float
    method: str
    paths: np.ndarray  # (n_paths, horizon) simulated futures, for sums over several days

    def to_rows(self, first_day: date) -> list[dict[str, object]]:
        return [
            {
                "day": first_day + timedelta(days=i),
                "mean": float(self.mean[i]),
                "lower": float(self.lower[i]),
                "upper": float(self.upper[i]),
            }
            for i in range(len(self.mean))
        ]


def _fallback(y: np.ndarray, horizon: int, level: float, rng: np.random.Generator) -> Forecast:
    """Too little history for a seasonal model: the recent mean, with the spread of recent days."""
    recent = y[-14:] if len(y) else np.zeros(1)
    mu = float(np.mean(recent))
    sd = float(np.std(recent, ddof=1)) if len(recent) > 1 else mu * 0.5
    paths = np.clip(rng.normal(mu, max(sd, 1e-9), size=(500, horizon)), 0, None)
    q = (1 - level) / 2
    return Forecast(
        np.full(horizon, mu),
        np.quantile(paths, q, axis=0),
        np.quantile(paths, 1 - q, axis=0),
        level,
        "mean",
        paths,
    )


def forecast_daily(
    values: np.ndarray | list[float],
    *,
    horizon: int = 30,
    start_weekday: int | None = None,
    level: float = 0.8,
    paths: int = 500,
    seed: int = 0,
) -> Forecast:
    """Forecast a daily series ``horizon`` days ahead.

    With at least three weeks of history: ETS with additive damped trend and weekly seasonality on
    log spend (statsmodels ``ETSModel``), so weekends stay proportionally quieter and the forecast never
    goes negative; intervals and paths are simulated from the fitted model. Shorter histories get the
    recent mean. ``start_weekday`` is unused by the model (the weekly phase is learned) and kept for callers
    that label days.
    """
    y = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    if horizon < 1:
        raise ValueError("horizon must be at least 1 day")
    if len(y) < 21 or np.count_nonzero(y) < 14:
        return _fallback(y, horizon, level, rng)
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    eps = max(float(np.mean(y)) * 0.01, 1e-9)
    logy = np.log(np.clip(y, 0, None) + eps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ETSModel(
            logy, error="add", trend="add", damped_trend=True, seasonal="add", seasonal_periods=7
        )
        fit = model.fit(disp=False, maxiter=200)
        sims = fit.simulate(horizon, repetitions=paths, anchor="end", rng=rng)
        point = fit.forecast(horizon)
    sims = np.asarray(sims).T.reshape(paths, horizon)
    resid_var = float(np.var(fit.resid[-28:]))  # log-normal mean correction
    mean = np.exp(np.asarray(point) + resid_var / 2) - eps
    future = np.clip(np.exp(sims) - eps, 0, None)
    q = (1 - level) / 2
    return Forecast(
        np.clip(mean, 0, None),
        np.quantile(future, q, axis=0),
        np.quantile(future, 1 - q, axis=0),
        level,
        "ets(log, A-Ad-A, 7)",
        future,
    )


def project_total(
    actual_to_date: float, fc: Forecast, days: int, level: float | None = None
) -> dict[str, float]:
    """Actual so far plus the forecast of the next ``days`` days: expected total and its interval."""
    days = max(0, min(days, len(fc.mean)))
    sums = actual_to_date + fc.paths[:, :days].sum(axis=1)
    q = (1 - (level or fc.level)) / 2
    return {
        "expected": float(actual_to_date + fc.mean[:days].sum()),
        "lower": float(np.quantile(sums, q)),
        "upper": float(np.quantile(sums, 1 - q)),
    }


def runout_date(spent: float, amount: float, fc: Forecast, first_day: date, days: int) -> dict[str, object]:
    """When cumulative spend (``spent`` so far plus the forecast) reaches ``amount`` within ``days`` days,
    on the expected path; plus the probability of overrunning by the end of the period."""
    days = max(0, min(days, len(fc.mean)))
    if spent >= amount:
        return {"runs_out": first_day - timedelta(days=1), "overrun_probability": 1.0}
    cum = spent + np.cumsum(fc.mean[:days])
    hit = np.flatnonzero(cum >= amount)
    finals = spent + fc.paths[:, :days].sum(axis=1) if days else np.array([spent])
    return {
        "runs_out": first_day + timedelta(days=int(hit[0])) if len(hit) else None,
        "overrun_probability": float(np.mean(finals >= amount)),
    }


def mape(actual: np.ndarray | list[float], predicted: np.ndarray | list[float]) -> float | None:
    """Mean absolute percentage error over the days with a non-zero actual (None when there is none)."""
    a, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    ok = a != 0
    if not np.any(ok):
        return None
    return float(np.mean(np.abs((p[ok] - a[ok]) / a[ok])))
