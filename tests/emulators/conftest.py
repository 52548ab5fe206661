"""Serve the provider emulator on a free loopback port, for any test (import from ``tests.emulators.conftest``).

    from tests.emulators.conftest import serve_emulator          # context manager, any config
    from tests.emulators.conftest import emulator                # noqa: F401  (session fixture, defaults)

``RunningEmulator.openai_base_url`` / ``.anthropic_base_url`` go to the SDKs' ``base_url``;
``.stats()`` / ``.reset()`` read and clear the counters of what reached the emulator.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import uvicorn

from aifinops.emulators import EmulatorApp, EmulatorConfig, create_emulator


@dataclass
class RunningEmulator:
    """An emulator being served by uvicorn in a background thread."""

    app: EmulatorApp
    url: str

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    def stats(self) -> dict[str, Any]:
        """A snapshot of the counters (same JSON as ``GET /emulator/stats``)."""
        return orjson.loads(self.app.stats.as_json())

    def reset(self) -> None:
        self.app.stats.reset()


@contextmanager
def serve_emulator(config: EmulatorConfig | None = None) -> Iterator[RunningEmulator]:
    """Serve ``create_emulator(config)`` with uvicorn on 127.0.0.1:<free port> until the block exits."""
    app = create_emulator(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            loop="uvloop",
            http="httptools",
            ws="none",
            lifespan="off",
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"emulator-{port}"
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the emulator did not start")
        time.sleep(0.005)
    try:
        yield RunningEmulator(app, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    """One emulator with the default config for the whole session (counters are shared: reset them)."""
    with serve_emulator() as running:
        yield running


@pytest.fixture
def emu(emulator: RunningEmulator) -> RunningEmulator:
    """The session emulator with its counters reset."""
    emulator.reset()
    return emulator
