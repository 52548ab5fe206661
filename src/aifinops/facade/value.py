"""Facade part: Savings recommendations, the value ledger, zombie projects, maturity (issue 9)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

__all__ = ["ValueMixin"]


class ValueMixin:
    """Savings recommendations, the value ledger, zombie projects, maturity (issue 9)."""

    def value_summary(
        self,
        *,
        by: Sequence[str] = ("feature",),
        since: datetime | None = None,
        until: datetime | None = None,
        where: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Per group: ``cost``, ``value`` (Decimal), ``outcomes`` (int), ``roi`` (float or None),
        ``cost_per_outcome`` (Decimal or None), ``value_per_dollar``. Not implemented yet."""
        raise NotImplementedError("the value ledger is not available yet")
