"""Talk to a running server that holds the ledger, so commands work while `aifinops serve` runs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx

from aifinops.core.errors import AifinopsError, InputError
from aifinops.core.procs import pid_alive

__all__ = ["Remote", "find_server", "write_server_file", "SERVER_FILE"]

SERVER_FILE = "server.json"


def write_server_file(data_dir: Path, url: str, cli_token: str | None = None) -> Path:
    """Announce this server to CLI commands that use the same data folder.

    ``cli_token`` lets a CLI command that can read the data folder (so could open the ledger itself) act as
    admin on the server: the file is readable by its owner only.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SERVER_FILE
    info: dict[str, Any] = {"url": url, "pid": os.getpid()}
    if cli_token is not None:
        info["cli_token"] = cli_token
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(info))
    return path


def find_server(data_dir: Path) -> Remote | None:
    """The server that owns ``data_dir``'s ledger, if one is running."""
    path = data_dir / SERVER_FILE
    try:
        info = json.loads(path.read_text())
        url, pid = str(info["url"]), int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not pid_alive(pid):
        return None
    remote = Remote(url, cli_token=info.get("cli_token"))
    try:
        remote.client.get("/healthz", timeout=2).raise_for_status()
    except httpx.HTTPError:
        return None
    return remote


class Remote:
    """The subset of the facade the CLI needs, over HTTP."""

    def __init__(self, url: str, *, cli_token: str | None = None) -> None:
        self.url = url
        # an API key acts as its principal; without one, the data folder's token acts as admin (issue 10)
        key = (os.environ.get("AIFINOPS_API_KEY") or "").strip()
        headers = {"authorization": f"Bearer {key}"} if key else None
        if not key and cli_token:
            headers = {"x-aifinops-cli-token": str(cli_token)}
        self.client = httpx.Client(base_url=url, timeout=httpx.Timeout(600.0, connect=5.0), headers=headers)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise AifinopsError(f"the aifinops server at {self.url} did not answer: {exc}") from None
        if response.status_code >= 400:
            try:
                err = response.json()["error"]
                exc = AifinopsError(err["message"], details=err.get("details"))
            except (ValueError, KeyError, TypeError):
                exc = AifinopsError(f"server error {response.status_code}: {response.text[:200]}")
            exc.status = response.status_code
            if response.status_code in (401, 403):
                exc.message = f"{exc.message} (the CLI sends the key in AIFINOPS_API_KEY)"
                exc.args = (exc.message,)
            raise exc
        return response.json()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call (``path`` under the server root, e.g. ``/api/v1/kpis``); errors as AifinopsError."""
        return self._call(method, path, **kwargs)

    def report_costs(self, **params: Any) -> list[dict[str, Any]]:
        query = {k: v for k, v in params.items() if v not in (None, [], "")}
        return self._call("GET", "/api/v1/costs", params=query)

    def ingest(
        self, source: str, paths: list[Path], reject_path: Path | None, all_lines: bool
    ) -> dict[str, Any]:
        if any(not p.is_file() for p in paths):
            missing = next(p for p in paths if not p.is_file())
            raise InputError(f"{missing}: no such file")
        body = {
            "source": source,
            "paths": [str(p.resolve()) for p in paths],
            "reject_path": str(reject_path.resolve()) if reject_path else None,
            "all_lines": all_lines,
        }
        return self._call("POST", "/api/v1/ingest", json=body)

    def prices_show(self, model: str, provider: str | None) -> dict[str, Any]:
        return self._call(
            "GET", f"/api/v1/prices/{model}", params={"provider": provider} if provider else None
        )

    def reprice(self) -> dict[str, Any]:
        return self._call("POST", "/api/v1/reprice")

    def doctor(self) -> dict[str, Any]:
        return self._call("GET", "/api/v1/doctor")
