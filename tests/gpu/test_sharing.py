"""Shared GPUs: each GPU-hour is priced once and cut exactly (allocation's largest remainder), pools apply.

The recorded fleet (tests/data/gpu, one hour, H100 at $4.81625 per GPU-hour): GPU 0 ml; GPU 1 idle (platform);
GPU 2 time-sliced by a search pod and a support pod (busy); GPU 3 MIG: 3g.40gb search (busy), 1g.10gb support
(idle), 3/7 unallocated (idle, platform). In units of 1e-12 dollars, 4.81625 is 4,816,250,000,000:

- GPU 3 by slices 3:1:3 -> 2,064,107,142,857 r1 | 688,035,714,285 r5 | 2,064,107,142,857 r1; one unit is
  left and goes to the largest remainder (the 1g instance): 2.064107142857 + 0.688035714286 + 2.064107142857;
- GPU 2 by 1:1 -> 2.408125 each.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from aifinops.app import App
from aifinops.core.settings import Settings
from aifinops.gpu.sharing import IDLE_OWNER, exact_share, share_gpu_cost
from tests.gpu.conftest import AT, DATA, FLEET

GPU = Decimal("4.81625")
MIG3, MIG1 = Decimal("2.064107142857"), Decimal("0.688035714286")
HALF = Decimal("2.408125")


def _fleet(pool: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    settings = {**FLEET, "allocation": {"shared": [pool]}} if pool else FLEET
    app = App(Settings.model_validate(settings), None)
    app.ingest_gpu("dcgm", [DATA / "dcgm_fleet.prom"], interval=3600, at=AT)
    return {r["team"]: r for r in app.gpu_utilization(by=["team"])}


def test_mig_and_time_slices_split_exactly() -> None:
    rows = _fleet()
    assert MIG3 * 2 + MIG1 == GPU  # the parts of GPU 3 sum to its cost, to the unit
    expected = {"ml": GPU, "platform": GPU + MIG3, "search": HALF + MIG3, "support": HALF + MIG1}
    assert {t: r["gpu_cost"] for t, r in rows.items()} == expected
    assert rows["platform"]["idle_cost"] == GPU + MIG3 and rows["support"]["idle_cost"] == MIG1
    assert rows["search"]["idle_cost"] == 0
    assert sum(r["gpu_cost"] for r in rows.values()) == 4 * GPU  # money conserved exactly


def test_pool_idle_owner_takes_the_idle_parts() -> None:
    pool = {"name": "node1", "match": {"host": "gpu-node-1"}, "split_by": "gpu_seconds", "idle": "owner",
            "owner": "platform"}  # fmt: skip
    rows = _fleet(pool)
    # support's idle 1g instance now costs platform; support keeps its busy pod on GPU 2
    assert rows["support"]["gpu_cost"] == HALF and rows["support"]["idle_cost"] == 0
    assert rows["platform"]["gpu_cost"] == GPU + MIG3 + MIG1 == rows["platform"]["idle_cost"]
    assert sum(r["gpu_cost"] for r in rows.values()) == 4 * GPU


def test_pool_idle_proportional_moves_idle_to_the_busy_parts() -> None:
    pool = {"name": "node1", "match": {"provider": "aws", "service": "p5.*"}, "split_by": "gpu_seconds"}
    rows = _fleet(pool)
    # GPU 3: only search's 3g instance was busy, so it pays for the whole GPU (its idle hours show as idle);
    # GPU 1 had no busy part: platform keeps it
    assert rows["search"]["gpu_cost"] == HALF + GPU and rows["search"]["idle_cost"] == MIG1 + MIG3
    assert rows["search"]["idle_gpu_hours"] == pytest.approx(4 / 7, abs=1e-6)
    assert rows["platform"]["gpu_cost"] == GPU and rows["support"]["gpu_cost"] == HALF
    assert sum(r["gpu_cost"] for r in rows.values()) == 4 * GPU


def test_pool_fixed_ratios() -> None:
    pool = {"name": "node1", "match": {"host": "gpu-node-1"}, "split_by": "fixed",
            "ratios": {"search": 3, "support": 1}, "idle": "owner", "owner": "platform"}  # fmt: skip
    rows = _fleet(pool)
    # GPU 2 by 3:1 -> 3.6121875 / 1.2040625; GPU 3 by 9/7 : 1/7 : 0 -> 4.334625 / 0.481625 (idle: platform) / 0
    assert rows["search"]["gpu_cost"] == Decimal("3.6121875") + Decimal("4.334625")
    assert rows["support"]["gpu_cost"] == Decimal("1.2040625")
    assert rows["platform"]["gpu_cost"] == GPU + Decimal("0.481625")
    assert rows["ml"]["gpu_cost"] == GPU  # a GPU with no ratio for any part splits by GPU-seconds
    assert sum(r["gpu_cost"] for r in rows.values()) == 4 * GPU


def test_share_gpu_cost_is_exact_for_any_weights() -> None:
    assert exact_share(3 / 7) == Fraction(3, 7) and exact_share(1 / 14) == Fraction(1, 14)
    cost = Decimal("1.000000000001")
    parts = share_gpu_cost(cost, [Fraction(1, 3)] * 3, [False, True, False], idle_policy="proportional")
    assert sum(a for *_, a, _ in parts) == cost
    # the idle part (index 1) is cut between the two busy ones; ties go to the earlier weight
    assert [(i, p) for i, p, *_ in parts] == [(0, 0), (1, 0), (1, 2), (2, 2)]
    owner = share_gpu_cost(Decimal(1), [Fraction(1), Fraction(3)], [True, False], idle_policy="bucket")
    assert owner[0][:3] == (0, IDLE_OWNER, Decimal("0.25"))
