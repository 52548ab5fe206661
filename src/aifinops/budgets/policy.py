"""The guardrail policy compiled from settings: each rule with a fast scope predicate and a label."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aifinops.budgets.periods import period_window
from aifinops.budgets.scope import Scope, compile_scope
from aifinops.core.policy import AgentCap, BudgetRule, GuardrailSettings, ModelRule, RateLimitRule

__all__ = ["CompiledRule", "CompiledBudget", "Policy", "compile_policy"]


@dataclass(frozen=True)
class CompiledRule:
    """A rule, its scope predicate, and how it is named in errors and the audit log."""

    rule: Any
    matches: Scope
    label: str

    def per_value(self, subject: Mapping[str, str]) -> str | None:
        """The value this request is counted under (``""`` when the rule has no ``per``), or None: not applicable."""
        per = getattr(self.rule, "per", None)
        if per is None:
            return ""
        return subject.get(per)

    def key(self, subject: Mapping[str, str]) -> str | None:
        """A stable counter key for this rule and the request's ``per`` value."""
        value = self.per_value(subject)
        if value is None:
            return None
        digest = hashlib.blake2b(f"{self.label}\0{value}".encode(), digest_size=8).hexdigest()
        return f"{self.label}:{digest}"


@dataclass(frozen=True)
class CompiledBudget(CompiledRule):
    """A budget rule with its period arithmetic."""

    def window(self, at: datetime) -> tuple[datetime, datetime]:
        rule: BudgetRule = self.rule
        return period_window(rule.period, at, rule.start, rule.end)

    def period_key(self, subject: Mapping[str, str], at: datetime) -> str | None:
        """The counter key of this budget for the request's ``per`` value and the period containing ``at``."""
        base = self.key(subject)
        if base is None:
            return None
        start, _ = self.window(at)
        return f"budget:{base}:{start:%Y%m%dT%H}"


@dataclass(frozen=True)
class Policy:
    """All guardrail rules, compiled."""

    budgets: tuple[CompiledBudget, ...] = ()
    rate_limits: tuple[CompiledRule, ...] = ()
    models: tuple[CompiledRule, ...] = ()
    agents: tuple[CompiledRule, ...] = ()
    settings: GuardrailSettings = field(default_factory=GuardrailSettings)

    @property
    def empty(self) -> bool:
        """No rule at all: the gateway skips the guardrails entirely."""
        return not (self.budgets or self.rate_limits or self.models or self.agents)

    @staticmethod
    def applicable(rules: tuple[Any, ...], subject: Mapping[str, str]) -> list[Any]:
        """The rules whose scope matches."""
        return [r for r in rules if r.matches(subject)]


def compile_policy(
    budgets: list[BudgetRule],
    rate_limits: list[RateLimitRule],
    models: list[ModelRule],
    agents: list[AgentCap],
    settings: GuardrailSettings | None = None,
) -> Policy:
    """Compile the policy sections of the settings."""
    return Policy(
        budgets=tuple(CompiledBudget(b, compile_scope(b.scope), b.name) for b in budgets),
        rate_limits=tuple(
            CompiledRule(r, compile_scope(r.scope), r.name or f"rate_limits[{i}]")
            for i, r in enumerate(rate_limits)
        ),
        models=tuple(
            CompiledRule(m, compile_scope(m.scope), m.name or f"models[{i}]") for i, m in enumerate(models)
        ),
        agents=tuple(
            CompiledRule(a, compile_scope(a.scope), a.name or f"agents[{i}]") for i, a in enumerate(agents)
        ),
        settings=settings or GuardrailSettings(),
    )
