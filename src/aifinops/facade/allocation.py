"""Facade part: Allocation rules, shared-cost splits, idle handling and tag coverage (issue 6)."""

from __future__ import annotations

__all__ = ["AllocationMixin"]


class AllocationMixin:
    """Allocation rules, shared-cost splits, idle handling and tag coverage (issue 6)."""
