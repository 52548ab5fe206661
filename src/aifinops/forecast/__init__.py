"""Forecasts: daily spend with prediction intervals, month-end projections, budget run-out dates,
accuracy (MAPE) and the scenario planner. Pure: arrays in, numbers out."""

from aifinops.forecast.daily import Forecast, forecast_daily, mape, project_total, runout_date
from aifinops.forecast.scenario import Workload, plan_scenario

__all__ = ["Forecast", "forecast_daily", "mape", "project_total", "runout_date", "Workload", "plan_scenario"]
