"""API routes: Allocation rules, shared-cost splits, idle handling and tag coverage (issue 6)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter()
