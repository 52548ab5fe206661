"""Facade part: GPU telemetry, GPU cost, idle waste, self-hosted cost per token, training runs (issue 7)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

__all__ = ["GpuMixin"]


class GpuMixin:
    """GPU telemetry, GPU cost, idle waste, self-hosted cost per token, training runs (issue 7)."""

    def gpu_utilization(
        self,
        *,
        by: Sequence[str] = ("team",),
        since: datetime | None = None,
        until: datetime | None = None,
        where: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Per group: ``provisioned_gpu_hours``, ``busy_gpu_hours``, ``idle_gpu_hours``, ``utilization``
        (0-1 float), ``gpu_cost`` and ``idle_cost`` (Decimal). Not implemented yet."""
        raise NotImplementedError("GPU utilization is not available yet")
