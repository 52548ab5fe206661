"""Fixtures of the GPU tests: the recorded fleet (tests/data/gpu) and its aifinops.yaml."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from aifinops.app import App
from aifinops.core.settings import Settings

DATA = Path(__file__).resolve().parents[1] / "data" / "gpu"
#: the time of the DCGM scrapes (the files carry no timestamps)
AT = datetime(2026, 7, 31, 3, 0, tzinfo=UTC)
#: per-GPU-hour list rates of the shipped catalog the hand computations use
H100_RESERVED = "4.81625"  # aws p5.48xlarge reserved 38.53 / 8 GPUs
L4_ON_DEMAND = "0.8048"  # aws g6.xlarge on demand, 1 GPU

FLEET = {
    "gpus": {
        "hosts": [
            {
                "host": "gpu-node-1",
                "provider": "aws",
                "instance_type": "p5.48xlarge",
                "pricing_mode": "reserved",
                "team": "platform",
            },
            {"host": "gpu-node-2", "provider": "aws", "instance_type": "g6.xlarge", "team": "data"},
        ],
        "kubernetes": [
            {"namespace": "ml", "team": "ml", "job": "ranker-train"},
            {"namespace": "search", "team": "search", "endpoint": "reranker"},
            {"namespace": "support", "team": "support"},
        ],
        "grid_intensity": 400,
    }
}


@pytest.fixture
def fleet_app() -> App:
    """An in-memory app holding one hour of the recorded fleet (both DCGM scrapes, 3600 s each)."""
    app = App(Settings.model_validate(FLEET), None)
    app.ingest_gpu("dcgm", [DATA / "dcgm_fleet.prom", DATA / "dcgm_node2.prom"], interval=3600, at=AT)
    return app
