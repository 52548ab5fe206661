"""`/api/v1/workflows` and `/api/v1/agents`: agent workflows, what they cost and how deep they went."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from aifinops.core.jsonable import jsonable
from aifinops.core.timeutil import parse_time

__all__ = ["router"]

router = APIRouter()

_SINCE = Query(description="30d, 2026-01-01 or an ISO time (workflows that started since then)")


def _time(value: str | None, name: str) -> Any:
    return parse_time(value, name=name) if value else None


@router.get("/workflows", summary="The most expensive (or deepest) agent workflows")
async def workflows(
    request: Request,
    top: Annotated[int, Query(ge=1, le=10_000)] = 20,
    order: Annotated[str, Query(pattern="^(cost|depth)$")] = "cost",
    since: Annotated[str | None, _SINCE] = "30d",
    until: str | None = None,
) -> list[dict[str, Any]]:
    app = request.app.state.app
    rows = await asyncio.to_thread(
        app.workflows, top=top, order=order, since=_time(since, "since"), until=_time(until, "until")
    )
    return jsonable(rows)


@router.get("/workflows/{workflow_id}", summary="One workflow: summary, cost by step and its tree")
async def workflow(request: Request, workflow_id: str) -> dict[str, Any]:
    app = request.app.state.app
    return jsonable(await asyncio.to_thread(app.workflow, workflow_id))


@router.get("/agents", summary="Per agent name: runs, cost per run, p50/p95")
async def agents(
    request: Request, since: Annotated[str | None, _SINCE] = "30d", until: str | None = None
) -> list[dict[str, Any]]:
    app = request.app.state.app
    rows = await asyncio.to_thread(app.agents, since=_time(since, "since"), until=_time(until, "until"))
    return jsonable(rows)
