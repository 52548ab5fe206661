"""The record: one row per charge or usage event, for every kind of AI cost (DESIGN §2).

Token classes are disjoint, so a cost is a plain sum over them and nothing is counted twice:

- ``input_tokens``: input billed at the base input price (no cache reads, no cache writes)
- ``cached_input_tokens``: input read from a prompt cache
- ``cache_write_5m_tokens`` / ``cache_write_1h_tokens``: input written to a cache (by TTL)
- ``output_tokens``: all billed output, *including* reasoning
- ``reasoning_tokens``: the reasoning part of ``output_tokens`` (informational, never added again)

Money columns are ``Decimal``. A record whose price is not known has ``cost_status="unpriced"`` and null
costs: it is never $0.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

__all__ = [
    "UsageRecord",
    "Outcome",
    "CATEGORIES",
    "PRICING_MODES",
    "COST_STATUSES",
    "OWNER_FIELDS",
    "TOKEN_FIELDS",
    "MONEY_FIELDS",
    "OUTCOME_DIMENSIONS",
    "DIMENSIONS",
    "make_record_id",
]

CATEGORIES = (
    "hosted_inference",
    "self_hosted_inference",
    "training",
    "embedding",
    "labelling",
    "evaluation",
    "storage_transfer",
    "other",
)
PRICING_MODES = ("on_demand", "batch", "priority", "flex", "provisioned", "reserved", "spot")
#: ``priced``: from the catalog; ``reported``: the provider's own cost report or bill;
#: ``unpriced``: no price known yet (costs are null, never 0).
COST_STATUSES = ("priced", "reported", "unpriced")
OWNER_FIELDS = (
    "team",
    "project",
    "product",
    "feature",
    "customer",
    "environment",
    "use_case",
    "user",
    "api_key",
)
TOKEN_FIELDS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
)
MONEY_FIELDS = ("list_cost", "effective_cost", "billed_cost")
#: The attribution keys an :class:`Outcome` carries (the value ledger groups costs and outcomes by these).
OUTCOME_DIMENSIONS = (
    "team",
    "project",
    "product",
    "feature",
    "customer",
    "environment",
    "use_case",
    "initiative",
)


def make_record_id(source: str, source_id: str) -> str:
    """Deterministic record id from the source and the source's own id: re-imports are no-ops."""
    digest = hashlib.blake2b(f"{source}\x00{source_id}".encode(), digest_size=16).hexdigest()
    return digest


@dataclass(slots=True, kw_only=True)
class UsageRecord:
    """One charge or usage event. See the module docstring for the token classes."""

    # identity
    record_id: str
    source: str
    # time (UTC; start inclusive, end exclusive)
    charge_period_start: datetime
    charge_period_end: datetime
    # what
    provider: str | None = None
    service: str | None = None
    model: str | None = None
    model_requested: str | None = None
    operation: str | None = None
    category: str = "hosted_inference"
    pricing_mode: str = "on_demand"
    region: str | None = None
    # quantities
    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    requests: int = 0
    gpu_seconds: Decimal | None = None
    gpu_type: str | None = None
    gpu_count: int | None = None
    quantity: Decimal | None = None
    unit: str | None = None
    # money
    list_cost: Decimal | None = None
    effective_cost: Decimal | None = None
    billed_cost: Decimal | None = None
    currency: str = "USD"
    price_id: str | None = None
    cost_status: str = "unpriced"
    # owner
    team: str | None = None
    project: str | None = None
    product: str | None = None
    feature: str | None = None
    customer: str | None = None
    environment: str | None = None
    use_case: str | None = None
    user: str | None = None
    api_key: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    # trace
    trace_id: str | None = None
    span_id: str | None = None
    parent_span_id: str | None = None
    workflow: str | None = None
    depth: int | None = None
    attempt: int | None = None
    cache_hit: bool | None = None
    status: str | None = None
    error: str | None = None
    latency_ms: float | None = None
    # accounting
    charge_category: str = "usage"
    corrects: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (money stays ``Decimal``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


RECORD_FIELDS = tuple(f.name for f in fields(UsageRecord))
#: Columns a rollup may group by; anything else is looked up as a tag.
DIMENSIONS = (
    "source",
    "provider",
    "service",
    "model",
    "operation",
    "category",
    "pricing_mode",
    "region",
    "gpu_type",
    "currency",
    "cost_status",
    "status",
    "workflow",
    "charge_category",
    *OWNER_FIELDS,
)


@dataclass(slots=True, kw_only=True)
class Outcome:
    """A business outcome (the value ledger): something the AI spend produced."""

    outcome_id: str
    source: str
    occurred_at: datetime
    outcome_type: str
    count: int = 1
    value: Decimal | None = None
    currency: str = "USD"
    team: str | None = None
    project: str | None = None
    product: str | None = None
    feature: str | None = None
    customer: str | None = None
    environment: str | None = None
    use_case: str | None = None
    initiative: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
