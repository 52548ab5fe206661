"""Dry-run a policy over past records: what it would have blocked, routed or clamped, and the money involved.

Pure: records in (oldest first), findings out. Each record goes through the checks in the gateway's order
(:meth:`aifinops.gateway.guard.Guard.admit`): model rules (refuse, route to another model re-priced with the
catalog, clamp ``max_tokens``), then agent caps, rate limits and budgets, each seeing the call as the model
rules left it. A refused call spends nothing, so it neither counts toward a budget nor an agent's cost cap,
exactly as in the gateway. Budgets bound each call by its recorded cost (the gateway reserves a worst case
from the request body, which history does not keep, so a live gateway can refuse a little earlier). Rate
limits count calls in fixed minute and day windows (the gateway's token buckets refill continuously).

Every finding carries ``by_owner``: the same figures per owner (the record's ``team`` by default).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import Any

from aifinops.budgets.policy import Policy
from aifinops.core.records import OWNER_FIELDS, UsageRecord

__all__ = ["simulate", "subject_of_record", "per_owner", "from_json", "NO_OWNER"]

_ZERO = Decimal(0)
NO_OWNER = "(unattributed)"


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


def _allowed(spec: Any, model: str) -> bool:
    if spec.deny and any(fnmatchcase(model, p) for p in spec.deny):
        return False
    return not spec.allow or any(fnmatchcase(model, p) for p in spec.allow)


def _reprice(rec: UsageRecord, catalog: Any, **changes: Any) -> Decimal | None:
    """The call's cost after the policy changed it (cache writes bill as input on a target without them)."""
    from aifinops.recommend.tokens import price_moved

    return price_moved(
        dataclasses.replace(rec, cost_status="unpriced", tags=dict(rec.tags), **changes), catalog
    )


class _Owners:
    """Per-rule, per-owner counters (``by_owner`` of each finding)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)

    def add(self, label: str, owner: str, **amounts: Any) -> None:
        slot = self.data[label].setdefault(owner, {})
        for name, amount in amounts.items():
            slot[name] = slot.get(name, 0) + amount

    def of(self, label: str) -> dict[str, dict[str, Any]]:
        return dict(sorted(self.data.get(label, {}).items()))


def _model_rules(rec: UsageRecord, rules: list[Any], catalog: Any, cost: Decimal) -> tuple[Any, ...]:
    """``(refused_by, routed_by, model, cost, clamped_by)`` of one call under the model rules."""
    original = rec.model_requested or rec.model or ""
    model = original
    routed_by = None
    for rule in rules:
        spec = rule.rule
        if _allowed(spec, model):
            continue
        target = next((to for pat, to in spec.route.items() if fnmatchcase(model, pat)), None)
        if target is None or not _allowed(spec, target):
            return rule, None, model, cost, None
        routed_by, model = rule, target
    clamped_by = None
    ceilings = [r for r in rules if r.rule.max_tokens is not None]
    ceiling = min((r.rule.max_tokens for r in ceilings), default=None)
    changes: dict[str, Any] = {}
    if routed_by is not None and model != original:
        changes.update(model=model, provider=None)
    if ceiling is not None and rec.output_tokens > ceiling:
        clamped_by = next(r for r in ceilings if r.rule.max_tokens == ceiling)
        if clamped_by.rule.max_tokens_mode == "reject":
            return clamped_by, None, model, cost, None
        changes.update(output_tokens=ceiling, reasoning_tokens=min(rec.reasoning_tokens, ceiling))
    if changes:
        new = _reprice(rec, catalog, **changes)
        cost = new if new is not None else cost
    return None, routed_by, model, cost, clamped_by


def simulate(
    records: Iterable[UsageRecord], policy: Policy, catalog: Any, *, owner: str = "team"
) -> list[dict[str, Any]]:
    """Findings, one per rule that would have acted (each with ``by_owner``)."""
    owners = _Owners()
    spend: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: _ZERO)
    blocked: dict[str, dict[str, Any]] = {}
    crossed: dict[tuple[str, float], Any] = {}
    model_hits: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"calls": 0, "refused": 0, "routed": 0, "cost": _ZERO, "routed_cost": _ZERO, "clamped": 0,
                 "clamp_saving": _ZERO}
    )  # fmt: skip
    per_minute: Counter[tuple[str, str, str]] = Counter()
    per_day: Counter[tuple[str, str, str]] = Counter()
    over: Counter[tuple[str, str]] = Counter()
    agent_calls: Counter[tuple[str, str]] = Counter()
    agent_cost: dict[tuple[str, str], Decimal] = defaultdict(lambda: _ZERO)
    agent_hits: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"refused_calls": 0, "cost_avoided": _ZERO, "traces": set()}
    )
    for rec in records:
        if rec.charge_category != "usage" or rec.corrects is not None:
            continue
        paid = rec.effective_cost or _ZERO
        subject = subject_of_record(rec)
        value = getattr(rec, owner) if owner in OWNER_FIELDS else rec.tags.get(owner.removeprefix("tag:"))
        who = str(value or NO_OWNER)
        # 1. model rules
        refused_by, routed_by, model, cost, clamped_by = _model_rules(
            rec, policy.applicable(policy.models, subject), catalog, paid
        )
        if refused_by is not None:
            hit = model_hits[refused_by.label]
            hit["calls"] += 1
            hit["refused"] += 1
            hit["cost"] += paid
            owners.add(refused_by.label, who, refused=1, saving=paid)
            continue
        if routed_by is not None:
            hit = model_hits[routed_by.label]
            hit["calls"] += 1
            hit["routed"] += 1
            hit["cost"] += paid
            hit["routed_cost"] += cost
            owners.add(routed_by.label, who, routed=1, saving=paid - cost)
            subject = {**subject, "model": model}
        if clamped_by is not None:
            hit = model_hits[clamped_by.label]
            hit["clamped"] += 1
            if routed_by is None:
                hit["clamp_saving"] += paid - cost
                owners.add(clamped_by.label, who, clamped=1, saving=paid - cost)
            else:
                owners.add(clamped_by.label, who, clamped=1)
        # 2. agent caps (per trace): a refused call adds nothing to the trace's calls or cost
        trace = subject.get("trace_id")
        refused = False
        if trace:
            for rule in policy.applicable(policy.agents, subject):
                cap = rule.rule
                key = (rule.label, trace)
                if (cap.max_calls is not None and agent_calls[key] + 1 > cap.max_calls) or (
                    cap.max_cost is not None and agent_cost[key] + cost > cap.max_cost
                ):
                    hit = agent_hits[rule.label]
                    hit["refused_calls"] += 1
                    hit["cost_avoided"] += cost
                    hit["traces"].add(trace)
                    owners.add(rule.label, who, refused_calls=1, cost_avoided=cost)
                    refused = True
                    break
            if refused:
                continue
            for rule in policy.applicable(policy.agents, subject):
                agent_calls[(rule.label, trace)] += 1
                agent_cost[(rule.label, trace)] += cost
        # 3. rate limits (fixed windows)
        for rule in policy.applicable(policy.rate_limits, subject):
            per = rule.per_value(subject)
            if per is None:
                continue
            spec = rule.rule
            minute = rec.charge_period_start.strftime("%Y%m%d%H%M")
            per_minute[(rule.label, per, minute)] += 1
            per_day[(rule.label, per, minute[:8])] += 1
            limit_m = spec.requests_per_minute * spec.burst if spec.requests_per_minute else None
            if limit_m is not None and per_minute[(rule.label, per, minute)] > limit_m:
                over[(rule.label, "minute")] += 1
                owners.add(rule.label, who, refused_per_minute=1)
            if spec.requests_per_day and per_day[(rule.label, per, minute[:8])] > spec.requests_per_day:
                over[(rule.label, "day")] += 1
                owners.add(rule.label, who, refused_per_day=1)
        # 4. budgets: a hard budget refuses the call that would take the period over its amount
        for budget in policy.applicable(policy.budgets, subject):
            per = budget.per_value(subject)
            if per is None:
                continue
            start, _end = budget.window(rec.charge_period_start)
            key = (budget.label, per, start.isoformat())
            before = spend[key]
            rule = budget.rule
            if rule.hard and before + cost > rule.amount:
                hit = blocked.setdefault(
                    budget.label,
                    {"first_block": rec.charge_period_start, "calls": 0, "cost": _ZERO, "periods": set()},
                )
                hit["calls"] += 1
                hit["cost"] += cost
                hit["periods"].add((per, start.date().isoformat()))
                owners.add(budget.label, who, calls_blocked=1, cost_not_spent=cost)
                refused = True
                break  # the gateway refuses the call at the first budget it would overrun
        if refused:
            continue
        for budget in policy.applicable(policy.budgets, subject):
            per = budget.per_value(subject)
            if per is None:
                continue
            start, _end = budget.window(rec.charge_period_start)
            key = (budget.label, per, start.isoformat())
            before = spend[key]
            spend[key] = before + cost
            for threshold in budget.rule.alert_at:
                mark = budget.rule.amount * Decimal(str(threshold))
                if before < mark <= spend[key] and (budget.label, threshold) not in crossed:
                    crossed[(budget.label, threshold)] = rec.charge_period_start
    return _findings(blocked, crossed, model_hits, policy, over, agent_hits, owners)


def _findings(
    blocked: dict[str, dict[str, Any]],
    crossed: dict[tuple[str, float], Any],
    model_hits: dict[str, dict[str, Any]],
    policy: Policy,
    over: Counter[tuple[str, str]],
    agent_hits: dict[str, dict[str, Any]],
    owners: _Owners,
) -> list[dict[str, Any]]:
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
                by_owner=owners.of(label),
            )
        )
    for (label, threshold), when in sorted(crossed.items(), key=lambda x: x[1]):
        findings.append(_finding("budget_alert", label, threshold=threshold, first_crossed=when))
    for label, hit in model_hits.items():
        if hit["calls"] or hit["clamped"]:
            saving = hit["cost"] - hit["routed_cost"] + hit["clamp_saving"]
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
                    by_owner=owners.of(label),
                )
            )
    for rule in policy.rate_limits:
        minute, day = over[(rule.label, "minute")], over[(rule.label, "day")]
        if minute or day:
            findings.append(
                _finding(
                    "rate_limit",
                    rule.label,
                    refused_per_minute=int(minute),
                    refused_per_day=int(day),
                    by_owner=owners.of(rule.label),
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
                by_owner=owners.of(label),
            )
        )
    return findings


def per_owner(findings: list[dict[str, Any]], owner: str = "owner") -> list[dict[str, Any]]:
    """One row per owner across all findings: calls blocked, routed, refused, and the money not spent."""
    rows: dict[str, dict[str, Any]] = {}
    for finding in findings:
        for who, figures in (finding.get("by_owner") or {}).items():
            row = rows.setdefault(who, {owner: who, "blocked": 0, "routed": 0, "refused": 0, "saved": _ZERO})
            row["blocked"] += figures.get("calls_blocked", 0) + figures.get("refused_per_minute", 0)
            row["blocked"] += figures.get("refused_per_day", 0)
            row["routed"] += figures.get("routed", 0)
            row["refused"] += figures.get("refused", 0) + figures.get("refused_calls", 0)
            for name in ("saving", "cost_not_spent", "cost_avoided"):
                row["saved"] += figures.get(name, _ZERO)
    return sorted(rows.values(), key=lambda r: (-r["saved"], r[owner]))


_MONEY = ("cost_not_spent", "cost_of_denied_calls", "saving", "cost_avoided")
_TIMES = ("first_block", "first_crossed")


def from_json(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings read back from JSON (the API's answer): money as Decimal, times as datetime again."""
    from datetime import datetime

    def money(values: dict[str, Any]) -> dict[str, Any]:
        return {k: Decimal(str(v)) if k in _MONEY and v is not None else v for k, v in values.items()}

    out = []
    for finding in findings:
        row = money(finding)
        for key in _TIMES:
            if isinstance(row.get(key), str):
                row[key] = datetime.fromisoformat(row[key])
        if row.get("by_owner"):
            row["by_owner"] = {who: money(figures) for who, figures in row["by_owner"].items()}
        out.append(row)
    return out
