"""Access control for the API, dashboard and MCP server: API keys, roles and team scoping (issue 10).

Roles: ``admin`` (everything), ``finance`` (reads everything, writes nothing), ``team`` (reads only its own
team's data, everywhere). Keys are stored hashed (:mod:`aifinops.access.keys`); a team key's facade reads a
ledger in which every table shows only that team's rows (:mod:`aifinops.access.scope`).
"""

from __future__ import annotations

from aifinops.access.keys import LOCAL_PRINCIPAL, ROLES, Principal, new_key, parse_key
from aifinops.access.scope import ScopedLedger, register_table_scope, scope_settings

__all__ = [
    "LOCAL_PRINCIPAL",
    "ROLES",
    "Principal",
    "ScopedLedger",
    "new_key",
    "parse_key",
    "register_table_scope",
    "scope_settings",
]
