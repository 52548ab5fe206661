"""Facade part: The KPI engine and showback/chargeback statements (issue 6)."""

from __future__ import annotations

__all__ = ["KpiMixin"]


class KpiMixin:
    """The KPI engine and showback/chargeback statements (issue 6)."""
