"""What the KPIs are computed from: one :class:`KpiInputs` per group (and period), built by the facade.

Pure helpers live here too: splitting token spend into its input and output sides with catalog rates,
and the cheapest-observed-model baseline of the model fit score. No I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aifinops.core.money import ZERO

__all__ = [
    "KpiInputs",
    "INFERENCE_CATEGORIES",
    "NON_CALL_CATEGORIES",
    "INPUT_CLASSES",
    "TokenBucket",
    "split_token_cost",
    "cheapest_per_use_case",
    "fit_costs",
]

#: Categories whose spend serves model calls in production (self-hosted GPU hours included).
INFERENCE_CATEGORIES = ("hosted_inference", "self_hosted_inference", "embedding")
#: Categories that are not paid per API call (left out of cost per API call).
NON_CALL_CATEGORIES = ("training", "storage_transfer")
#: Token classes on the input side of a request (all billed input, cached or not).
INPUT_CLASSES = ("input", "cached_input", "cache_write_5m", "cache_write_1h")


@dataclass
class KpiInputs:
    """Aggregates of one group. Money is ``Decimal``; ``None`` means "not known" (never zero)."""

    cost: Decimal = ZERO
    requests: int = 0
    inference_cost: Decimal = ZERO
    inference_requests: int = 0
    call_cost: Decimal = ZERO
    token_cost: Decimal = ZERO
    input_cost: Decimal = ZERO
    output_cost: Decimal = ZERO
    split_cost: Decimal = ZERO  # the part of token_cost that could be split into input and output
    input_tokens: int = 0  # every input class (uncached, cache reads, cache writes)
    output_tokens: int = 0
    split_input_tokens: int = 0
    split_output_tokens: int = 0
    fit_cheapest_cost: Decimal = ZERO
    fit_actual_cost: Decimal = ZERO
    training_cost: Decimal = ZERO
    training_runs: int = 0
    training_useful_gpu_hours: float | None = None
    latency_ms_mean: float | None = None
    gpu_utilization: float | None = None
    value: Decimal | None = None
    outcomes: int | None = None
    transactions: int = 0
    customer_cost: Decimal = ZERO
    customers: int = 0
    feature_cost: Decimal = ZERO
    features: int = 0
    time_to_value_days: float | None = None
    time_to_first_deployment_days: float | None = None
    anomaly_detection_rate: float | None = None
    mttd_minutes: float | None = None
    #: KPI name -> why it is null (data not available), set by whoever builds the inputs.
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TokenBucket:
    """Token spend of one model in one pricing mode: summed tokens per class and the cost they carry."""

    cost: Decimal
    tokens: Mapping[
        str, int
    ]  # token class -> tokens (input, cached_input, cache_write_5m, cache_write_1h, output)
    rates: Mapping[str, Decimal | None] | None  # USD per 1M tokens per class, from the catalog; None: unknown


def split_token_cost(bucket: TokenBucket) -> tuple[Decimal, Decimal] | None:
    """The bucket's cost split into (input side, output side) in proportion to catalog list prices.

    ``input_side = cost x Σ_input tokens(c) x rate(c) / Σ_all tokens(c) x rate(c)``; the output side is the rest,
    so the two always add up to the recorded cost (discounts and reported costs included). None when a
    class with tokens has no rate (the split would be a guess).
    """
    if bucket.rates is None:
        return None
    weights: dict[str, Decimal] = {}
    for token_class, tokens in bucket.tokens.items():
        if not tokens:
            continue
        rate = bucket.rates.get(token_class)
        if rate is None:
            return None
        weights[token_class] = tokens * rate
    total = sum(weights.values(), ZERO)
    if total == 0:
        return None
    input_side = bucket.cost * sum((w for c, w in weights.items() if c in INPUT_CLASSES), ZERO) / total
    return input_side, bucket.cost - input_side


def cheapest_per_use_case(rows: Iterable[Mapping[str, Any]], min_share: float = 0.01) -> dict[str, Decimal]:
    """Per use case, the lowest blended cost per token among the models that served it.

    ``rows`` carry ``use_case``, ``model``, ``cost`` and ``tokens`` (summed over the period). A model counts
    only if it carried at least ``min_share`` of the use case's tokens (a fallback that served a handful of
    retries is not evidence that the cheap model can do the job).
    """
    per: dict[str, dict[str, list[Any]]] = {}
    for row in rows:
        if row["use_case"] is None or row["model"] is None or not row["tokens"]:
            continue
        acc = per.setdefault(row["use_case"], {}).setdefault(row["model"], [ZERO, 0])
        acc[0] += row["cost"]
        acc[1] += row["tokens"]
    out: dict[str, Decimal] = {}
    for use_case, models in per.items():
        total = sum(t for _, t in models.values())
        prices = [c / t for c, t in models.values() if t and t >= min_share * total]
        if prices:
            out[use_case] = min(prices)
    return out


def fit_costs(
    cost: Decimal, tokens: int, use_case: str | None, cheapest: Mapping[str, Decimal]
) -> tuple[Decimal, Decimal] | None:
    """(cost at the use case's cheapest observed model, actual cost) of one model's tokens, or None."""
    if use_case is None or use_case not in cheapest or not tokens:
        return None
    return min(cheapest[use_case] * tokens, cost), cost
