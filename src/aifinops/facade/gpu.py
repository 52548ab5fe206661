"""Facade part: GPU telemetry, GPU cost, idle waste, self-hosted cost per token, training runs (issue 7)."""

from __future__ import annotations

__all__ = ["GpuMixin"]


class GpuMixin:
    """GPU telemetry, GPU cost, idle waste, self-hosted cost per token, training runs (issue 7)."""
