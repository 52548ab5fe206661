"""Config models for ``aifinops.yaml``: AlertSettings, AnomalySettings."""

from __future__ import annotations

from aifinops.core.section import Section

__all__ = ["AlertSettings", "AnomalySettings"]


class AlertSettings(Section):
    """The ``alert`` section of aifinops.yaml."""


class AnomalySettings(Section):
    """The ``anomaly`` section of aifinops.yaml."""
