"""Dry-run a policy over past records: what it would have blocked, routed or clamped, and the money involved.

Pure: records in (oldest first), findings out. Budgets replay spend in time order per period (and ``per``
value); model rules re-price denied calls at the routed model; rate limits count calls over the per-minute
and per-day limits in fixed windows; agent caps count calls past ``max_calls`` and ``max_cost`` per trace.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import Any

from aifinops.budgets.policy import Policy
from aifinops.core.records import UsageRecord
from aifinops.pricing import price_record

__all__ = ["simulate", "subject_of_record"]

_ZERO = Decimal(0)


def subject_of_record(record: UsageRecord) -> dict[str, str]:
    """The scope subject of a stored record (the same keys the gateway matches live)."""
    subject = {
        k: getattr(record, k)
        for k in ("team", "project", "product", "feature", "customer", "environment", "use_case", "user")
    }
    subject = {k: v for k, v in subject.items() if v}
    subject.update({f"tag:{k}": v for k, v in record.tags.items()})
    if record.api_key:
        subject["key"] = record.api_key
    if record.model:
        subject["model"] = record.model_requested or record.model
    if record.provider:
        subject["provider"] = record.provider
    if record.trace_id:
        subject["trace_id"] = record.trace_id
    return subject


def _finding(kind: str, rule: str, **values: Any) -> dict[str, Any]:
    return {"kind": kind, "rule": rule, **values}


def simulate(records: Iterable[UsageRecord], policy: Policy, catalog: Any) -> list[dict[str, Any]]:
    """Findings, one per rule that would have acted."""
    spend: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: _ZERO)
    blocked: dict[str, dict[str, Any]] = {}
    crossed: dict[tuple[str, float], Any] = {}
    model_hits: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"calls": 0, "refused": 0, "routed": 0, "cost": _ZERO, "routed_cost": _ZERO, "clamped": 0}
    )
    per_minute: Counter[tuple[str, str, str]] = Counter()
    per_day: Counter[tuple[str, str, str]] = Counter()
    agent_calls: Counter[tuple[str, str]] = Counter()
    agent_cost: dict[tuple[str, str], Decimal] = defaultdict(lambda: _ZERO)
    agent_hits: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"refused_calls": 0, "cost_avoided": _ZERO, "traces": set()}
    )
    for rec in records:
        if rec.charge_category != "usage" or rec.corrects is not None:
            continue
        cost = rec.effective_cost or _ZERO
        subject = subject_of_record(rec)
        for budget in policy.applicable(policy.budgets, subject):
            per = budget.per_value(subject)
            if per is None:
                continue
            start, end = budget.window(rec.charge_period_start)
            key = (budget.label, per, start.isoformat())
            before = spend[key]
            spend[key] = before + cost
            rule = budget.rule
            for threshold in rule.alert_at:
                mark = rule.amount * Decimal(str(threshold))
                if before < mark <= spend[key] and (budget.label, threshold) not in crossed:
                    crossed[(budget.label, threshold)] = rec.charge_period_start
            if rule.hard and spend[key] > rule.amount:
                hit = blocked.setdefault(
                    budget.label,
                    {"first_block": rec.charge_period_start, "calls": 0, "cost": _ZERO, "periods": set()},
                )
                hit["calls"] += 1
                hit["cost"] += cost
                hit["periods"].add((per, start.date().isoformat()))
        for rule in policy.applicable(policy.models, subject):
            spec = rule.rule
            model = subject.get("model", "")
            denied = (spec.deny and any(fnmatchcase(model, p) for p in spec.deny)) or (
                spec.allow and not any(fnmatchcase(model, p) for p in spec.allow)
            )
            hit = model_hits[rule.label]
            if denied:
                hit["calls"] += 1
                hit["cost"] += cost
                target = next((to for pat, to in spec.route.items() if fnmatchcase(model, pat)), None)
                if target is None:
                    hit["refused"] += 1
                else:
                    hit["routed"] += 1
                    twin = dataclasses.replace(
                        rec, model=target, provider=None, cost_status="unpriced", tags=dict(rec.tags)
                    )
                    price_record(twin, catalog)
                    hit["routed_cost"] += twin.effective_cost or cost
            if spec.max_tokens is not None and rec.output_tokens > spec.max_tokens:
                hit["clamped"] += 1
        for rule in policy.applicable(policy.rate_limits, subject):
            per = rule.per_value(subject)
            if per is None:
                continue
            minute = rec.charge_period_start.strftime("%Y%m%d%H%M")
            day = minute[:8]
            per_minute[(rule.label, per, minute)] += 1
            per_day[(rule.label, per, day)] += 1
        trace = subject.get("trace_id")
        if trace:
            for rule in policy.applicable(policy.agents, subject):
                cap = rule.rule
                agent_calls[(rule.label, trace)] += 1
                agent_cost[(rule.label, trace)] += cost
                over_calls = cap.max_calls is not None and agent_calls[(rule.label, trace)] > cap.max_calls
                over_cost = cap.max_cost is not None and agent_cost[(rule.label, trace)] > cap.max_cost
                if over_calls or over_cost:
                    hit = agent_hits[rule.label]
                    hit["refused_calls"] += 1
                    hit["cost_avoided"] += cost
                    hit["traces"].add(trace)
    findings = []
    for label, hit in blocked.items():
        findings.append(
            _finding(
                "budget",
                label,
                first_block=hit["first_block"],
                calls_blocked=hit["calls"],
                cost_not_spent=hit["cost"],
                periods=len(hit["periods"]),
            )
        )
    for (label, threshold), when in sorted(crossed.items(), key=lambda x: x[1]):
        findings.append(_finding("budget_alert", label, threshold=threshold, first_crossed=when))
    for label, hit in model_hits.items():
        if hit["calls"] or hit["clamped"]:
            saving = hit["cost"] - hit["routed_cost"] if hit["routed"] else hit["cost"]
            findings.append(
                _finding(
                    "model_policy",
                    label,
                    calls_denied=hit["calls"],
                    refused=hit["refused"],
                    routed=hit["routed"],
                    over_max_tokens=hit["clamped"],
                    cost_of_denied_calls=hit["cost"],
                    saving=saving,
                )
            )
    for rule in policy.rate_limits:
        spec = rule.rule
        over_minute = sum(
            n - spec.requests_per_minute * spec.burst
            for (lb, _, _), n in per_minute.items()
            if lb == rule.label and spec.requests_per_minute and n > spec.requests_per_minute * spec.burst
        )
        over_day = sum(
            n - spec.requests_per_day
            for (lb, _, _), n in per_day.items()
            if lb == rule.label and spec.requests_per_day and n > spec.requests_per_day
        )
        if over_minute or over_day:
            findings.append(
                _finding(
                    "rate_limit",
                    rule.label,
                    refused_per_minute=int(over_minute),
                    refused_per_day=int(over_day),
                )
            )
    for label, hit in agent_hits.items():
        findings.append(
            _finding(
                "agent_cap",
                label,
                refused_calls=hit["refused_calls"],
                workflows=len(hit["traces"]),
                cost_avoided=hit["cost_avoided"],
            )
        )
    return findings
