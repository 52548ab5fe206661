"""The server's DCGM scraper: each target on its own interval, failures logged and retried."""

from __future__ import annotations

from types import SimpleNamespace

from aifinops.cli.scraper import DcgmScraper


class _App:
    def __init__(self, targets: list[tuple[str, float]]) -> None:
        self.settings = SimpleNamespace(
            gpus=SimpleNamespace(scrape=[SimpleNamespace(url=u, interval=i) for u, i in targets])
        )
        self.calls: list[tuple[str, float]] = []
        self.down: set[str] = set()

    def scrape_dcgm(self, urls: list[str], *, interval: float) -> dict:
        (url,) = urls
        self.calls.append((url, interval))
        if url in self.down:
            raise ConnectionError("exporter down")
        return {"inserted": 8}


def test_each_target_is_scraped_when_due() -> None:
    now = [0.0]
    app = _App([("http://a:9400/metrics", 30), ("http://b:9400/metrics", 60)])
    scraper = DcgmScraper(app, clock=lambda: now[0])
    assert scraper.tick() == 30 and len(app.calls) == 2  # both at start
    now[0] = 30
    assert scraper.tick() == 30 and app.calls[-1] == ("http://a:9400/metrics", 30)  # b is due at 60
    now[0] = 60
    scraper.tick()
    assert [u for u, _ in app.calls] == ["http://a:9400/metrics", "http://b:9400/metrics"] * 1 + [
        "http://a:9400/metrics",
        "http://a:9400/metrics",
        "http://b:9400/metrics",
    ]


def test_a_down_exporter_is_logged_and_retried(capsys) -> None:
    now = [0.0]
    app = _App([("http://down:9400/metrics", 10)])
    app.down.add("http://down:9400/metrics")
    scraper = DcgmScraper(app, clock=lambda: now[0])
    scraper.tick()
    now[0] = 10
    scraper.tick()
    assert scraper.failures == 2 and scraper.scrapes == 0
    assert "DCGM scrape of http://down:9400/metrics failed: ConnectionError" in capsys.readouterr().err


def test_no_targets_no_thread() -> None:
    assert DcgmScraper(_App([])).start() is False
