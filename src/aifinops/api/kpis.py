"""API routes: The KPI engine and showback/chargeback statements (issue 6)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from aifinops.core.errors import InputError
from aifinops.core.jsonable import jsonable
from aifinops.core.timeutil import parse_time, parse_where

__all__ = ["router"]

router = APIRouter()

_MEDIA = {"csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8"}


def _time(value: str | None, name: str) -> Any:
    if not value:
        return None
    try:
        return parse_time(value, name=name)
    except (OverflowError, ValueError):  # e.g. 99999999999d
        raise InputError(f"{name}: {value!r} is out of range") from None


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@router.get("/kpis", summary="KPIs per group and period, each null one with a note")
def kpis(
    request: Request,
    by: Annotated[str, Query(description="comma-separated dimensions or tag keys")] = "",
    since: Annotated[str | None, Query(description="30d, 2026-01-01 or an ISO time")] = "30d",
    until: str | None = None,
    grain: Annotated[str | None, Query(pattern="^(hour|day|week|month)$")] = None,
    where: Annotated[list[str], Query(description="KEY=VALUE filters")] = [],  # noqa: B006
    kpis: Annotated[str, Query(description="comma-separated KPI names (default: all)")] = "",
) -> list[dict[str, Any]]:
    rows = request.app.state.app.kpis(
        by=_split(by),
        since=_time(since, "since"),
        until=_time(until, "until"),
        where=parse_where(where),
        grain=grain,
        names=_split(kpis) or None,
    )
    return jsonable(rows)


@router.get("/kpis/definitions", summary="Every KPI with its unit and formula")
def kpi_definitions(request: Request) -> list[dict[str, str]]:
    return request.app.state.app.kpi_definitions()


@router.get(
    "/statements/{owner}/{month}",
    summary="A month's showback statement for one owner (JSON, CSV or printable HTML)",
    response_model=None,
)
def statement(
    request: Request,
    owner: Annotated[str, Path(description="the owner's value, e.g. a team name")],
    month: Annotated[str, Path(description="YYYY-MM")],
    dimension: Annotated[
        str,
        Query(pattern="^(team|project|product|feature|customer|environment|use_case|user|api_key)$"),
    ] = "team",
    format: Annotated[str, Query(pattern="^(json|csv|html)$")] = "json",  # noqa: A002
) -> Any:
    app = request.app.state.app
    if format == "json":
        return jsonable(app.statement(owner, month, dimension))
    text = app.statement_document(owner, month, dimension, format)
    if format == "html":
        return HTMLResponse(text)
    return PlainTextResponse(text, media_type=_MEDIA["csv"])
