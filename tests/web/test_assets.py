"""The dashboard's shell and assets are served from the package, from a fixed list (no browser needed)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from aifinops.api.server import create_server
from aifinops.app import App
from aifinops.core.settings import Settings
from aifinops.web import ASSETS


def test_shell_and_assets() -> None:
    client = TestClient(create_server(App(Settings(), None)))
    shell = client.get("/")
    assert shell.status_code == 200 and shell.headers["content-type"].startswith("text/html")
    for name, media in ASSETS.items():
        assert f"/static/{name}" in shell.text  # every asset is used by the shell
        got = client.get(f"/static/{name}")
        assert got.status_code == 200 and got.headers["content-type"] == media and got.text.strip()
    assert (
        "cdn" not in shell.text.lower() and "https://" not in shell.text
    )  # nothing from outside at run time


def test_unknown_assets_are_404_in_the_api_error_shape() -> None:
    client = TestClient(create_server(App(Settings(), None)))
    for path in ("/static/nope.js", "/static/..%2F__init__.py", "/static/index.html"):
        got = client.get(path)
        assert got.status_code == 404, path
        assert got.json()["error"]["code"] == "not_found"
