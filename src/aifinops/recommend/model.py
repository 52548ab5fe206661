"""A recommendation: what to change, the evidence, the monthly saving (exact Decimal) and a confidence."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aifinops.core.money import ZERO, quantize

__all__ = ["Recommendation", "KINDS", "CONFIDENCES", "recommendation_id", "monthly", "rank", "DAYS_PER_MONTH"]

#: The kinds of recommendation, in the order the issue lists them.
KINDS = (
    "model_rightsizing",
    "prompt_caching",
    "response_caching",
    "semantic_caching",
    "batch",
    "max_tokens",
    "provisioned_throughput",
    "gpu_rightsizing",
    "gpu_spot",
    "gpu_reservation",
    "zombie_retirement",
)
CONFIDENCES = ("high", "medium", "low")
#: A month, for run rates: a saving seen over ``days`` is scaled by ``DAYS_PER_MONTH / days``.
DAYS_PER_MONTH = Decimal(30)


def recommendation_id(kind: str, scope: dict[str, Any], target: str = "") -> str:
    """A stable id: the same finding on tomorrow's data keeps its id (so it can be applied and tracked)."""
    key = "\x00".join([kind, *(f"{k}={scope[k]}" for k in sorted(scope)), target])
    return f"{kind[:3]}-{hashlib.blake2b(key.encode(), digest_size=5).hexdigest()}"


def monthly(saving: Decimal, days: Decimal | int) -> Decimal:
    """A saving seen over ``days`` days as a monthly (30-day) run rate, at the ledger's precision."""
    days = Decimal(days)
    if days <= 0:
        return ZERO
    return quantize(saving * DAYS_PER_MONTH / days)


@dataclass(slots=True)
class Recommendation:
    """One savings opportunity. ``change`` is the exact edit (often an ``aifinops.yaml`` snippet)."""

    id: str
    kind: str
    title: str
    scope: dict[str, Any]
    monthly_saving: Decimal
    confidence: str
    change: str
    evidence: dict[str, Any] = field(default_factory=dict)
    current_monthly_cost: Decimal | None = None
    window_days: Decimal | None = None

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (money stays Decimal)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "scope": dict(self.scope),
            "monthly_saving": self.monthly_saving,
            "current_monthly_cost": self.current_monthly_cost,
            "confidence": self.confidence,
            "change": self.change,
            "evidence": dict(self.evidence),
        }


def rank(items: list[Recommendation], min_saving: Decimal = ZERO) -> list[Recommendation]:
    """Largest monthly saving first (ties: higher confidence, then id), ``low`` confidence ones (an
    experiment first) after all the others; savings under ``min_saving`` dropped.

    Several recommendations for the same scope and kind (e.g. two cheaper models for one feature) are
    alternatives: only the largest stays.
    """
    best: dict[tuple[str, str], Recommendation] = {}
    for item in items:
        if item.monthly_saving <= 0 or item.monthly_saving < min_saving:
            continue
        key = (item.kind, repr(sorted(item.scope.items())))
        kept = best.get(key)
        if kept is None or item.monthly_saving > kept.monthly_saving:
            best[key] = item
    return sorted(
        best.values(),
        key=lambda r: (r.confidence == "low", -r.monthly_saving, CONFIDENCES.index(r.confidence), r.id),
    )
