"""API routes: Anomaly detection, forecasts and alerts (issue 8)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from aifinops.core.jsonable import jsonable
from aifinops.core.timeutil import parse_time

__all__ = ["router"]

router = APIRouter()

_ID = Path(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$", description="an anomaly or alert id")


def _app(request: Request) -> Any:
    return request.app.state.app


class Decision(BaseModel):
    """Who acknowledges or resolves."""

    model_config = ConfigDict(extra="forbid")
    by: str | None = Field(default=None, max_length=200)


class Scenario(BaseModel):
    """A proposed workload for the scenario planner."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=200)
    provider: str | None = Field(default=None, max_length=100)
    requests_per_day: float = Field(gt=0, le=1e10)
    input_tokens: float = Field(ge=0, le=1e8)
    output_tokens: float = Field(ge=0, le=1e8)
    cached_share: float = Field(default=0.0, ge=0, le=1)
    ramp_days: float = Field(default=30.0, gt=0, le=3650)
    days: int = Field(default=30, ge=1, le=1096)
    percentile: float = Field(default=80.0, gt=0, lt=100)
    uncertainty: float = Field(default=0.3, ge=0, le=2)


@router.get("/anomalies", summary="Detected anomalies, newest first")
def anomalies(
    request: Request,
    since: Annotated[str | None, Query(description="30d, 2026-01-01 or an ISO time")] = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[str | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    rows = _app(request).list_anomalies(
        since=parse_time(since, name="since") if since else None, owner=owner, kind=kind, limit=limit
    )
    return jsonable(rows)


@router.post(
    "/anomalies/detect", summary="Run the detectors now (the server also runs them every resolution)"
)
def detect(request: Request) -> dict[str, Any]:
    return jsonable(_app(request).detect_anomalies())


# The evaluation harness (CPU-bound for seconds) is not served over HTTP: `aifinops anomalies evaluate`
# runs it locally, so no reader can load the server with it.


@router.post("/anomalies/{anomaly_id}/ack", summary="Acknowledge an anomaly's alert")
def ack(request: Request, anomaly_id: Annotated[str, _ID], body: Decision | None = None) -> dict[str, Any]:
    return jsonable(_app(request).ack_anomaly(anomaly_id, by=body.by if body else None))


@router.post("/anomalies/{anomaly_id}/resolve", summary="Resolve an anomaly's alert")
def resolve(
    request: Request, anomaly_id: Annotated[str, _ID], body: Decision | None = None
) -> dict[str, Any]:
    return jsonable(_app(request).resolve_anomaly(anomaly_id, by=body.by if body else None))


@router.get("/alerts", summary="Alerts (grouped anomalies) and their lifecycle status")
def alerts(
    request: Request,
    status: Annotated[str | None, Query(pattern="^(open|acknowledged|resolved)$")] = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    return jsonable(_app(request).list_alerts(status=status, owner=owner, limit=limit))


@router.get("/alerts/{alert_id}/deliveries", summary="Delivery attempts of one alert")
def deliveries(request: Request, alert_id: Annotated[str, _ID]) -> list[dict[str, Any]]:
    return jsonable(_app(request).alert_deliveries(alert_id))


@router.get("/forecast", summary="Daily spend forecast with intervals, month-end projection, budget run-out")
def forecast(
    request: Request,
    by: Annotated[str | None, Query(max_length=100, description="a dimension, e.g. team or model")] = None,
    budget: Annotated[
        str | None, Query(max_length=200, description="a budget name from aifinops.yaml")
    ] = None,
    horizon: Annotated[int, Query(ge=1, le=366)] = 30,
    level: Annotated[float, Query(ge=0.5, le=0.99)] = 0.8,
) -> dict[str, Any]:
    return jsonable(
        _app(request).forecast(by=by or None, budget=budget or None, horizon=horizon, level=level)
    )


@router.get("/forecast/accuracy", summary="MAPE of stored day-ahead forecasts against actual spend")
def accuracy(request: Request) -> list[dict[str, Any]]:
    return jsonable(_app(request).forecast_accuracy())


@router.post(
    "/forecast/scenario", summary="Cost of a proposed workload at a percentile of its adoption curve"
)
def scenario(request: Request, body: Scenario) -> dict[str, Any]:
    return jsonable(_app(request).forecast_scenario(**body.model_dump()))
