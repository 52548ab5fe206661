"""The server's DCGM scraper: every ``gpus.scrape`` target, on its own interval, through the facade.

A daemon thread, off the request path. Each target is scraped when due (``interval`` seconds after its last
scrape); a failed scrape is logged and retried at the next interval, never fatal. ``stop()`` wakes it at once.
Targets are read from the settings on every pass, so a reloaded ``aifinops.yaml`` takes effect.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from aifinops.core.procs import BackgroundLoop

__all__ = ["DcgmScraper"]


class DcgmScraper(BackgroundLoop):
    """Scrapes the configured DCGM exporters periodically into the ledger."""

    thread_name = "aifinops-dcgm-scraper"

    def __init__(self, app: Any, *, clock: Any = time.monotonic) -> None:
        self.app = app
        self.clock = clock
        self.scrapes = 0
        self.failures = 0
        self._due: dict[str, float] = {}
        super().__init__()

    def enabled(self) -> bool:
        """When ``gpus.scrape`` names a target."""
        return bool(self.app.settings.gpus.scrape)

    def tick(self) -> float:
        """Scrape every target that is due; returns the seconds until the next one is."""
        now = self.clock()
        targets = list(self.app.settings.gpus.scrape)
        for target in targets:
            if self._due.get(target.url, now) > now:
                continue
            try:
                self.app.scrape_dcgm([target.url], interval=target.interval)
                self.scrapes += 1
            except Exception as exc:  # noqa: BLE001 - an exporter that is down must not stop the others
                self.failures += 1
                print(f"DCGM scrape of {target.url} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            self._due[target.url] = now + target.interval
        if not targets:
            return 60.0
        return max(0.5, min(self._due.get(t.url, now) for t in targets) - self.clock())

    def _loop(self) -> None:
        wait = 0.0
        while not self._stop.wait(wait):
            wait = self.tick()
