"""Config models for ``aifinops.yaml``: GpuSettings, TrainingSettings."""

from __future__ import annotations

from aifinops.core.section import Section

__all__ = ["GpuSettings", "TrainingSettings"]


class GpuSettings(Section):
    """The ``gpu`` section of aifinops.yaml."""


class TrainingSettings(Section):
    """The ``training`` section of aifinops.yaml."""
