"""API routes: Metered vs provider-reported cost reconciliation (issue 6)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter()
