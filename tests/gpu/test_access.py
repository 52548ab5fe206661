"""A team key reads only its own GPUs (samples, devices, GPU cost) and its own training estimates.

Hosts: ``node-a`` / ``node-b`` are mapped to aubergine / bravo in ``gpus.hosts``; ``i-aub`` / ``i-bravo`` are
unmapped but billed by each team's GPU records over the telemetry's hour; ``i-orphan`` is unmapped and
unbilled (nobody's: only admin and finance see it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from aifinops.core.settings import Settings
from aifinops.gpu.samples import GpuSample
from tests.access.server import serve
from tests.factories import rec

HOUR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
SETTINGS = {
    "gpus": {
        "hosts": [
            {"host": "node-a", "gpu_type": "H100", "rate_per_gpu_hour": 2, "team": "aubergine"},
            {"host": "node-b", "gpu_type": "H100", "rate_per_gpu_hour": 2, "team": "bravo"},
        ]
    }
}


def _samples(host: str, util: float) -> list[GpuSample]:
    return [
        GpuSample(
            "dcgm", HOUR + timedelta(minutes=30 * k), 1800, host, 0, f"GPU-{host}", util=util, power_w=300
        )
        for k in range(2)
    ]


def _gpu_record(team: str, host: str) -> object:
    return rec(
        f"gpu-{host}", source="gpu", at=HOUR, team=team, model=None, input_tokens=0, output_tokens=0,
        requests=0, gpu_seconds=Decimal(3600), gpu_type="L4", effective_cost=Decimal("0.80"),
        tags={"instance_id": host},
    )  # fmt: skip


def test_team_key_sees_only_its_own_gpus(tmp_path: Path) -> None:
    served = serve(tmp_path, Settings.model_validate(SETTINGS))
    app = served.app
    app.ledger.append([_gpu_record("bravo", "i-bravo"), _gpu_record("aubergine", "i-aub")])
    for host, util in (
        ("node-a", 0.9),
        ("node-b", 0.05),
        ("i-aub", 0.5),
        ("i-bravo", 0.5),
        ("i-orphan", 0.5),
    ):
        app.store_gpu_samples(_samples(host, util))
    admin, team = served.keys["admin"], served.keys["team"]

    def hosts(path: str, key: str) -> list[str]:
        response = served.get(path, key, params={"since": "7d", "by": "host,team"})
        assert response.status_code == 200, response.text
        return sorted(r["host"] for r in response.json())

    everyone = ["i-aub", "i-bravo", "i-orphan", "node-a", "node-b"]
    assert hosts("/api/v1/gpus/devices", admin) == everyone
    assert hosts("/api/v1/gpus", admin) == everyone
    assert hosts("/api/v1/gpus/devices", team) == ["i-bravo", "node-b"]
    rows = {r["host"]: r for r in served.get("/api/v1/gpus", team, params={"by": "host,team"}).json()}
    assert sorted(rows) == ["i-bravo", "node-b"] and {r["team"] for r in rows.values()} == {"bravo"}
    # node-b: 1 GPU-hour at $2, idle (5 %); i-bravo: its record's $0.80, busy (50 % from telemetry)
    assert Decimal(rows["node-b"]["gpu_cost"]) == Decimal(2) == Decimal(rows["node-b"]["idle_cost"])
    assert Decimal(rows["i-bravo"]["gpu_cost"]) == Decimal("0.80") and rows["i-bravo"]["utilization"] == 1.0
    assert "aubergine" not in served.get("/api/v1/gpus/devices", team).text


def test_team_key_sees_only_its_own_training_estimates(tmp_path: Path) -> None:
    served = serve(tmp_path, Settings.model_validate({"training": {"approval_threshold": 0}}))
    app = served.app
    body = {"params": 1e9, "tokens": 1e10, "gpu": "h100", "count": 8, "rate": 2}
    ids = {team: app.train_estimate(**body, team=team, name=f"ft-{team}")["estimate_id"] for team in ("aubergine", "bravo")}  # fmt: skip
    for team in ("aubergine", "bravo"):
        app.train_approve(ids[team], by=f"cfo-{team}")
    response = served.get("/api/v1/training/estimates", served.keys["team"])
    assert response.status_code == 200
    (own,) = response.json()
    assert own["estimate_id"] == ids["bravo"] and own["approved_by"] == "cfo-bravo"
    assert "aubergine" not in response.text
    assert len(served.get("/api/v1/training/estimates", served.keys["admin"]).json()) == 2
