"""REST API (`/api/v1`), health endpoints and the dashboard, served by one ASGI app."""

from aifinops.api.server import create_server

__all__ = ["create_server"]
