"""`/api/v1/export/focus`: the FOCUS 1.2 CostAndUsage file of a period, as the caller's key may see it.

A team key's export holds only its team's records (the facade it runs on is scoped, see
:mod:`aifinops.access.scope`); finance and admin keys export everything.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from aifinops.core.jsonable import jsonable
from aifinops.core.timeutil import parse_time, parse_where

__all__ = ["router"]

router = APIRouter()

_MEDIA = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


@router.get(
    "/export/focus",
    summary="FOCUS 1.2 CostAndUsage of a period (CSV or Parquet); a team key gets its own team's rows",
    response_class=FileResponse,
)
async def export_focus(
    request: Request,
    since: Annotated[str | None, Query(description="30d, 2026-01-01 or an ISO time")] = "30d",
    until: Annotated[str | None, Query(description="end (exclusive)")] = None,
    where: Annotated[list[str], Query(description="KEY=VALUE filters")] = [],  # noqa: B006
    format: Annotated[str, Query(pattern="^(csv|parquet)$")] = "csv",  # noqa: A002 - the query name
) -> Any:
    app = request.app.state.app  # resolved now: the worker thread below must not depend on the request
    start = parse_time(since, name="since") if since else None
    end = parse_time(until, name="until") if until else None
    filters = parse_where(where)
    fd, name = tempfile.mkstemp(prefix="aifinops-focus-", suffix=f".{format}")
    os.close(fd)
    path = Path(name)
    try:
        summary = await asyncio.to_thread(
            app.export_focus, path, since=start, until=end, where=filters, fmt=format
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type=_MEDIA[format],
        filename=f"focus-cost-and-usage.{format}",
        headers={"x-aifinops-rows": str(jsonable(summary.get("rows", 0)))},
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
