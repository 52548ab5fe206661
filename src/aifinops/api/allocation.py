"""API routes: allocation rules in force and tag coverage (issue 6).

Allocated spend itself is ``GET /api/v1/costs?allocated=true`` (see :mod:`aifinops.api.v1`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from aifinops.core.jsonable import jsonable
from aifinops.core.timeutil import parse_time, parse_where

__all__ = ["router"]

router = APIRouter()


@router.get(
    "/allocation/rules", summary="The allocation rules in force (owners, normalization, shared pools)"
)
def allocation_rules(request: Request) -> dict[str, Any]:
    return jsonable(request.app.state.app.allocation_rules())


@router.get("/allocation/coverage", summary="Tag coverage: share of spend with an owner, per source")
def allocation_coverage(
    request: Request,
    by: Annotated[
        str | None, Query(max_length=200, description="owner dimension (default: allocation.dimension)")
    ] = None,
    since: Annotated[str | None, Query(description="30d, 2026-01-01 or an ISO time")] = "30d",
    until: Annotated[str | None, Query(description="end (exclusive)")] = None,
    where: Annotated[list[str], Query(description="KEY=VALUE filters")] = [],  # noqa: B006
    top: Annotated[int, Query(ge=0, le=1000, description="how many untagged drivers to list")] = 10,
) -> dict[str, Any]:
    result = request.app.state.app.tag_coverage(
        by=by.strip() if by and by.strip() else None,
        since=parse_time(since, name="since") if since else None,
        until=parse_time(until, name="until") if until else None,
        where=parse_where(where),
        top=top,
    )
    return jsonable(result)
