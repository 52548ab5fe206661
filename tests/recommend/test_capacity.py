"""Provisioned throughput break-even and GPU rightsizing, from hand-built hours and resources."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from aifinops.core.settings_value import ProvisionedOffer
from aifinops.recommend import gpu, provisioned

H = datetime(2026, 3, 2, tzinfo=UTC)


def _offer(**kw: object) -> ProvisionedOffer:
    return ProvisionedOffer(**{"model": "m", "rate_per_unit_hour": 1, "tpm_per_unit": 1000, **kw})


def test_provisioned_beats_on_demand_with_the_break_even() -> None:
    # 10 busy hours of 60,000 input tokens (1,000 TPM) at $10 an hour
    hours = [
        {"model": "m", "input_tokens": 60_000, "output_tokens": 0, "cost": Decimal(10)} for _ in range(10)
    ]
    [rec] = provisioned(hours, [_offer()], window_hours=10)
    ev = rec.evidence
    assert ev["units"] == 1
    assert ev["on_demand_monthly_cost"] == Decimal(7300)  # $100 in 10 hours, per 730-hour month
    assert ev["provisioned_monthly_cost"] == Decimal(730)
    assert ev["spillover_monthly_cost"] == 0
    assert ev["break_even_utilization"] == 0.1
    assert ev["utilization"] == 1.0
    assert rec.monthly_saving == Decimal(6570)


def test_peaks_spill_over_and_idle_hours_count() -> None:
    # 1 hour at 3,000 TPM ($30) and 19 idle hours: the p95 over 20 hours is 0 -> the minimum, 1 unit;
    # 2/3 of the peak hour spills over to on-demand: $20 in 20 hours
    hours = [{"model": "m", "input_tokens": 180_000, "output_tokens": 0, "cost": Decimal(30)}]
    [rec] = provisioned(hours, [_offer()], window_hours=20)
    assert rec.evidence["units"] == 1
    assert rec.evidence["spillover_monthly_cost"] == Decimal(730)  # $20 x 730/20
    assert rec.evidence["on_demand_monthly_cost"] == Decimal(1095)  # $30 x 730/20
    assert rec.monthly_saving == Decimal(1095 - 730 - 730)  # a loss: shown, ranked out
    assert rec.evidence["utilization"] == 0.15  # 3,000 TPM-hours over 20 hours of 1,000 TPM


def test_units_follow_the_weighted_p95_with_headroom() -> None:
    # output weighs 4: 15,000 output tokens an hour = 1,000 weighted TPM; 500 TPM a unit -> 2 units
    hours = [
        {"model": "m", "input_tokens": 0, "output_tokens": 15_000, "cost": Decimal(10)} for _ in range(10)
    ]
    [rec] = provisioned(hours, [_offer(output_weight=4, tpm_per_unit=500)], window_hours=10)
    assert rec.evidence["units"] == 2
    # 20% headroom, in increments of 5 with at least 15 (Azure global): 1,200 TPM -> 3 -> 15 units
    [rec] = provisioned(
        hours,
        [_offer(output_weight=4, tpm_per_unit=500, headroom=1.2, increment=5, min_units=15)],
        window_hours=10,
    )
    assert rec.evidence["units"] == 15


def _endpoint(**kw: object) -> dict:
    res = {
        "name": "llm",
        "kind": "endpoint",
        "pricing_mode": "reserved",
        "category": "self_hosted_inference",
        "instances": 4,
        "gpus": 4,
        "hours": 4 * 720,
        "util": 0.15,
        "cost": Decimal(1000),
        "rows": [],
    }
    res.update(kw)
    return res


def test_gpu_rightsizing_to_the_instances_needed() -> None:
    # 4 one-GPU instances at 15%: 0.6 GPU busy -> 1 instance at the 60% target, 3 of 4 saved
    [rec] = gpu([_endpoint()], None, days=Decimal(30))
    assert rec.kind == "gpu_rightsizing"
    assert rec.evidence["gpus_needed"] == 1
    assert rec.monthly_saving == Decimal(750)
    assert rec.confidence == "medium"


def test_gpu_rightsizing_single_node_shrinks_to_a_sold_size() -> None:
    # one 8-GPU node at 31%: 2.48 GPUs busy -> 5 at 60% -> no 5-GPU size: stays 8, nothing to do
    assert gpu([_endpoint(instances=1, gpus=8, util=0.31)], None, days=Decimal(30)) == []
    # at 10%: 0.8 busy -> 2 GPUs needed -> a 2-GPU node saves 6/8
    [rec] = gpu([_endpoint(instances=1, gpus=8, util=0.1)], None, days=Decimal(30))
    assert rec.monthly_saving == Decimal(750) and rec.confidence == "low"


def test_busy_endpoints_and_unknown_utilisation_are_left_alone() -> None:
    assert gpu([_endpoint(util=0.7), _endpoint(util=None)], None, days=Decimal(30)) == []
