"""The dashboard: static pages that render the JSON API (each page has a JSON twin under /api/v1)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def overview() -> HTMLResponse:
    """Overview: spend by day, team, model, provider and category over the last 30 days."""
    page = resources.files("aifinops.web").joinpath("static/index.html").read_text(encoding="utf-8")
    return HTMLResponse(page)
