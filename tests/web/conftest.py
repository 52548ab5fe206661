"""A real `aifinops demo` server (14 days, 5 % scale, two budgets) and headless Chromium (Debian's)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
CONFIG = """\
budgets:
  - {name: platform-monthly, scope: {team: platform}, period: month, amount: 20000, hard: false, alert_at: [0.8]}
  - {name: per-team-daily, per: team, period: day, amount: 500, alert_at: [0.5, 1.0]}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of `aifinops demo --days 14 --scale 0.05` served by a real process."""
    root = tmp_path_factory.mktemp("dashboard")
    config = root / "aifinops.yaml"
    config.write_text(CONFIG)
    port = _free_port()
    args = [
        "--config",
        str(config),
        "--data-dir",
        str(root / "data"),
        "demo",
        "--days",
        "14",
        "--scale",
        "0.05",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "aifinops", *args, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            pytest.fail(f"aifinops demo exited: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("aifinops demo did not start")
        time.sleep(0.1)
    yield base
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium; skipped without /usr/bin/chromium unless AIFINOPS_REQUIRE_BROWSER=1."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("AIFINOPS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and AIFINOPS_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


class Page:
    """A browser page that records console errors and uncaught exceptions."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def open(self, route: str, ready: str | None = None) -> Any:
        """Go to ``#/route`` and wait until the page marks its data as rendered."""
        self.page.goto(f"{self.base}/#/{route}")
        return self.wait(ready or route.split("?")[0])

    def wait(self, name: str) -> Any:
        self.page.wait_for_selector(f"html[data-ready='{name}']", timeout=20_000)
        return self.page

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Page]:
    """A fresh light-mode page on a laptop-sized screen."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme="light")
    yield Page(context.new_page(), server)
    context.close()


@pytest.fixture
def dark_page(browser: Any, server: str) -> Iterator[Page]:
    """A fresh dark-mode page on a smaller laptop screen."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="dark")
    yield Page(context.new_page(), server)
    context.close()
