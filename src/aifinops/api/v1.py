"""`/api/v1`: every route calls the facade and returns its JSON twin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from aifinops.app import App
from aifinops.core.errors import Forbidden, InputError
from aifinops.core.jsonable import jsonable
from aifinops.core.timeutil import parse_time, parse_where

__all__ = ["router"]

router = APIRouter()


def _app(request: Request) -> App:
    return request.app.state.app


def _time(value: str | None, name: str) -> Any:
    return parse_time(value, name=name) if value else None


@router.get("/costs", summary="Spend rollup by dimensions and time grain")
def costs(
    request: Request,
    by: Annotated[str, Query(description="comma-separated dimensions or tag keys")] = "",
    since: Annotated[str | None, Query(description="30d, 2026-01-01 or an ISO time")] = "30d",
    until: str | None = None,
    grain: Annotated[str | None, Query(pattern="^(hour|day|week|month)$")] = None,
    where: Annotated[list[str], Query(description="KEY=VALUE filters")] = [],  # noqa: B006
    sources: Annotated[str, Query(pattern="^(authoritative|all)$")] = "authoritative",
    limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    allocated: Annotated[bool, Query(description="apply the allocation rules (adds `allocation`)")] = False,
) -> list[dict[str, Any]]:
    dims = [d.strip() for d in by.split(",") if d.strip()]
    if allocated:
        if sources != "authoritative":
            raise InputError("allocated=true reads the authoritative sources only")
        return jsonable(
            _app(request).allocated_costs(
                by=dims,
                since=_time(since, "since"),
                until=_time(until, "until"),
                where=parse_where(where),
                grain=grain,
                limit=limit,
            )
        )
    rows = _app(request).report_costs(
        by=dims,
        since=_time(since, "since"),
        until=_time(until, "until"),
        where=parse_where(where),
        grain=grain,
        sources=sources,
        limit=limit,
    )
    return jsonable(rows)


@router.get("/records", summary="Raw records, newest first")
def records(
    request: Request,
    since: str | None = None,
    until: str | None = None,
    where: Annotated[list[str], Query()] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    rows = _app(request).records(
        since=_time(since, "since"),
        until=_time(until, "until"),
        where=parse_where(where),
        limit=limit,
        offset=offset,
    )
    return {"data": jsonable(rows), "limit": limit, "offset": offset, "next_offset": offset + len(rows)}


@router.get("/prices/{model:path}", summary="What a model costs")
def price(request: Request, model: str, provider: str | None = None, at: str | None = None) -> dict[str, Any]:
    return jsonable(_app(request).prices_show(model, provider=provider, at=_time(at, "at")))


class IngestRequest(BaseModel):
    """Import files that sit on the server's own disk (the CLI uses this when a server holds the ledger)."""

    source: str
    paths: list[str] = Field(min_length=1)
    reject_path: str | None = None
    all_lines: bool = False


@router.post("/ingest", summary="Import files from the server's disk (local mode only)")
def ingest(request: Request, body: IngestRequest) -> dict[str, Any]:
    if not request.app.state.local_mode:
        raise Forbidden("file imports by path are only allowed in local mode")
    from pathlib import Path

    options: dict[str, Any] = {"all_lines": True} if body.all_lines else {}
    if body.all_lines and body.source != "focus":
        raise InputError("all_lines applies only to the focus source")
    from aifinops.ingest.gpu_run import GPU_SOURCES

    if body.source in GPU_SOURCES:  # dcgm, nvidia-smi, jobs (options: POST /api/v1/gpus/ingest)
        reject = Path(body.reject_path) if body.reject_path else None
        return jsonable(
            _app(request).ingest_gpu(body.source, [Path(p) for p in body.paths], reject_path=reject)
        )
    result = _app(request).ingest(
        body.source,
        [Path(p) for p in body.paths],
        reject_path=Path(body.reject_path) if body.reject_path else None,
        **options,
    )
    return jsonable(result)


@router.post(
    "/records", summary="Append records (idempotent by record_id): how fleet gateways ship their WAL"
)
async def append_records(request: Request) -> dict[str, Any]:
    import orjson

    from aifinops.core.serde import record_from_dict
    from aifinops.core.settings import resolve_secret

    app = _app(request)
    token = resolve_secret(app.settings.fleet.token) if app.settings.fleet.token else None
    if token is not None:
        if request.headers.get("x-aifinops-fleet-token") != token:
            raise Forbidden("a valid x-aifinops-fleet-token header is required")
    elif not request.app.state.local_mode:
        raise Forbidden("set fleet.token in aifinops.yaml to accept records from other hosts")
    try:
        rows = orjson.loads(await request.body())
        if not isinstance(rows, list):
            raise TypeError("the body must be a JSON array of records")
        records = [record_from_dict(row) for row in rows]
    except (orjson.JSONDecodeError, TypeError, KeyError, ValueError) as exc:
        raise InputError(f"records: {exc}") from None
    import asyncio

    result = await asyncio.to_thread(app.append, records)
    return {"inserted": result.inserted, "duplicates": result.duplicates}


@router.post("/reprice", summary="Re-rate unpriced records that now have a price")
def reprice(request: Request) -> dict[str, Any]:
    return jsonable(_app(request).reprice())


@router.get("/doctor", summary="Health of data and config")
def doctor(request: Request) -> dict[str, Any]:
    return jsonable(_app(request).doctor())


@router.get("/dimensions", summary="Columns a report can group by")
def dimensions(request: Request) -> list[str]:
    return _app(request).dimensions()


@router.get(
    "/overview",
    summary="Dashboard overview: today, month to date, forecast, by day and category, training vs inference, "
    "top teams, models and movers (one rollup)",
)
def overview(
    request: Request, days: Annotated[int, Query(ge=1, le=366, description="days in the window")] = 30
) -> dict[str, Any]:
    from aifinops.facade.overview import overview as build

    return jsonable(build(_app(request), days=days))


@router.get(
    "/usage/models", summary="Per provider and model: cost, tokens, cost per 1,000 requests, cache hit rate"
)
def usage_models(
    request: Request,
    since: Annotated[str | None, Query(description="30d, 2026-01-01 or an ISO time")] = "30d",
    until: str | None = None,
    where: Annotated[list[str], Query(description="KEY=VALUE filters")] = [],  # noqa: B006
) -> list[dict[str, Any]]:
    from aifinops.facade.overview import model_usage

    rows = model_usage(
        _app(request), since=_time(since, "since"), until=_time(until, "until"), where=parse_where(where)
    )
    return jsonable(rows)
