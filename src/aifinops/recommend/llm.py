"""Recommendations on hosted-model traffic: right-sizing, retiring zombies, batch, ``max_tokens``.

Each function takes token rows (see :mod:`aifinops.recommend.tokens`) and per-feature facts gathered by the
facade, prices the alternative with the real catalog, and returns :class:`Recommendation` objects whose
``monthly_saving`` is the exact saving over the observed days scaled to 30 days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from aifinops.recommend.model import Recommendation, monthly, recommendation_id
from aifinops.recommend.quality import Lane, Verdict, judge
from aifinops.recommend.tokens import cost_on, paid

__all__ = ["rightsizing", "retire", "batch", "max_tokens"]


def _groups(rows: Sequence[Mapping[str, Any]], *keys: str) -> dict[tuple[Any, ...], list[Mapping[str, Any]]]:
    out: dict[tuple[Any, ...], list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        out[tuple(row.get(k) for k in keys)].append(row)
    return out


def _rule(name: str, scope: Mapping[str, str], lines: Sequence[str]) -> str:
    scope_text = ", ".join(f"{k}: {v}" for k, v in scope.items())
    return (
        "\n".join([f"models:\n  - name: {name}\n    scope: {{{scope_text}}}", *(f"    {x}" for x in lines)])
        + "\n"
    )


def rightsizing(
    rows: Sequence[Mapping[str, Any]],
    lanes: Mapping[tuple[str, str | None], Lane],
    outcomes: Mapping[str, Mapping[datetime, int]],
    catalog: Any,
    *,
    days: Mapping[tuple[str, str], Decimal],
    until: datetime,
    ladder: Mapping[str, str] | None = None,
    workflows: Mapping[str, Mapping[datetime, int]] | None = None,
) -> list[Recommendation]:
    """Move a lane's traffic on a model to a cheaper one, where the quality signals allow it.

    ``rows``: token rows with ``feature``, ``step`` (the agent step tag or None) and ``model``. ``lanes``: per
    (feature, step), the daily requests and errors per model over the lookback; ``outcomes``: per feature,
    its business outcomes per day; ``workflows``: per agent feature, its workflows (traces) per day, the
    unit of an agent step's outcome rate. Observed candidates are judged by :func:`aifinops.recommend.quality.judge`
    (the confidence and the evidence come from there); a ``value.rightsizing`` target the lane never used is
    ``medium``. ``days`` gives, per (feature, model), the days of the window it was seen (the run rate's
    denominator).
    """
    out: list[Recommendation] = []
    for (feature, step, model), group in _groups(rows, "feature", "step", "model").items():
        if not feature or not model:
            continue
        current = paid(group)
        lane = lanes.get((feature, step), {})
        tried = {m for day in lane.values() for m in day} - {model}
        units = (workflows or {}).get(feature) if step else None
        verdicts: dict[str, Verdict] = {
            other: judge(lane, outcomes.get(feature, {}), model, other, until, units)
            for other in sorted(tried)
        }
        target = (ladder or {}).get(model)
        if target and target != model and target not in tried:
            verdicts[target] = Verdict("medium", f"value.rightsizing maps {model} to {target}")
        span = days.get((feature, model), Decimal(0))
        for other, verdict in verdicts.items():
            if verdict.confidence is None:
                continue
            hypothetical, unpriced = cost_on(group, catalog, model=other, provider=None)
            if unpriced:
                continue  # part of the traffic has no price on the target: the saving would not be exact
            saving = current - hypothetical
            if saving <= 0:
                continue
            scope = {"feature": feature, "model": model, **({"step": step} if step else {})}
            rule_scope = {"feature": feature, **({"tag:step": step} if step else {})}
            where = f"{feature} ({step})" if step else feature
            out.append(
                Recommendation(
                    id=recommendation_id("model_rightsizing", scope, other),
                    kind="model_rightsizing",
                    title=f"{where}: route {model} to {other}",
                    scope=scope,
                    monthly_saving=monthly(saving, span),
                    current_monthly_cost=monthly(current, span),
                    confidence=verdict.confidence,
                    change=_rule(
                        f"rightsize-{feature}" + (f"-{step}" if step else ""),
                        rule_scope,
                        [f'deny: ["{model}"]', f'route: {{"{model}": "{other}"}}'],
                    ),
                    evidence={
                        "target_model": other,
                        "requests": sum(int(r.get("requests") or 0) for r in group),
                        "days": span,
                        "cost": current,
                        "cost_on_target": hypothetical,
                        "saving_in_window": saving,
                        "quality_signal": verdict.signal,
                        **verdict.evidence,
                    },
                    window_days=span,
                )
            )
    return out


def retire(
    rows: Sequence[Mapping[str, Any]], zombies: Sequence[Mapping[str, Any]], *, days: Decimal
) -> list[Recommendation]:
    """Stop a zombie initiative's model traffic (``zombies``: ``initiative``, ``features``, ``reason``,
    ``monthly_cost``). The saving is exactly what its features' metered calls cost in the window."""
    out: list[Recommendation] = []
    for zombie in zombies:
        features = sorted(zombie["features"])
        group = [r for r in rows if r.get("feature") in features]
        saving = paid(group)
        if not features or saving <= 0:
            continue
        name = zombie["initiative"]
        scope = {"initiative": name}
        listed = "[" + ", ".join(features) + "]"
        out.append(
            Recommendation(
                id=recommendation_id("zombie_retirement", scope),
                kind="zombie_retirement",
                title=f"initiative {name}: stop it ({zombie['reason']})",
                scope=scope,
                monthly_saving=monthly(saving, days),
                current_monthly_cost=zombie.get("monthly_cost"),
                confidence="medium",
                change=_rule(f"retire-{name}", {"feature": listed}, ['deny: ["*"]']),
                evidence={
                    "why": f"{zombie['reason']}: confirm with its owner, then turn it off",
                    "features": features,
                    "models": sorted({str(r.get("model")) for r in group}),
                    "requests": sum(int(r.get("requests") or 0) for r in group),
                    "days": days,
                    "cost": saving,
                    "saving_in_window": saving,
                    "initiative_monthly_cost": zombie.get("monthly_cost"),
                },
                window_days=days,
            )
        )
    return out


def batch(
    rows: Sequence[Mapping[str, Any]],
    profiles: Mapping[str, Mapping[str, Any]],
    catalog: Any,
    *,
    days: Decimal,
    use_cases: Sequence[str] = (),
) -> list[Recommendation]:
    """Non-interactive on-demand traffic that the provider's batch API would bill at its batch price.

    A feature is non-interactive when its use case is listed in ``value.batch_use_cases``, when it is an
    evaluation, or when its requests run on a schedule (``profiles[feature]["scheduled_share"]``: the share
    of its requests inside its busiest 4-hour slot of the UTC day, at least 0.95 on most days).
    """
    out: list[Recommendation] = []
    for (feature,), group in _groups(rows, "feature").items():
        if not feature:
            continue
        profile = profiles.get(feature, {})
        use_case = profile.get("use_case")
        if use_case in use_cases:
            level, why = "high", f"use case {use_case} is listed in value.batch_use_cases"
        elif profile.get("category") == "evaluation":
            level, why = "high", "evaluation traffic needs no interactive answer"
        elif (profile.get("scheduled_share") or 0.0) >= 0.95:
            share = profile["scheduled_share"]
            level, why = (
                "medium",
                f"{share:.0%} of its requests run in one 4-hour slot of the day (a scheduled job)",
            )
        else:
            continue
        current = paid(group)
        hypothetical, unpriced = cost_on(group, catalog, pricing_mode="batch")
        if unpriced or current <= hypothetical:
            continue
        saving = current - hypothetical
        scope = {"feature": feature}
        models = sorted({str(r.get("model")) for r in group})
        out.append(
            Recommendation(
                id=recommendation_id("batch", scope),
                kind="batch",
                title=f"{feature}: send it through the batch API",
                scope=scope,
                monthly_saving=monthly(saving, days),
                current_monthly_cost=monthly(current, days),
                confidence=level,
                change=(
                    f"# {feature} ({', '.join(models)}): submit its requests as a batch job (OpenAI /v1/batches,\n"
                    "# Anthropic Message Batches, Gemini batch mode): results within 24 hours at the batch price.\n"
                    f"value:\n  batch_use_cases: [{use_case or feature}]\n"
                ),
                evidence={
                    "why": why,
                    "models": models,
                    "requests": sum(int(r.get("requests") or 0) for r in group),
                    "days": days,
                    "cost": current,
                    "cost_at_batch_price": hypothetical,
                    "saving_in_window": saving,
                },
                window_days=days,
            )
        )
    return out


def max_tokens(
    caps: Sequence[Mapping[str, Any]],
    excess: Sequence[Mapping[str, Any]],
    catalog: Any,
    *,
    days: Decimal,
) -> list[Recommendation]:
    """A ``max_tokens`` ceiling at a feature's 99th-percentile output: the tail above it is the saving.

    ``caps``: per (feature, model) ``cap``, ``requests``, ``p50``, ``over`` (requests above the cap).
    ``excess``: token rows holding only the output tokens above the cap, per (feature, model, day).
    Clamping cuts the longest answers short, so confidence is ``low``.
    """
    by_key = _groups(excess, "feature", "model")
    out: list[Recommendation] = []
    for cap in caps:
        key = (cap["feature"], cap["model"])
        rows = by_key.get(key, [])
        saving, unpriced = cost_on(rows, catalog, reasoning_tokens=0)
        if unpriced or saving <= 0:
            continue
        scope = {"feature": cap["feature"], "model": cap["model"]}
        out.append(
            Recommendation(
                id=recommendation_id("max_tokens", scope, str(cap["cap"])),
                kind="max_tokens",
                title=f"{cap['feature']}: cap {cap['model']} output at {cap['cap']:,} tokens",
                scope=scope,
                monthly_saving=monthly(saving, days),
                confidence="low",
                change=_rule(
                    f"max-tokens-{cap['feature']}",
                    {"feature": cap["feature"], "model": cap["model"]},
                    [f"max_tokens: {cap['cap']}"],
                ),
                evidence={
                    "cap": cap["cap"],
                    "p50_output_tokens": cap.get("p50"),
                    "requests": cap["requests"],
                    "requests_over_cap": cap.get("over"),
                    "output_tokens_over_cap": sum(int(r.get("output_tokens") or 0) for r in rows),
                    "days": days,
                    "saving_in_window": saving,
                },
                window_days=days,
            )
        )
    return out
