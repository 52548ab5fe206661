"""API routes: Anomaly detection, forecasts and alerts (issue 8)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter()
