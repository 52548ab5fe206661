"""Record builders for the export tests: GPU instance-hours and reversals as the app writes them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from aifinops.core.records import UsageRecord, make_record_id
from tests.factories import T0, rec

D = Decimal


def reversal(original: UsageRecord) -> UsageRecord:
    """A reversing record as the app writes it: negated quantities and money, ``corrects`` set."""
    neg = {
        name: -getattr(original, name)
        for name in (
            "input_tokens",
            "cached_input_tokens",
            "cache_write_5m_tokens",
            "cache_write_1h_tokens",
            "output_tokens",
            "reasoning_tokens",
            "requests",
        )
    }
    for name in ("gpu_seconds", "list_cost", "effective_cost", "billed_cost"):
        value = getattr(original, name)
        neg[name] = None if value is None else -value
    return replace(
        original,
        **neg,
        record_id=make_record_id("reversal", original.record_id),
        corrects=original.record_id,
        tags=dict(original.tags),
    )


def gpu_rec(i: int = 0, **kw: Any) -> UsageRecord:
    """One hour of an 8 x H100 reserved instance (priced 38.53, i.e. 4.81625 per GPU-hour)."""
    fields: dict[str, Any] = {
        "source": "gpu",
        "provider": "aws",
        "service": "p5.48xlarge",
        "model": None,
        "operation": "infer",
        "category": "self_hosted_inference",
        "pricing_mode": "reserved",
        "region": "us-east-1",
        "input_tokens": 0,
        "output_tokens": 0,
        "requests": 0,
        "gpu_seconds": D(28800),
        "gpu_type": "H100",
        "gpu_count": 8,
        "list_cost": D("38.53"),
        "effective_cost": D("38.53"),
        "billed_cost": D("38.53"),
        "price_id": "aws/p5.48xlarge@2025-06-01",
        "tags": {"instance_id": "i-0abc", "endpoint": "llm-70b"},
        "at": T0 + timedelta(hours=i),
    }
    fields.update(kw)
    at = fields.pop("at")
    record = rec(f"gpu{i}", at=at, **fields)
    record.charge_period_end = record.charge_period_start + timedelta(hours=1)
    return record
