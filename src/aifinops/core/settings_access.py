"""Config models for ``aifinops.yaml``: AccessSettings."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from aifinops.core.section import Section

__all__ = ["AccessSettings"]


class AccessSettings(Section):
    """The ``access`` section of aifinops.yaml: when the API, dashboard and MCP server need an API key.

    ``require_key``:

    - ``auto`` (default): keyless local mode only when listening on loopback and no API key exists yet;
    - ``true``: a key is always required, on loopback too;
    - ``false``: keyless on loopback even when keys exist (a presented key is still honoured). Beyond
      loopback a key is always required.
    """

    require_key: Literal["auto", "true", "false"] = "auto"
    #: Also accept the key from this cookie (the dashboard's login sets it).
    cookie_name: str = "aifinops_key"

    @field_validator("require_key", mode="before")
    @classmethod
    def _yaml_bool(cls, value: object) -> object:
        # YAML reads an unquoted true/false as a boolean
        return str(value).lower() if isinstance(value, bool) else value
