"""API routes: The KPI engine and showback/chargeback statements (issue 6)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter()
