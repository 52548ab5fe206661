"""Run the server: uvicorn on one port, announced in the data folder for CLI commands."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import click

from aifinops.cli.remote import SERVER_FILE, write_server_file

__all__ = ["run_server", "is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_server(app: Any, data_dir: Path, host: str, port: int) -> None:
    """Serve until interrupted; the ledger is closed on the way out."""
    import uvicorn

    from aifinops.api import create_server

    local = is_loopback(host)
    server = create_server(app, local_mode=local)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    announced = write_server_file(data_dir, url)
    mode = "local mode on loopback: no API key required" if local else "listening beyond loopback"
    click.echo(f"aifinops serving on http://{host}:{port}  (dashboard /, API /api/v1; {mode})", err=True)
    try:
        uvicorn.run(server, host=host, port=port, log_level="warning")
    finally:
        if announced.exists() and announced.name == SERVER_FILE:
            announced.unlink(missing_ok=True)
        app.close()
