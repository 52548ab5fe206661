"""API routes: metered vs provider-reported cost reconciliation (issue 6)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from aifinops.core.jsonable import jsonable
from aifinops.core.timeutil import parse_time

__all__ = ["router"]

router = APIRouter()


@router.get(
    "/reconciliation",
    summary="Metered (gateway, OTLP) vs provider-reported cost per provider, model and day, "
    "with flagged differences and their likely cause",
)
def reconciliation(
    request: Request,
    since: Annotated[str, Query(description="30d, 2026-01-01 or an ISO time")] = "30d",
    until: str | None = None,
    provider: Annotated[str | None, Query(max_length=200)] = None,
    tolerance_amount: Annotated[Decimal | None, Query(ge=0, le=10**12)] = None,
    tolerance_percent: Annotated[Decimal | None, Query(ge=0, le=10**6)] = None,
    flagged_only: bool = False,
) -> dict[str, Any]:
    result = request.app.state.app.reconciliation(
        since=parse_time(since, name="since"),
        until=parse_time(until, name="until") if until else None,
        provider=provider,
        tolerance_amount=tolerance_amount,
        tolerance_percent=tolerance_percent,
        flagged_only=flagged_only,
    )
    return jsonable(result)
