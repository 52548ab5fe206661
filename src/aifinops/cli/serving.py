"""Run the server: uvicorn on one port, announced in the data folder for CLI commands.

The gateway writes each call to its write-ahead log (``<data-dir>/wal``); a shipper thread moves records
into the ledger. On start, whatever a previous process left in the WAL is shipped first.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import click

from aifinops.cli.remote import SERVER_FILE, write_server_file

__all__ = ["run_server", "is_loopback", "build_root"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_root(app: Any, data_dir: Path, *, local: bool, emulate: bool = False) -> tuple[Any, Any, Any]:
    """The root ASGI app, its gateway and the WAL shipper (not started)."""
    from aifinops.api import create_server
    from aifinops.api.asgi import RootApp
    from aifinops.gateway.proxy import Gateway
    from aifinops.gateway.wal import Shipper, WalWriter

    wal_dir = data_dir / "wal"
    writer = WalWriter(wal_dir, fsync=app.settings.gateway.wal_fsync)
    shipper = Shipper(wal_dir, app.ledger.append, writer=writer)
    gateway = Gateway(app, wal=writer, local_mode=local)
    emulator = None
    if emulate:
        from aifinops.emulators import create_emulator

        emulator = create_emulator()
    return RootApp(create_server(app, local_mode=local), gateway, emulator), gateway, shipper


def run_server(app: Any, data_dir: Path, host: str, port: int, *, emulate: bool = False) -> None:
    """Serve until interrupted; the WAL is shipped and the ledger closed on the way out."""
    import uvicorn

    local = is_loopback(host)
    if emulate:
        _point_at_emulator(app, port)
    root, gateway, shipper = build_root(app, data_dir, local=local, emulate=emulate)
    recovered = shipper.ship_once()
    if recovered:
        click.echo(f"recovered {recovered} record(s) from the write-ahead log", err=True)
    shipper.start()
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    announced = write_server_file(data_dir, url)
    mode = "local mode on loopback: no API key required" if local else "listening beyond loopback"
    click.echo(
        f"aifinops serving on {url}  (dashboard /, API /api/v1, gateway /v1, metrics /metrics; {mode})",
        err=True,
    )
    if emulate:
        click.echo(f"demo gateway upstreams: built-in provider emulators at {url}/_emulator", err=True)
    try:
        uvicorn.run(
            root, host=host, port=port, log_level="warning", access_log=False, loop="auto", http="auto"
        )
    finally:
        if announced.exists() and announced.name == SERVER_FILE:
            announced.unlink(missing_ok=True)
        gateway.wal.close()
        shipper.stop()
        app.close()


def _point_at_emulator(app: Any, port: int) -> None:
    """Demo mode without configured providers: OpenAI and Anthropic upstreams are the built-in emulators."""
    from aifinops.core.settings import ProviderSettings

    base = f"http://127.0.0.1:{port}/_emulator"
    providers = dict(app.settings.providers)
    providers.setdefault("openai", ProviderSettings(base_url=f"{base}/v1", api_key="demo"))
    providers.setdefault("anthropic", ProviderSettings(base_url=base, api_key="demo"))
    app.settings = app.settings.model_copy(update={"providers": providers})
