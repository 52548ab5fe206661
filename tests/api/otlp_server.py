"""`aifinops serve` in a thread (the gateway tests' harness) with a handle on its OTLP receiver."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from aifinops.cli.serving import build_root
from tests.gateway.conftest import RunningGateway, serve_gateway


@contextmanager
def serve_otlp(config: str, data_dir: Path) -> Iterator[tuple[RunningGateway, Any]]:
    """Yield the running server and its OTLP receiver (``receiver.flush()`` waits until exports are stored)."""
    roots: list[Any] = []

    def capture(*args: Any, **kwargs: Any) -> Any:
        built = build_root(*args, **kwargs)
        roots.append(built[0])
        return built

    with mock.patch("tests.gateway.conftest.build_root", capture), serve_gateway(config, data_dir) as running:
        yield running, roots[0].otlp
