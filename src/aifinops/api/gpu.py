"""API routes: GPU telemetry, GPU cost, idle waste, self-hosted cost per token, training runs (issue 7)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter()
