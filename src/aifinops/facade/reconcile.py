"""Facade part: Metered vs provider-reported cost reconciliation (issue 6)."""

from __future__ import annotations

__all__ = ["ReconcileMixin"]


class ReconcileMixin:
    """Metered vs provider-reported cost reconciliation (issue 6)."""
