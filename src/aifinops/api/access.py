"""API routes: API keys and roles for the API, dashboard and MCP server (issue 10)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter()
