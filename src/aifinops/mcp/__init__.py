"""The MCP server: ``aifinops mcp`` over stdio or streamable HTTP, and ``/mcp/`` inside ``aifinops serve``.

The SDK is imported on first use, so starting the API server does not pay for it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_server", "http_app", "run_mcp", "stdio_server", "McpMount"]


def __getattr__(name: str) -> Any:
    if name == "build_server":
        from aifinops.mcp.server import build_server

        return build_server
    if name in ("http_app", "run_mcp", "stdio_server", "McpMount"):
        from aifinops.mcp import http

        return getattr(http, name)
    raise AttributeError(name)
