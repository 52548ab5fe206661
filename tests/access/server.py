"""The whole `aifinops serve` app (API, dashboard, gateway state) over a multi-team ledger, with keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from aifinops.cli.serving import build_root
from aifinops.core.settings import Settings
from tests.access.teams import build_app


@dataclass
class Served:
    client: TestClient
    app: Any
    api: Any
    gateway: Any
    keys: dict[str, str]  # role (or "team") -> key

    def get(self, path: str, key: str | None = None, **kwargs: Any) -> Any:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        return self.client.get(path, headers=headers, **kwargs)


def serve(data_dir: Path, settings: Settings | None = None, *, local: bool = True) -> Served:
    """Build the server (not listening: a TestClient), create one key per role (team: bravo)."""
    app = build_app(settings, data_dir)
    root, gateway, _shipper = build_root(app, data_dir, local=local)
    keys = {
        "admin": app.keys_create(name="admin", role="admin")["key"],
        "finance": app.keys_create(name="finance", role="finance")["key"],
        "team": app.keys_create(name="bravo", role="team", team="bravo")["key"],
    }
    for team in ("aubergine", "bravo"):  # gateway decisions about two teams
        gateway.audit.write({"decision": "allow", "request_id": f"r-{team}", "subject": {"team": team}})
    return Served(TestClient(root), app, root.api, gateway, keys)
