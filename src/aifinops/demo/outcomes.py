"""Business outcomes (the value ledger): what each feature's AI spend produced, day by day.

Outcomes follow the same expected volume as the traffic (prod environment only), times the feature's
outcome rate, split across B2B tenants where the feature has them. One :class:`Outcome` per feature,
customer and day, with ``count`` events and ``value = count x unit value`` where the outcome has a value.
The zombie initiative (:data:`~aifinops.demo.company.ZOMBIE_INITIATIVE`) has none.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from aifinops.core.records import Outcome, make_record_id
from aifinops.demo.company import FEATURES, TENANTS, Feature
from aifinops.demo.context import DemoContext, feature_index

__all__ = ["generate_outcomes"]


def _expected(ctx: DemoContext, feature: Feature, day: date) -> tuple[float, np.ndarray]:
    """Expected prod volume on ``day`` inside the window, and the hour weights for placing outcomes."""
    lo, hi = ctx.window_seconds(day)
    hours = np.arange(24) * 3600.0
    inside = np.clip((np.minimum(hours + 3600.0, hi) - np.maximum(hours, lo)) / 3600.0, 0.0, 1.0)
    if feature.profile == "nightly":
        weights = np.zeros(24)
        weights[2] = 1.0
        weights *= inside
        total = ctx.nightly_volume(feature, day) * float(weights.sum())
    else:
        weights = ctx.hourly_volume(feature, day) * inside
        total = float(weights.sum())
    prod = sum(share for env, share in feature.environments if env == "prod")
    return total * prod * ctx.scale, weights


def _feature_day(ctx: DemoContext, feature: Feature, day: date) -> list[Outcome]:
    spec = feature.outcome
    if spec is None:
        return []
    rng = ctx.rng("outcomes", feature_index(feature.name), day.toordinal())
    expected, weights = _expected(ctx, feature, day)
    count = int(rng.poisson(expected * spec.rate))
    if count == 0:
        return []
    if feature.customers:
        split = rng.multinomial(count, [t[1] for t in TENANTS])
        groups = [(t[0], int(c)) for t, c in zip(TENANTS, split, strict=True) if c]
    else:
        groups = [(None, count)]
    hours = rng.choice(24, size=len(groups), p=weights / weights.sum())
    minutes = rng.random(len(groups)) * 3600.0
    lo, hi = ctx.window_seconds(day)
    base = ctx.day_start(day)
    unit = Decimal(spec.value) if spec.value is not None else None
    out = []
    for (customer, n), h, m in zip(groups, hours.tolist(), minutes.tolist(), strict=True):
        sec = min(max(h * 3600.0 + m, lo), hi - 1.0)
        out.append(
            Outcome(
                outcome_id=make_record_id("outcomes", f"{ctx.seed}:{feature.name}:{day:%Y%m%d}:{customer}"),
                source=spec.source,
                occurred_at=base + timedelta(seconds=sec),
                outcome_type=spec.outcome_type,
                count=n,
                value=unit * n if unit is not None else None,
                team=feature.team,
                project=feature.project,
                product=feature.product,
                feature=feature.name,
                customer=customer,
                environment="prod",
                use_case=feature.use_case,
                initiative=feature.initiative,
            )
        )
    return out


def generate_outcomes(ctx: DemoContext) -> list[Outcome]:
    """Every outcome in the demo window, oldest first."""
    out: list[Outcome] = []
    for day in ctx.days():
        for feature in FEATURES:
            out.extend(_feature_day(ctx, feature, day))
    out.sort(key=lambda o: (o.occurred_at, o.outcome_id))
    return out
