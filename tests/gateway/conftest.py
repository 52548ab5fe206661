"""Serve the whole aifinops server (gateway, API) in a thread, with the emulator as its upstream."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from aifinops.app import App
from aifinops.cli.serving import build_root
from aifinops.core.records import UsageRecord
from aifinops.core.settings import parse_settings
from tests.emulators.conftest import RunningEmulator


@dataclass
class RunningGateway:
    url: str
    app: App
    gateway: Any
    shipper: Any
    records: list[UsageRecord] = field(default_factory=list)

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    def wait_records(self, n: int, timeout: float = 5.0) -> list[UsageRecord]:
        deadline = time.monotonic() + timeout
        while len(self.records) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.records


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve_gateway(config: str, data_dir: Path) -> Iterator[RunningGateway]:
    """Serve aifinops for ``config`` (YAML text) in a thread."""
    app = App(parse_settings(config), data_dir)
    root, gateway, shipper = build_root(app, data_dir, local=True)
    running_records: list[UsageRecord] = []
    gateway.sink = running_records.append
    sock = free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            root, loop="uvloop", http="httptools", lifespan="on", log_level="warning", access_log=False
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.005)
    try:
        yield RunningGateway(f"http://127.0.0.1:{port}", app, gateway, shipper, running_records)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        gateway.wal.close()
        shipper.ship_once()
        app.close()


def upstreams(running: RunningEmulator, extra: str = "") -> str:
    """Config text with the emulator as both providers' upstream."""
    return (
        "providers:\n"
        f"  openai: {{base_url: {running.openai_base_url}, api_key: sk-upstream}}\n"
        f"  anthropic: {{base_url: {running.anthropic_base_url}, api_key: sk-ant-upstream}}\n" + extra
    )


@pytest.fixture
def gw(emu: RunningEmulator, tmp_path: Path) -> Iterator[RunningGateway]:
    """A gateway with no virtual keys (local pass-through mode) in front of the emulator."""
    with serve_gateway(upstreams(emu), tmp_path) as running:
        yield running


def spawn_aifinops(args: list[str], port: int, *, ready: str = "/healthz") -> subprocess.Popen:
    """Start ``python -m aifinops ARGS`` as a real process and wait until it answers on ``port``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "aifinops", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{ready}", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"aifinops {' '.join(args)} did not start")


def free_port() -> int:
    """A loopback port nobody listens on (yet)."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    return port
