"""Facade part: Allocation rules, shared-cost splits, idle handling and tag coverage (issue 6)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

__all__ = ["AllocationMixin"]


class AllocationMixin:
    """Allocation rules, shared-cost splits, idle handling and tag coverage (issue 6)."""

    def allocated_costs(
        self,
        *,
        by: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        where: dict[str, Any] | None = None,
        grain: str | None = None,
    ) -> list[dict[str, Any]]:
        """Spend after allocation rules: same rows as ``report_costs`` (placeholder: no rules applied yet)."""
        return self.report_costs(by=by, since=since, until=until, where=where, grain=grain)  # type: ignore[attr-defined]
