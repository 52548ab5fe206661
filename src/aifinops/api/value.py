"""API routes: Savings recommendations, the value ledger, zombie projects, maturity (issue 9)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from aifinops.core.errors import Forbidden
from aifinops.core.jsonable import jsonable
from aifinops.core.timeutil import parse_time, parse_where

__all__ = ["router"]

router = APIRouter()


def _app(request: Request) -> Any:
    return request.app.state.app


def _time(value: str | None, name: str) -> Any:
    return parse_time(value, name=name) if value else None


@router.get("/recommendations", summary="Savings recommendations, ranked by monthly saving")
def recommendations(
    request: Request,
    since: Annotated[str | None, Query(description="30d, 2026-01-01 or an ISO time")] = None,
    until: str | None = None,
    kind: Annotated[list[str], Query(description="only these kinds")] = [],  # noqa: B006
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> list[dict[str, Any]]:
    rows = _app(request).recommendations(
        since=_time(since, "since"), until=_time(until, "until"), kinds=kind or None, limit=limit
    )
    return jsonable(rows)


class ApplyRequest(BaseModel):
    """Optional details of applying a recommendation."""

    applied_at: str | None = Field(default=None, description="when the change went live (default now)")
    note: str | None = Field(default=None, max_length=1000)


@router.post("/recommendations/{rec_id}/apply", summary="Record that a recommendation was applied")
def apply(request: Request, rec_id: str, body: ApplyRequest | None = None) -> dict[str, Any]:
    body = body or ApplyRequest()
    result = _app(request).apply_recommendation(
        rec_id, applied_at=_time(body.applied_at, "applied_at"), note=body.note
    )
    return jsonable(result)


@router.get("/savings", summary="The savings ledger: applied recommendations, expected and realized saving")
def savings(request: Request, until: str | None = None) -> list[dict[str, Any]]:
    return jsonable(_app(request).savings(until=_time(until, "until")))


@router.get("/value", summary="AI ROI, cost per outcome and value per dollar per group")
def value(
    request: Request,
    by: Annotated[
        str, Query(description="comma-separated: team, project, feature, customer, initiative...")
    ] = "feature",
    since: Annotated[str | None, Query(description="30d, 2026-01-01 or an ISO time")] = None,
    until: str | None = None,
    where: Annotated[list[str], Query(description="KEY=VALUE filters")] = [],  # noqa: B006
) -> list[dict[str, Any]]:
    rows = _app(request).value_summary(
        by=[d.strip() for d in by.split(",") if d.strip()],
        since=_time(since, "since"),
        until=_time(until, "until"),
        where=parse_where(where),
    )
    return jsonable(rows)


@router.get("/zombies", summary="Initiatives with spend and no outcomes (or a falling value ratio)")
def zombies(
    request: Request,
    until: str | None = None,
    window_days: Annotated[int | None, Query(ge=1, le=366)] = None,
) -> list[dict[str, Any]]:
    return jsonable(_app(request).zombies(until=_time(until, "until"), window_days=window_days))


@router.get("/maturity", summary="Crawl / walk / run assessment with the next three steps")
def maturity(request: Request) -> dict[str, Any]:
    return jsonable(_app(request).maturity())


class OutcomesImport(BaseModel):
    """Import outcome files that sit on the server's own disk (the CLI uses this when a server runs)."""

    paths: list[str] = Field(min_length=1)
    reject_path: str | None = None


@router.post("/outcomes/import", summary="Import outcome files from the server's disk (local mode only)")
def import_outcomes(request: Request, body: OutcomesImport) -> dict[str, Any]:
    if not request.app.state.local_mode:
        raise Forbidden("file imports by path are only allowed in local mode")
    result = _app(request).ingest_outcomes(
        [Path(p) for p in body.paths], reject_path=Path(body.reject_path) if body.reject_path else None
    )
    return jsonable(result)


@router.post("/outcomes", summary="Record business outcomes (one object or a list)")
async def outcomes(request: Request) -> dict[str, Any]:
    import orjson

    from aifinops.core.errors import InputError

    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InputError(f"body is not JSON: {exc}") from None
    items = data if isinstance(data, list) else [data]
    if not items:
        raise InputError("no outcomes in the body")
    if len(items) > 10_000:
        raise InputError("at most 10000 outcomes per request")
    return jsonable(_app(request).record_outcomes(items))


class PolicyText(BaseModel):
    """A policy to dry-run: the text of an aifinops.yaml (its budgets, rate_limits, models, agents...)."""

    yaml: str = Field(max_length=2_000_000, description="the aifinops.yaml text")


@router.post("/policy/simulate", summary="Dry-run a policy (aifinops.yaml text) over the ledger's records")
def policy_simulate(
    request: Request,
    body: PolicyText,
    since: Annotated[str, Query(description="30d, 2026-01-01 or an ISO time")] = "30d",
    until: str | None = None,
    owner: Annotated[str, Query(min_length=1, max_length=200, description="owner field or tag key")] = "team",
) -> list[dict[str, Any]]:
    from aifinops.core.settings import parse_settings

    settings = parse_settings(body.yaml, name="policy")
    findings = _app(request).simulate_policy(
        settings, since=parse_time(since, name="since"), until=_time(until, "until"), owner=owner
    )
    return jsonable(findings)
