"""Facade part: API keys and roles for the API, dashboard and MCP server (issue 10)."""

from __future__ import annotations

__all__ = ["AccessMixin"]


class AccessMixin:
    """API keys and roles for the API, dashboard and MCP server (issue 10)."""
