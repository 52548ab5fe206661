"""Facade part: Anomaly detection, forecasts and alerts (issue 8)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = ["AnomalyMixin"]


class AnomalyMixin:
    """Anomaly detection, forecasts and alerts (issue 8)."""

    def anomaly_kpis(self, *, since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
        """``detection_rate`` (0-1 float or None), ``mttd_minutes`` (float or None) and the counts behind them.
        Not implemented yet."""
        raise NotImplementedError("anomaly detection is not available yet")
