"""The dashboard: static pages that render the JSON API (each page has a JSON twin under /api/v1).

``/`` serves the single-page shell; ``/static/NAME`` serves its scripts and styles (public, like ``/``: they
hold no data). Pages are hash routes (``/#/explorer?by=team&where=team=search``), so every drill-down is a
link. Nothing is fetched from a CDN: the charts are SVG drawn by ``static/charts.js``.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from aifinops.core.errors import NotFound

__all__ = ["router", "ASSETS"]

router = APIRouter(include_in_schema=False)

#: The files under ``static/`` the dashboard may serve, with their content types.
ASSETS = {
    "app.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "charts.js": "text/javascript; charset=utf-8",
    "pages.js": "text/javascript; charset=utf-8",
    "areas.js": "text/javascript; charset=utf-8",
}
_CACHE = "no-cache"  # revalidate: a new version is picked up at once, an unchanged one costs one request


def _read(name: str) -> str:
    return resources.files("aifinops.web").joinpath("static", name).read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse)
def dashboard() -> HTMLResponse:
    """The dashboard shell: navigation, the API-key prompt and the page area."""
    return HTMLResponse(_read("index.html"), headers={"cache-control": _CACHE})


@router.get("/static/{name}")
def asset(name: str) -> Response:
    """One of the dashboard's own scripts or styles (a fixed list: no path is read from the request)."""
    media = ASSETS.get(name)
    if media is None:
        raise NotFound(f"no dashboard asset {name!r}")
    return Response(_read(name), media_type=media, headers={"cache-control": _CACHE})
