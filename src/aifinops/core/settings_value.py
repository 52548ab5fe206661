"""Config models for ``aifinops.yaml``: ValueSettings."""

from __future__ import annotations

from aifinops.core.section import Section

__all__ = ["ValueSettings"]


class ValueSettings(Section):
    """The ``value`` section of aifinops.yaml."""
