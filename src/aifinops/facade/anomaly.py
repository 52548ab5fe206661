"""Facade part: Anomaly detection, forecasts and alerts (issue 8)."""

from __future__ import annotations

__all__ = ["AnomalyMixin"]


class AnomalyMixin:
    """Anomaly detection, forecasts and alerts (issue 8)."""
