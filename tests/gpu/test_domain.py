"""The pure GPU domain: MIG shares, attribution rules, busy/idle summaries, the training estimator."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from aifinops.core.settings_gpu import HostMapping, KubernetesMapping
from aifinops.gpu import (
    GpuSample,
    estimate_training,
    is_runaway,
    mig_fraction,
    resolve_owner,
    split_shared,
    summarize,
)
from aifinops.gpu.training import achieved_mfu, peak_tflops
from aifinops.gpu.usage import slice_from_interval

T = datetime(2026, 7, 31, tzinfo=UTC)


@pytest.mark.parametrize(
    ("profile", "model", "share"),
    [("1g.10gb", "NVIDIA A100-SXM4-80GB", 1 / 7), ("3g.40gb", None, 3 / 7), ("7g.80gb", None, 1.0),
     ("2g.12gb", "NVIDIA A30", 0.5), (None, None, 1.0)],
)  # fmt: skip
def test_mig_fraction(profile: str | None, model: str | None, share: float) -> None:
    assert mig_fraction(profile, model) == pytest.approx(share)


def test_mig_fraction_refuses_garbage() -> None:
    with pytest.raises(ValueError, match="3g.40gb"):
        mig_fraction("big")


def test_split_three_pods_on_one_gpu() -> None:
    pods = [GpuSample("dcgm", T, 60, "h", 0, "GPU-1", util=0.6, power_w=300.0, pod=p) for p in "abc"]
    out = split_shared(pods)
    assert [s.share for s in out] == [pytest.approx(1 / 3)] * 3
    assert sum(s.power_w for s in out) == pytest.approx(300.0)


def test_split_leaves_different_times_and_gpus_alone() -> None:
    a = GpuSample("dcgm", T, 60, "h", 0, "GPU-1", util=0.6)
    b = GpuSample("dcgm", T.replace(minute=1), 60, "h", 0, "GPU-1", util=0.6)
    c = GpuSample("dcgm", T, 60, "h", 1, "GPU-2", util=0.6)
    assert [s.share for s in split_shared([a, b, c])] == [1.0, 1.0, 1.0]


HOSTS = [
    HostMapping(
        host="node-*", provider="aws", instance_type="p5.48xlarge", pricing_mode="reserved", team="infra"
    ),
    HostMapping(host="node-1", gpu="3", team="search", endpoint="llm"),
    HostMapping(host="node-1", gpu="GPU-abc*", rate_per_gpu_hour=Decimal("2.5")),
]
K8S = [KubernetesMapping(namespace="ml", pod="trainer-*", team="ml", job="ranker")]


def test_owner_precedence_host_gpu_pod() -> None:
    host_only = resolve_owner(HOSTS, K8S, host="node-2", gpu_index=0)
    assert (host_only.team, host_only.provider, host_only.pricing_mode) == ("infra", "aws", "reserved")
    gpu = resolve_owner(HOSTS, K8S, host="node-1", gpu_index=3)
    assert (gpu.team, gpu.endpoint, gpu.instance_type) == ("search", "llm", "p5.48xlarge")
    by_uuid = resolve_owner(HOSTS, K8S, host="node-1", gpu_index=5, gpu_uuid="GPU-abcdef")
    assert by_uuid.rate_per_gpu_hour == Decimal("2.5") and by_uuid.team == "infra"
    pod = resolve_owner(HOSTS, K8S, host="node-1", gpu_index=3, namespace="ml", pod="trainer-0")
    assert (pod.team, pod.job, pod.endpoint) == ("ml", "ranker", "llm")  # the pod rule sets team and job only
    other_pod = resolve_owner(HOSTS, K8S, host="node-2", namespace="ml", pod="notebook", job="hpc-42")
    assert (other_pod.team, other_pod.job) == ("infra", "hpc-42")
    assert resolve_owner(HOSTS, K8S, host="laptop").team is None


def test_summarize_busy_idle_cost_energy() -> None:
    rate = Decimal("2")
    slices = [
        slice_from_interval(
            {"team": "a"}, gpu_hours=1.0, util=0.9, threshold=0.15, rate=rate, energy_kwh=0.5
        ),
        slice_from_interval(
            {"team": "a"}, gpu_hours=3.0, util=0.1, threshold=0.15, rate=rate, energy_kwh=0.25
        ),
        slice_from_interval({"team": "b"}, gpu_hours=2.0, util=None, threshold=0.15, rate=None),
    ]
    a, b = summarize(slices, ["team"], grid_intensity=400)
    assert a["team"] == "a" and a["provisioned_gpu_hours"] == 4.0
    assert (a["busy_gpu_hours"], a["idle_gpu_hours"], a["utilization"]) == (1.0, 3.0, 0.25)
    assert a["mean_gpu_util"] == pytest.approx((0.9 + 0.3) / 4)
    assert a["gpu_cost"] == Decimal("8") and a["idle_cost"] == Decimal("6") and a["idle_cost_share"] == 0.75
    assert a["energy_kwh"] == 0.75 and a["co2e_kg"] == pytest.approx(0.3)
    # no utilization reading and no price: unmeasured and unpriced, never idle and never $0 silently
    assert b["unmeasured_gpu_hours"] == 2.0 and b["utilization"] is None and b["unpriced_gpu_hours"] == 2.0


def test_threshold_is_strict() -> None:
    s = slice_from_interval({}, gpu_hours=1.0, util=0.15, threshold=0.15, rate=Decimal(1))
    assert s.busy_h == 1.0 and s.idle_h == 0.0


def test_estimate_7b_on_2t_tokens_h100() -> None:
    est = estimate_training(params=7e9, tokens=2e12, gpu="h100", count=64, mfu=0.4, spread=0.25,
                            rate_per_gpu_hour=Decimal("2.00"))  # fmt: skip
    flops = 6 * 7e9 * 2e12  # 8.4e22
    hours = flops / (989e12 * 0.4) / 3600  # 58,982.1 GPU-hours
    assert est.flops == flops and est.gpu_hours == pytest.approx(hours)
    assert est.gpu_hours == pytest.approx(58982.14, abs=0.01)
    assert est.gpu_hours_low == pytest.approx(hours / 1.25) and est.gpu_hours_high == pytest.approx(
        hours / 0.75
    )
    assert est.wall_clock_hours == pytest.approx(hours / 64)
    assert est.cost.quantize(Decimal("0.01")) == Decimal("117964.27")  # $2 x 58,982.1368 GPU-hours
    assert est.cost_low < est.cost < est.cost_high


def test_estimate_without_price_and_bad_inputs() -> None:
    est = estimate_training(params=1e9, tokens=1e10, gpu="NVIDIA A100-SXM4-80GB", count=8)
    assert est.cost is None and est.gpu_type == "A100-80GB" and est.peak_tflops == 312.0
    with pytest.raises(ValueError, match="no peak throughput"):
        peak_tflops("RTX 9999")
    with pytest.raises(ValueError, match="mfu"):
        estimate_training(params=1e9, tokens=1e10, gpu="h100", count=8, mfu=1.5)
    with pytest.raises(ValueError, match="positive"):
        estimate_training(params=0, tokens=1e10, gpu="h100", count=8)


def test_runaway_and_achieved_mfu() -> None:
    assert is_runaway(126, 100, 0.25) and not is_runaway(125, 100, 0.25) and not is_runaway(500, None, 0.25)
    assert is_runaway(Decimal("13"), Decimal("10"), 0.25)
    # the estimate's own hours at its MFU give back that MFU
    est = estimate_training(params=7e9, tokens=2e12, gpu="h100", count=64, mfu=0.4)
    assert achieved_mfu(7e9, 2e12, "H100", est.gpu_hours) == pytest.approx(0.4)
    assert achieved_mfu(0, 2e12, "H100", 10) is None


def test_settings_errors_name_the_field(tmp_path) -> None:  # noqa: ANN001
    from aifinops.core.errors import ConfigError
    from aifinops.core.settings import load_settings

    path = tmp_path / "aifinops.yaml"
    path.write_text(
        "gpus:\n  idle_threshold: 15\n  hosts:\n    - {host: a, pricing_mode: hourly, colour: red}\n"
        "training:\n  approval_threshold: -5\n"
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    details = "\n".join(map(str, info.value.details))
    assert "gpus.idle_threshold: Value error, is a fraction between 0 and 1 (0.15 means 15 %)" in details
    assert "gpus.hosts[0].pricing_mode" in details and "gpus.hosts[0].colour: unknown setting" in details
    assert "training.approval_threshold" in details
