"""Guardrails before spend happens: model policy, agent caps, rate limits and budgets (DESIGN §5).

``admit`` runs before a request is forwarded and either refuses it (in the client's protocol) or returns a
``Ticket``; after the call, ``settle`` turns the ticket's reservation into the actual cost, and ``release``
frees it on every error, cancel and disconnect. Reservations also expire, as a safety net for a process
that dies holding them.

Each request costs one counters call before it is forwarded (:meth:`Counters.admit`: every token bucket,
per-day and agent counter and budget claim, all or nothing) and at most one after (:meth:`Counters.finish`:
settlement, token true-ups and soft spends, whose returned spent values drive the threshold alerts). Only
an agent call naming a parent span reads the parent's depth first, and a budget's first request in a
process loads its period-to-date spend.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from aifinops.budgets.estimate import input_token_bound, output_token_limit, worst_case_cost
from aifinops.budgets.policy import CompiledBudget, CompiledRule, Policy
from aifinops.core.money import format_money
from aifinops.gateway.audit import AuditLog
from aifinops.gateway.counters.base import (
    Admission,
    Bucket,
    Claim,
    Counters,
    Limited,
    MapWrite,
    Refusal,
    from_nano,
    to_nano,
)
from aifinops.gateway.model_policy import apply_model_rules

__all__ = ["Guard", "Ticket", "Refused", "subject_of"]

SpentLoader = Callable[[CompiledBudget, dict[str, str], datetime, datetime], Awaitable[Decimal]]


@dataclass(slots=True)
class Refused:
    """A refusal: HTTP status, the message, the rule that refused, extra headers."""

    status: int
    kind: str
    rule: str
    message: str
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    state: dict[str, Any] | None = None  # for budgets: limit, spent, reserved and this request's worst case


@dataclass(slots=True)
class Ticket:
    """What an admitted request holds until it settles."""

    id: str
    subject: dict[str, str]
    worst: int = 0
    reserved: bool = False
    hard: list[tuple[CompiledBudget, str]] = field(default_factory=list)
    soft: list[tuple[CompiledBudget, str]] = field(default_factory=list)
    buckets: list[Bucket] = field(default_factory=list)  # taken at admission; ":tpm" ones are trued up
    day_counts: list[tuple[str, int, bool]] = field(default_factory=list)  # (key, amount, counts tokens)
    estimated_tokens: int = 0
    done: bool = False


@dataclass(slots=True)
class _Checks:
    """What one admission asks of the counters, and how each possible refusal is worded."""

    claims: list[Claim] = field(default_factory=list)
    buckets: list[Bucket] = field(default_factory=list)
    bucket_refusals: list[Callable[[float], Refused]] = field(default_factory=list)
    limited: list[Limited] = field(default_factory=list)
    limited_refusals: list[Callable[[int], Refused]] = field(default_factory=list)
    fields: list[MapWrite] = field(default_factory=list)
    day_counts: list[tuple[str, int, bool]] = field(default_factory=list)

    def refused(self, admission: Admission) -> Refused | None:
        """The refusal of a bucket or counter (claims are worded by the guard), or None."""
        if admission.bucket is not None:
            return self.bucket_refusals[admission.bucket](admission.wait)
        if admission.limited is not None:
            return self.limited_refusals[admission.limited](admission.count)
        return None


def subject_of(
    fields: dict[str, str], tags: dict[str, str], key_name: str | None, model: str, provider: str | None
) -> dict[str, str]:
    """The flat attribution dict scopes match against."""
    subject = {k: v for k, v in fields.items() if v}
    subject.update({f"tag:{k}": v for k, v in tags.items()})
    if key_name:
        subject["key"] = key_name
    subject["model"] = model
    if provider:
        subject["provider"] = provider
    return subject


class Guard:
    """Evaluates the policy against live counters."""

    def __init__(
        self,
        policy: Policy,
        counters: Counters,
        catalog: Any,
        audit: AuditLog,
        spent_loader: SpentLoader | None,
    ) -> None:
        self.policy = policy
        self.counters = counters
        self.catalog = catalog
        self.audit = audit
        self.spent_loader = spent_loader
        self._initialized: set[str] = set()
        self.refusals = 0

    # -- admission ------------------------------------------------------------------------------
    async def admit(
        self,
        request_id: str,
        subject: dict[str, str],
        body: dict[str, Any],
        raw: bytes,
        route: str,
        upstream_type: str,
    ) -> tuple[Ticket | None, Refused | None, dict[str, Any] | None]:
        """``(ticket, refusal, new_body)``: the body is returned when the policy changed it (model, max tokens)."""
        policy = self.policy
        notes: dict[str, Any] = {}
        new_body = None
        rules = policy.applicable(policy.models, subject)
        if rules:
            outcome = apply_model_rules(rules, body, route, upstream_type, notes)
            if isinstance(outcome, Refused):
                return None, self._refuse(request_id, subject, outcome), None
            if outcome is not None:
                new_body = outcome
                subject = {**subject, "model": new_body["model"]}
        effective = new_body or body
        ticket = Ticket(id=request_id, subject=subject)
        input_bound = input_token_bound(raw, effective)
        output_limit = output_token_limit(effective) or policy.settings.default_max_output_tokens
        ticket.estimated_tokens = input_bound + output_limit
        checks = _Checks()
        refusal = await self._agents(request_id, subject, raw, checks)
        if refusal is None:
            self._rate_limits(subject, ticket, checks)
            refusal = await self._budgets(subject, effective, input_bound, output_limit, checks, ticket)
        if refusal is None and (checks.claims or checks.buckets or checks.limited or checks.fields):
            admission = await self.counters.admit(
                ticket.id,
                checks.claims,
                checks.buckets,
                checks.limited,
                policy.settings.reservation_ttl_seconds,
                fields=checks.fields,
            )
            if admission.refusal is not None:
                refusal = self._reservation_refusal(admission.refusal, ticket)
            else:
                refusal = checks.refused(admission)
            if refusal is None:
                ticket.reserved = bool(checks.claims)
                ticket.buckets = checks.buckets
                ticket.day_counts = checks.day_counts
        elif refusal is not None:
            for write in checks.fields:  # a refused span's depth is still known to its children
                await self.counters.set_field(write.key, write.field, write.value, write.ttl)
        if refusal is not None:
            return None, self._refuse(request_id, subject, refusal), None
        if notes or checks.claims or ticket.buckets or ticket.soft:
            self.audit.write(
                {
                    "decision": "allow",
                    "request_id": request_id,
                    "subject": subject,
                    "notes": notes,
                    "reserved": str(from_nano(ticket.worst)) if ticket.reserved else None,
                }
            )
        return ticket, None, new_body

    def _refuse(self, request_id: str, subject: dict[str, str], refusal: Refused) -> Refused:
        self.refusals += 1
        self.audit.write(
            {
                "decision": "refuse",
                "kind": refusal.kind,
                "rule": refusal.rule,
                "request_id": request_id,
                "subject": subject,
                "message": refusal.message,
                "state": refusal.state,
            }
        )
        return refusal

    async def _agents(
        self, request_id: str, subject: dict[str, str], raw: bytes, checks: _Checks
    ) -> Refused | None:
        rules: list[CompiledRule] = self.policy.applicable(self.policy.agents, subject)
        trace = subject.get("trace_id")
        if not rules or not trace:
            return None
        ttl = self.policy.settings.agent_ttl_seconds
        span = subject.get("span_id") or request_id[:16]
        parent = subject.get("parent_span_id")
        depth_key = f"agent:{trace}:depth"
        depth = 1
        if parent:
            known = await self.counters.get_field(depth_key, parent)
            depth = (int(known) if known else 1) + 1
        checks.fields.append(MapWrite(depth_key, span, str(depth), ttl))
        digest = hashlib.blake2b(raw, digest_size=12).hexdigest()
        for rule in rules:
            cap = rule.rule
            if cap.max_depth is not None and depth > cap.max_depth:
                return Refused(
                    403,
                    "agent_depth",
                    rule.label,
                    f"agent cap {rule.label!r}: workflow {trace} is {depth} calls deep; max_depth is {cap.max_depth}",
                )
        for rule in rules:
            cap = rule.rule
            base = f"agent:{rule.label}:{trace}"
            if cap.max_retries is not None:
                checks.limited.append(Limited(f"{base}:same:{digest}", 1, cap.max_retries + 1, ttl))
                checks.limited_refusals.append(partial(_retries_refusal, rule.label, trace, cap.max_retries))
            if cap.max_calls is not None:
                checks.limited.append(Limited(f"{base}:calls", 1, cap.max_calls, ttl))
                checks.limited_refusals.append(partial(_calls_refusal, rule.label, trace, cap.max_calls))
            if cap.max_cost is not None:
                checks.claims.append(Claim(f"{base}:cost", to_nano(cap.max_cost), 0))
        return None

    def _rate_limits(self, subject: dict[str, str], ticket: Ticket, checks: _Checks) -> None:
        day: str | None = None
        for rule in self.policy.applicable(self.policy.rate_limits, subject):
            key = rule.key(subject)
            if key is None:
                continue
            limit = rule.rule
            for suffix, per_minute, amount, what in (
                ("rpm", limit.requests_per_minute, 1.0, "requests per minute"),
                ("tpm", limit.tokens_per_minute, float(ticket.estimated_tokens), "tokens per minute"),
            ):
                if not per_minute:
                    continue
                capacity = per_minute * limit.burst
                checks.buckets.append(Bucket(f"rl:{key}:{suffix}", capacity, per_minute / 60.0, amount))
                checks.bucket_refusals.append(
                    partial(_rate_refusal, rule.label, per_minute, capacity, amount, what)
                )
            for field_name, amount, what in (
                ("requests_per_day", 1, "requests"),
                ("tokens_per_day", ticket.estimated_tokens, "tokens"),
            ):
                cap = getattr(limit, field_name)
                if not cap:
                    continue
                day = day or datetime.now(UTC).strftime("%Y%m%d")
                counter = f"rl:{key}:{field_name}:{day}"
                checks.limited.append(Limited(counter, amount, cap, 90_000))
                checks.limited_refusals.append(partial(_per_day_refusal, rule.label, cap, what))
                checks.day_counts.append((counter, amount, what == "tokens"))

    async def _budgets(
        self,
        subject: dict[str, str],
        body: dict[str, Any],
        input_bound: int,
        output_limit: int,
        checks: _Checks,
        ticket: Ticket,
    ) -> Refused | None:
        claims = checks.claims
        budgets: list[CompiledBudget] = self.policy.applicable(self.policy.budgets, subject)
        if not budgets and not claims:
            return None
        now = datetime.now(UTC)
        mode = {"flex": "flex", "priority": "priority"}.get(str(body.get("service_tier")), "on_demand")
        entry = self.catalog.resolve(subject["model"], subject.get("provider"))
        worst = worst_case_cost(entry, mode, input_bound, output_limit)
        hard = [b for b in budgets if b.rule.hard]
        if worst is None and (hard or claims):
            rule = hard[0].label if hard else "agents"
            return Refused(
                403,
                "unpriced_model",
                rule,
                f"model {subject['model']!r} has no price, so hard budget {rule!r} cannot bound its cost; "
                "add its price under prices: in aifinops.yaml",
            )
        ticket.worst = to_nano(worst or Decimal(0), up=True)
        for i, claim in enumerate(claims):  # agent cost caps reserve the same worst case
            claims[i] = Claim(claim.key, claim.limit, ticket.worst)
        for budget in budgets:
            key = budget.period_key(subject, now)
            if key is None:
                continue
            await self._init_spent(budget, key, subject, now)
            if budget.rule.hard:
                claims.append(Claim(key, to_nano(budget.rule.amount), ticket.worst))
                ticket.hard.append((budget, key))
            else:
                ticket.soft.append((budget, key))
        return None

    async def _init_spent(
        self, budget: CompiledBudget, key: str, subject: dict[str, str], now: datetime
    ) -> None:
        if key in self._initialized:
            return
        start, end = budget.window(now)
        spent = Decimal(0)
        if self.spent_loader is not None:
            spent = await self.spent_loader(budget, subject, start, end)
        ttl = max((end - now).total_seconds(), 0) + 86_400
        await self.counters.ensure_spent(key, to_nano(spent), ttl)
        self._initialized.add(key)

    def _reservation_refusal(self, refused: Refusal, ticket: Ticket) -> Refused:
        for budget, key in ticket.hard:
            if key == refused.key:
                rule = budget.rule
                _, end = budget.window(datetime.now(UTC))
                reset = end.isoformat().replace("+00:00", "Z")
                retry = max(1, int((end - datetime.now(UTC)).total_seconds()))
                return Refused(
                    429,
                    "budget",
                    rule.name,
                    f"budget {rule.name!r} ({format_money(rule.amount)} per {rule.period}) cannot cover this request: "
                    f"{format_money(from_nano(refused.spent))} spent, {format_money(from_nano(refused.reserved))} reserved, "
                    f"this request may cost up to {format_money(from_nano(refused.amount))}; it resets at {reset}",
                    [(b"retry-after", str(retry).encode()), (b"x-aifinops-budget", rule.name.encode())],
                    {
                        "limit": refused.limit,
                        "spent": refused.spent,
                        "reserved": refused.reserved,
                        "worst": refused.amount,
                    },
                )
        label = refused.key.split(":")[1] if refused.key.startswith("agent:") else refused.key
        return Refused(
            403,
            "agent_cost",
            label,
            f"agent cap {label!r}: this workflow has spent {format_money(from_nano(refused.spent))} of "
            f"{format_money(from_nano(refused.limit))} (max_cost), and this call may cost up to "
            f"{format_money(from_nano(refused.amount))}",
        )

    # -- after the call -------------------------------------------------------------------------
    async def settle(self, ticket: Ticket, cost: Decimal | None, tokens: int) -> None:
        """The call finished: spend its actual cost (the worst case when unknown) and true up token counts."""
        if ticket.done:
            return
        ticket.done = True
        actual = to_nano(cost) if cost is not None else ticket.worst
        charges = [
            Bucket(b.key, b.capacity, b.refill_per_second, tokens - b.amount)
            for b in ticket.buckets
            if b.key.endswith(":tpm") and tokens != b.amount
        ]
        decrements = [
            (key, amount - tokens)
            for key, amount, is_tokens in ticket.day_counts
            if is_tokens and amount > tokens
        ]
        soft = [(key, actual) for _budget, key in ticket.soft]
        if not (ticket.reserved or charges or decrements or soft):
            return
        spent = await self.counters.finish(
            ticket.id if ticket.reserved else None, actual, charges, decrements, soft
        )
        for budget, key in [*ticket.hard, *ticket.soft]:
            self._alerts(budget, spent.get(key), actual)

    async def release(self, ticket: Ticket) -> None:
        """The call did not happen or failed before costing anything: free everything it held."""
        if ticket.done:
            return
        ticket.done = True
        refunds = [Bucket(b.key, b.capacity, b.refill_per_second, -b.amount) for b in ticket.buckets]
        undo = [(key, amount) for key, amount, _ in ticket.day_counts]
        if ticket.reserved or refunds or undo:
            await self.counters.finish(ticket.id if ticket.reserved else None, 0, refunds, undo, ())

    def _alerts(self, budget: CompiledBudget, spent: int | None, actual: int) -> None:
        if not budget.rule.alert_at or actual <= 0 or spent is None:
            return
        limit = to_nano(budget.rule.amount)
        before = spent - actual
        for threshold in budget.rule.alert_at:
            mark = int(limit * threshold)
            if before < mark <= spent:
                self.audit.write(
                    {
                        "decision": "alert",
                        "kind": "budget_threshold",
                        "rule": budget.rule.name,
                        "threshold": threshold,
                        "spent": str(from_nano(spent)),
                        "amount": str(budget.rule.amount),
                        "hard": budget.rule.hard,
                    }
                )


def _rate_refusal(
    label: str, per_minute: int, capacity: float, amount: float, what: str, wait: float
) -> Refused:
    if math.isinf(wait):
        return Refused(
            429,
            "rate_limit",
            label,
            f"rate limit {label!r}: this request may use {amount:,.0f} tokens, more than the "
            f"{capacity:,.0f} {what} the limit allows at once; lower max_tokens",
        )
    retry = max(1, math.ceil(wait))
    return Refused(
        429,
        "rate_limit",
        label,
        f"rate limit {label!r}: {per_minute:,} {what} exceeded; retry in {retry} s",
        [(b"retry-after", str(retry).encode())],
    )


def _per_day_refusal(label: str, cap: int, what: str, _count: int) -> Refused:
    return Refused(
        429,
        "rate_limit",
        label,
        f"rate limit {label!r}: {cap:,} {what} per day exceeded; resets at 00:00 UTC",
        [(b"retry-after", str(_seconds_to_midnight()).encode())],
    )


def _retries_refusal(label: str, trace: str, max_retries: int, n: int) -> Refused:
    return Refused(
        403,
        "agent_retries",
        label,
        f"agent cap {label!r}: this identical request was already sent {n} times in workflow "
        f"{trace}; max_retries is {max_retries}",
    )


def _calls_refusal(label: str, trace: str, max_calls: int, n: int) -> Refused:
    return Refused(
        403,
        "agent_calls",
        label,
        f"agent cap {label!r}: workflow {trace} already made {n} calls; max_calls is {max_calls}",
    )


def _seconds_to_midnight() -> int:
    now = datetime.now(UTC)
    return max(1, 86_400 - (now.hour * 3600 + now.minute * 60 + now.second))


def new_ticket_id() -> str:
    """A random reservation id."""
    return os.urandom(12).hex()
