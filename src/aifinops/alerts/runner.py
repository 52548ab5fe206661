"""The background detector: runs ``app.detect_anomalies()`` every ``anomaly.resolution`` inside the server,
and stores the day's forecast snapshot (``app.snapshot_forecasts()``) on the first run of each UTC day.

A daemon thread, off the request path (DuckDB reads release the GIL; the numpy work is milliseconds per
owner). ``stop()`` wakes it at once, so SIGTERM shuts the server down without waiting for the next tick.
"""

from __future__ import annotations

import sys
from typing import Any

from aifinops.core.procs import BackgroundLoop

__all__ = ["AnomalyRunner"]


class AnomalyRunner(BackgroundLoop):
    """Runs the detectors periodically through the facade; errors are logged, never fatal."""

    thread_name = "aifinops-anomaly"

    def __init__(self, app: Any, *, interval: float | None = None) -> None:
        self.app = app
        self.interval = interval
        self.runs = 0
        self.snapshots = 0
        self.last: dict[str, Any] | None = None
        super().__init__()

    def enabled(self) -> bool:
        """Unless ``anomaly.enabled`` is false."""
        return bool(self.app.settings.anomaly.enabled)

    def _period(self) -> float:
        return self.interval or float(self.app.settings.anomaly.resolution_seconds)

    def _loop(self) -> None:
        while not self._stop.wait(self._period() if self.runs else min(5.0, self._period())):
            try:
                self.last = self.app.detect_anomalies()
            except Exception as exc:  # noqa: BLE001 - the runner must not die
                print(f"anomaly detection failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            try:  # once a day: the day-ahead forecasts, so MAPE is tracked against actuals
                self.snapshots += self.app.snapshot_forecasts()
            except Exception as exc:  # noqa: BLE001
                print(f"forecast snapshot failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            self.runs += 1
