"""Run the server: uvicorn on one port, announced in the data folder for CLI commands.

The gateway writes each call to its write-ahead log (``<data-dir>/wal``); a shipper thread moves records
into the ledger. On start, whatever a previous process left in the WAL is shipped first.
"""

from __future__ import annotations

import gc
import ipaddress
import signal
import threading
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


def build_root(
    app: Any, data_dir: Path, *, local: bool, emulate: bool = False, ledger_url: str | None = None
) -> tuple[Any, Any, Any]:
    """The root ASGI app, its gateway and the WAL shipper (not started).

    With ``ledger_url`` this is a gateway-only fleet member: no ledger of its own, records shipped to that server.
    """
    from aifinops.api.asgi import RootApp, health_app
    from aifinops.gateway.audit import AuditLog
    from aifinops.gateway.proxy import Gateway
    from aifinops.gateway.wal import Shipper, WalWriter

    wal_dir = data_dir / "wal"
    writer = WalWriter(wal_dir, fsync=app.settings.gateway.wal_fsync)
    audit = AuditLog(data_dir / "audit")
    if ledger_url is not None:
        from aifinops.gateway.fleet import HttpRecordSink, http_spent_loader

        token = app.settings.fleet.token
        shipper = Shipper(wal_dir, HttpRecordSink(ledger_url, token), writer=writer)
        loader = http_spent_loader(ledger_url, token)
        gateway = Gateway(app, wal=writer, local_mode=local, audit=audit, spent_loader=loader)
        return RootApp(health_app, gateway), gateway, shipper
    from aifinops.api import create_server
    from aifinops.gateway.spend import ledger_spent_loader

    shipper = Shipper(wal_dir, app.ledger.append, writer=writer)
    gateway = Gateway(app, wal=writer, local_mode=local, audit=audit, spent_loader=ledger_spent_loader(app))
    if app.settings.value.keep_embeddings:  # opt-in semantic caching analysis (issue 9)
        from aifinops.gateway.embedder import EmbedQueue

        gateway.embed_queue = EmbedQueue()
    emulator = None
    if emulate:
        from aifinops.emulators import create_emulator

        emulator = create_emulator()
    from aifinops.api.otlp import OtlpReceiver

    api = create_server(app, local_mode=local)
    api.state.gateway = gateway
    otlp = OtlpReceiver(app, data_dir / "otlp-spool")
    return RootApp(api, gateway, emulator, otlp=otlp), gateway, shipper


def run_server(
    app: Any, data_dir: Path, host: str, port: int, *, emulate: bool = False, ledger_url: str | None = None
) -> None:
    """Serve until interrupted; the WAL is shipped and the ledger closed on the way out."""
    import uvicorn

    local = is_loopback(host)
    if emulate:
        _point_at_emulator(app, port)
    root, gateway, shipper = build_root(app, data_dir, local=local, emulate=emulate, ledger_url=ledger_url)
    recovered = shipper.ship_once()
    if recovered:
        click.echo(f"recovered {recovered} record(s) from the write-ahead log", err=True)
    shipper.start()
    watcher = ConfigWatcher(app, gateway)
    watcher.start()
    from aifinops.alerts.runner import AnomalyRunner

    detector = AnomalyRunner(app)  # anomaly detection every anomaly.resolution, off the request path
    from aifinops.cli.scraper import DcgmScraper

    scraper = DcgmScraper(app)  # gpus.scrape targets, each on its interval
    if ledger_url is None:
        detector.start()
        scraper.start()
    warmer = _start_cache(root.api) if ledger_url is None else None  # API response cache + warmer (issue 10)
    embedder = _start_embedder(app, gateway)  # request embeddings, only with value.keep_embeddings (issue 9)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    announced = (
        write_server_file(data_dir, url, root.api.state.cli_token)  # the CLI's admin token (issue 10)
        if ledger_url is None
        else data_dir / "gateway.pid"
    )
    mode = _access_mode(app, local) if ledger_url is None else "gateway only"
    click.echo(
        f"aifinops serving on {url}  (dashboard /, API /api/v1, gateway /v1, metrics /metrics; {mode})",
        err=True,
    )
    if emulate:
        click.echo(f"demo gateway upstreams: built-in provider emulators at {url}/_emulator", err=True)
    otlp_port = app.settings.otlp.port if ledger_url is None else None
    if otlp_port is not None and otlp_port != port:
        click.echo(f"OTLP/HTTP receiver also on port {otlp_port} (/v1/traces, /v1/metrics)", err=True)
    # uvicorn re-raises SIGTERM after its graceful shutdown; turning it into SystemExit lets the cleanup below
    # ship the WAL and close the ledger instead of dying with the signal.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # the long-lived objects made so far never need collecting; a higher threshold keeps GC pauses off the tail
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        if otlp_port is None or otlp_port == port:
            uvicorn.run(
                root, host=host, port=port, log_level="warning", access_log=False, loop="auto", http="auto"
            )
        else:  # one server, one app, two listening sockets
            config = uvicorn.Config(root, log_level="warning", access_log=False, loop="auto", http="auto")
            uvicorn.Server(config).run(sockets=[_bind(host, port), _bind(host, otlp_port)])
    finally:
        if getattr(root, "otlp", None) is not None:
            root.otlp.close()  # after a shutdown without lifespan: store what the OTLP spool holds
        watcher.stop()
        detector.stop()
        scraper.stop()
        if warmer is not None:
            warmer.stop(timeout=10)  # the report it is computing, if any, for at most 10 s
        if embedder is not None:
            embedder.stop()
        if announced.exists() and announced.name == SERVER_FILE:
            announced.unlink(missing_ok=True)
        gateway.wal.close()
        shipper.stop()
        app.close()


def _access_mode(app: Any, loopback: bool) -> str:
    """How the API and dashboard are protected, for the start-up line (issue 10)."""
    if app.keyless_allowed(loopback):
        return "local demo mode on loopback: no API key required"
    where = "on loopback" if loopback else "beyond loopback"
    return f"listening {where}: API and dashboard need an API key (aifinops keys create)"


def _start_cache(api: Any) -> Any:
    """Put the response cache inside the access gate and start its warmer (both off with cache_seconds 0)."""
    from aifinops.api.cache import install_cache
    from aifinops.api.cache_warmer import CacheWarmer

    install_cache(api)
    warmer = CacheWarmer(api)
    warmer.start()
    return warmer


def _start_embedder(app: Any, gateway: Any) -> Any:
    """The thread embedding what the gateway queued (None when ``value.keep_embeddings`` is off); it loads the
    offline model itself, so a missing extra is said on stderr and never stops the server."""
    if gateway.embed_queue is None:
        return None
    from aifinops.gateway.embedder import Embedder

    embedder = Embedder(app.ledger, app.settings.value, gateway.embed_queue)
    embedder.start()
    return embedder


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def _bind(host: str, port: int) -> Any:
    """A listening socket, as uvicorn binds it (IPv6 when ``host`` is one)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from None
    sock.set_inheritable(True)
    return sock


class ConfigWatcher:
    """Reloads aifinops.yaml when it changes: a valid file takes effect at once, an invalid one is refused
    (the running policy stays) and the error goes to the audit log and stderr."""

    def __init__(self, app: Any, gateway: Any) -> None:
        self.app = app
        self.gateway = gateway
        self.path = app.config_path
        self._mtime = self._stat()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aifinops-config-watcher", daemon=True)

    def _stat(self) -> float | None:
        try:
            return self.path.stat().st_mtime if self.path is not None else None
        except OSError:
            return None

    def start(self) -> None:
        if self.path is not None:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def check(self) -> bool:
        """Reload if the file changed; returns whether a new configuration took effect."""
        from aifinops.core.errors import ConfigError
        from aifinops.core.settings import load_settings

        mtime = self._stat()
        if mtime is None or mtime == self._mtime:
            return False
        self._mtime = mtime
        try:
            settings = load_settings(self.path)
            self.app.reload(settings)
            self.gateway.reload(settings)
        except ConfigError as exc:
            self.gateway.audit.write(
                {"decision": "config_rejected", "message": exc.message, "details": exc.details}
            )
            click.echo(f"config change refused, the running policy stays: {exc.message}", err=True)
            return False
        self.gateway.audit.write({"decision": "config_reloaded", "path": str(self.path)})
        click.echo(f"reloaded {self.path}", err=True)
        return True

    def _run(self) -> None:
        interval = self.app.settings.guardrails.reload_interval_seconds
        while not self._stop.wait(interval):
            try:
                self.check()
            except Exception as exc:  # noqa: BLE001 - the watcher must not die
                click.echo(f"config watcher: {type(exc).__name__}: {exc}", err=True)


def _point_at_emulator(app: Any, port: int) -> None:
    """Demo mode without configured providers: OpenAI and Anthropic upstreams are the built-in emulators."""
    from aifinops.core.settings import ProviderSettings

    base = f"http://127.0.0.1:{port}/_emulator"
    providers = dict(app.settings.providers)
    providers.setdefault("openai", ProviderSettings(base_url=f"{base}/v1", api_key="demo"))
    providers.setdefault("anthropic", ProviderSettings(base_url=base, api_key="demo"))
    app.settings = app.settings.model_copy(update={"providers": providers})
