"""The background detector the server starts: runs every interval, stops at once, off when disabled."""

from __future__ import annotations

import time

from aifinops.alerts import AnomalyRunner
from aifinops.app import App
from aifinops.core.settings import Settings


def test_runner_runs_periodically_and_stops_promptly() -> None:
    app = App(Settings(), None)
    runner = AnomalyRunner(app, interval=0.05)
    assert runner.start()
    deadline = time.monotonic() + 10
    while runner.runs < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert runner.runs >= 2
    assert runner.last is not None and runner.last["found"] == 0
    began = time.monotonic()
    runner.stop()
    assert time.monotonic() - began < 2
    assert not runner._thread.is_alive()


def test_runner_is_off_when_disabled() -> None:
    app = App(Settings.model_validate({"anomaly": {"enabled": False}}), None)
    runner = AnomalyRunner(app)
    assert runner.start() is False
    runner.stop()  # stopping a runner that never started is fine
