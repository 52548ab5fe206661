"""Config models for ``aifinops.yaml``: AccessSettings."""

from __future__ import annotations

from aifinops.core.section import Section

__all__ = ["AccessSettings"]


class AccessSettings(Section):
    """The ``access`` section of aifinops.yaml."""
