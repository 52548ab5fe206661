"""The GPU commands (`aifinops ingest dcgm|nvidia-smi|jobs`, `gpu`, `train`) and the `/api/v1` GPU routes."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from aifinops.api import create_server
from aifinops.app import App
from aifinops.cli.main import cli
from aifinops.core.settings import Settings
from tests.gpu.conftest import DATA, FLEET

CONFIG = """
gpus:
  hosts:
    - {host: gpu-node-1, provider: aws, instance_type: p5.48xlarge, pricing_mode: reserved, team: platform}
  kubernetes:
    - {namespace: ml, team: ml}
training:
  approval_threshold: 1000
"""


@pytest.fixture
def folder(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "aifinops.yaml"
    config.write_text(CONFIG)
    return config, tmp_path / "data"


def _cli(folder: tuple[Path, Path], *args: str, code: int = 0) -> str:
    config, data = folder
    result = CliRunner().invoke(cli, ["--config", str(config), "--data-dir", str(data), *args])
    assert result.exit_code == code, result.output
    return result.output


def test_cli_ingest_report_and_train(folder: tuple[Path, Path]) -> None:
    out = json.loads(
        _cli(
            folder, "ingest", "dcgm", str(DATA / "dcgm_fleet.prom"), "--interval", "3600", "--format", "json"
        )
    )
    assert out["inserted"] == 7 and out["rejected"] == 0
    rows = json.loads(_cli(folder, "gpu", "report", "--by", "team", "--since", "3650d", "--format", "json"))
    teams = {r["team"]: r for r in rows}
    assert Decimal(teams["ml"]["gpu_cost"]) == Decimal("4.81625") and teams["ml"]["utilization"] == 1.0
    assert json.loads(_cli(folder, "report", "gpus", "--since", "3650d", "--format", "json")) == rows
    devices = json.loads(_cli(folder, "gpu", "devices", "--since", "3650d", "--format", "json"))
    assert [d["gpu_index"] for d in devices] == [0, 1, 2, 3]

    out = _cli(
        folder, "train", "estimate", "--params", "7e9", "--tokens", "2e12", "--gpu", "h100", "--count", "64"
    )
    assert "58,982" in out and "pending approval" in out
    est_id = out.rsplit("aifinops train approve ", 1)[1].split()[0]
    approved = json.loads(_cli(folder, "train", "approve", est_id, "--by", "cfo", "--format", "json"))
    assert approved["status"] == "approved"
    _cli(folder, "train", "approve", "est-missing", "--by", "cfo", code=1)

    out = json.loads(_cli(folder, "ingest", "jobs", str(DATA / "jobs.csv"), "--format", "json"))
    assert out["runs"] == 3
    runs = json.loads(_cli(folder, "train", "runs", "--since", "3650d", "--format", "json"))
    assert [r["runaway"] for r in runs] == [False, False, True]


def test_cli_ingest_errors(folder: tuple[Path, Path], tmp_path: Path) -> None:
    out = _cli(folder, "ingest", "nvidia-smi", str(DATA / "smi_bad_rows.csv"), "--host", "h")
    assert "'lots %' is not a number" in out
    bad = tmp_path / "x.prom"
    bad.write_text("up 1\n")
    assert "no DCGM_FI_" in _cli(folder, "ingest", "dcgm", str(bad), code=1)
    assert "apply only" in _cli(folder, "ingest", "focus", str(bad), "--host", "h", code=2)
    assert "no NVIDIA GPU/driver found" in _cli(folder, "gpu", "collect", code=1)


@pytest.fixture
def client() -> TestClient:
    app = App(Settings.model_validate(FLEET), None)
    return TestClient(create_server(app))


def test_api_gpus_ingest_endpoints_jobs_training(client: TestClient) -> None:
    body = {"source": "dcgm", "paths": [str(DATA / "dcgm_fleet.prom")], "interval": 3600}
    assert client.post("/api/v1/gpus/ingest", json=body).json()["inserted"] == 7
    rows = client.get("/api/v1/gpus", params={"by": "team,host", "since": "3650d"}).json()
    assert {r["team"] for r in rows} == {"ml", "platform", "search", "support"}
    assert client.get("/api/v1/gpus", params={"by": "model"}).json()["error"]["code"] == "invalid_input"
    eps = client.get("/api/v1/gpus/endpoints", params={"since": "3650d"}).json()
    assert [e["endpoint"] for e in eps] == ["reranker"] and eps[0]["tokens"] == 0

    job = {"name": "ft", "team": "ds", "start": "2026-07-01T00:00:00Z", "end": "2026-07-01T04:00:00Z",
           "gpu_type": "H100", "gpu_count": 8, "provider": "aws", "pricing_mode": "on_demand"}  # fmt: skip
    assert client.post("/api/v1/jobs", json=[job]).json()["runs"] == 1
    bad = client.post("/api/v1/jobs", json=[{**job, "gpu_count": 0}])
    assert bad.status_code == 400 and "gpu_count" in bad.json()["error"]["details"][0]
    (run,) = client.get("/api/v1/training/runs", params={"since": "3650d"}).json()
    assert run["gpu_hours"] == 32.0 and Decimal(run["cost"]) == Decimal("220.16")  # 32 x $55.04 / 8

    est = client.post(
        "/api/v1/training/estimates", json={"params": 7e9, "tokens": 2e12, "gpu": "h100", "count": 64}
    ).json()
    assert est["status"] == "pending_approval"
    ok = client.post(f"/api/v1/training/estimates/{est['estimate_id']}/approve", json={"by": "cfo"})
    assert ok.json()["status"] == "approved"
    assert client.post("/api/v1/training/estimates/nope/approve", json={"by": "x"}).status_code == 404
    assert (
        client.post(
            "/api/v1/training/estimates", json={"params": -1, "tokens": 1, "gpu": "h100", "count": 1}
        ).status_code
        == 400
    )
    assert len(client.get("/api/v1/training/estimates").json()) == 1


def test_api_samples_and_local_mode() -> None:
    app = App(Settings(), None)
    remote = TestClient(create_server(app, local_mode=False))
    body = {"source": "dcgm", "paths": [str(DATA / "dcgm_fleet.prom")]}
    assert remote.post("/api/v1/gpus/ingest", json=body).status_code in (401, 403)
    sample = {"ts": "2026-07-31T03:00:00Z", "seconds": 3600, "host": "h", "gpu_index": 0, "util": 0.5}
    local = TestClient(create_server(app))
    assert local.post("/api/v1/gpus/samples", json=[sample]).json()["inserted"] == 1
    assert local.post("/api/v1/gpus/samples", json=[{**sample, "util": 50}]).status_code == 400


def test_generic_ingest_route_takes_the_gpu_sources(client: TestClient) -> None:
    body = {"source": "dcgm", "paths": [str(DATA / "dcgm_node2.prom")]}
    assert client.post("/api/v1/ingest", json=body).json()["inserted"] == 1
    jobs = client.post("/api/v1/ingest", json={"source": "jobs", "paths": [str(DATA / "jobs.csv")]}).json()
    assert jobs["runs"] == 3 and jobs["inserted"] == 4
    bad = client.post("/api/v1/ingest", json={"source": "dcgm", "paths": ["/nonexistent.prom"]})
    assert bad.status_code == 400 and "no such file" in bad.json()["error"]["message"]
