"""Budget spend to date from the ledger (what a budget had spent before this process started)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import Any

from aifinops.budgets.policy import CompiledBudget

__all__ = ["budget_filters", "ledger_spent_loader"]

_COLUMNS = {"key": "api_key"}


def budget_filters(rule: Any, subject: dict[str, str] | None = None) -> dict[str, Any]:
    """Ledger filters equivalent to a rule's scope (and its ``per`` value for one subject)."""
    where: dict[str, Any] = {_COLUMNS.get(k, k): v for k, v in rule.scope.items()}
    per = getattr(rule, "per", None)
    if per is not None and subject is not None and subject.get(per) is not None:
        where[_COLUMNS.get(per, per)] = subject[per]
    return where


def ledger_spent_loader(app: Any) -> Any:
    """An async loader of period-to-date spend through the facade (authoritative sources only)."""

    async def load(
        budget: CompiledBudget, subject: dict[str, str], start: datetime, end: datetime
    ) -> Decimal:
        where = budget_filters(budget.rule, subject)
        rows = await asyncio.to_thread(app.report_costs, where=where, since=start, until=end)
        return (rows[0]["cost"] if rows else None) or Decimal(0)

    return load
