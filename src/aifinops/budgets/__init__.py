"""Guardrail policy, pure: scopes, periods, compiled rules and worst-case cost estimates (no I/O)."""

from aifinops.budgets.periods import period_window
from aifinops.budgets.policy import CompiledBudget, CompiledRule, Policy, compile_policy
from aifinops.budgets.scope import Scope, compile_scope, subject_value

__all__ = [
    "CompiledBudget",
    "CompiledRule",
    "Policy",
    "Scope",
    "compile_policy",
    "compile_scope",
    "period_window",
    "subject_value",
]
