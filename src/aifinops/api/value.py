"""API routes: Savings recommendations, the value ledger, zombie projects, maturity (issue 9)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter()
