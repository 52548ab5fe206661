"""Facade part: Savings recommendations, the value ledger, zombie projects, maturity (issue 9)."""

from __future__ import annotations

__all__ = ["ValueMixin"]


class ValueMixin:
    """Savings recommendations, the value ledger, zombie projects, maturity (issue 9)."""
