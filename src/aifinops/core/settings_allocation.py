"""Config models for ``aifinops.yaml``: AllocationSettings."""

from __future__ import annotations

from aifinops.core.section import Section

__all__ = ["AllocationSettings"]


class AllocationSettings(Section):
    """The ``allocation`` section of aifinops.yaml."""
