"""The scenario planner: what a proposed workload costs along an uncertain adoption curve.

Adoption follows a logistic curve towards ``requests_per_day`` reached around ``ramp_days``; the
ceiling, the speed and the tokens per request are uncertain (log-normal with ``uncertainty`` as the
spread). Monte Carlo paths give the cost distribution; the answer is read at the asked percentile
("what does this cost at the 80th-percentile adoption curve?").
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

__all__ = ["Workload", "plan_scenario"]


@dataclass(frozen=True)
class Workload:
    """A proposed workload: traffic at full adoption, tokens per request and the price per token class."""

    requests_per_day: float
    input_tokens: float
    output_tokens: float
    input_price: Decimal  # per token
    output_price: Decimal  # per token
    cached_share: float = 0.0
    cached_price: Decimal | None = None
    ramp_days: float = 30.0
    days: int = 30
    uncertainty: float = 0.3

    def __post_init__(self) -> None:
        if self.requests_per_day <= 0:
            raise ValueError("requests_per_day must be greater than 0")
        if self.input_tokens < 0 or self.output_tokens < 0:
            raise ValueError("token counts must not be negative")
        if not 0 <= self.cached_share <= 1:
            raise ValueError("cached_share must be between 0 and 1")
        if not 1 <= self.days <= 1096:
            raise ValueError("days must be between 1 and 1096")
        if self.ramp_days <= 0:
            raise ValueError("ramp_days must be greater than 0")
        if not 0 <= self.uncertainty <= 2:
            raise ValueError("uncertainty must be between 0 and 2")

    def cost_per_request(self) -> Decimal:
        cached = self.cached_price if self.cached_price is not None else self.input_price
        share = Decimal(str(self.cached_share))
        tokens_in = Decimal(str(self.input_tokens))
        return (
            tokens_in * (1 - share) * self.input_price
            + tokens_in * share * cached
            + Decimal(str(self.output_tokens)) * self.output_price
        )


def plan_scenario(
    w: Workload, *, percentile: float = 80.0, paths: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """Cost of the workload over ``w.days`` at ``percentile`` of the adoption uncertainty, plus the median
    and the 95th percentile, the daily curve at ``percentile`` and the cost per request."""
    if not 0 < percentile < 100:
        raise ValueError("percentile must be between 0 and 100")
    rng = np.random.default_rng(seed)
    s = w.uncertainty
    ceiling = w.requests_per_day * rng.lognormal(-(s**2) / 2, s, size=(paths, 1))
    speed = w.ramp_days * rng.lognormal(0, s / 2, size=(paths, 1))
    size = rng.lognormal(-(s**2) / 8, s / 2, size=(paths, 1))  # tokens per request drift
    t = np.arange(w.days)[None, :] + 0.5
    curve = ceiling / (1 + np.exp(-8 * (t / speed - 0.5)))  # ~2 % at day 0, ~98 % at ramp_days
    unit = float(w.cost_per_request())
    daily = curve * unit * size
    totals = daily.sum(axis=1)
    order = np.argsort(totals)
    at = order[min(paths - 1, int(round(percentile / 100 * (paths - 1))))]

    def money(x: float) -> Decimal:
        return Decimal(str(round(x, 2)))

    return {
        "days": w.days,
        "percentile": percentile,
        "cost_per_request": w.cost_per_request(),
        "total": money(float(totals[at])),
        "median": money(float(np.median(totals))),
        "p95": money(float(np.quantile(totals, 0.95))),
        "last_day": money(float(daily[at, -1])),
        "monthly_run_rate": money(float(daily[at, -1]) * 30),
        "requests": int(curve[at].sum()),
        "daily": [money(float(x)) for x in daily[at]],
    }
