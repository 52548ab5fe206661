"""Facade part: API keys and roles for the API, dashboard and MCP server (issue 10)."""

from __future__ import annotations

import threading
from typing import Any

from aifinops.access.keys import (
    KEY_PREFIX,
    LOCAL_PRINCIPAL,
    Principal,
    check_role,
    new_key,
    parse_key,
    secret_matches,
)
from aifinops.core.errors import Conflict, Forbidden, InputError, NotFound, Unauthorized

__all__ = ["AccessMixin"]

_COLUMNS = "key_id, name, role, team, created_at, revoked_at"
_SCOPE_LOCK = threading.Lock()


class AccessMixin:
    """API keys and roles for the API, dashboard and MCP server (issue 10)."""

    settings: Any
    ledger: Any
    data_dir: Any

    # -- keys -----------------------------------------------------------------------------------
    def keys_create(self, *, name: str, role: str, team: str | None = None) -> dict[str, Any]:
        """Create an API key; the returned ``key`` is shown once (only its hash is stored)."""
        name = (name or "").strip()
        if not name or len(name) > 200:
            raise InputError("a key needs a --name of 1-200 characters")
        role, team = check_role(role, team)
        if self.ledger.query("SELECT 1 FROM api_keys WHERE name = ? AND revoked_at IS NULL", [name]):
            raise Conflict(f"an active API key named {name!r} exists already; revoke it or pick another name")
        key_id, key, secret_hash = new_key()
        self.ledger.execute(
            "INSERT INTO api_keys (key_id, name, role, team, secret_hash) VALUES (?, ?, ?, ?, ?)",
            [key_id, name, role, team, secret_hash],
        )
        self._forget_keys()
        row = self.ledger.query(f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = ?", [key_id])[0]
        return {**_public(row), "key": key}

    def keys_list(self, *, include_revoked: bool = False) -> list[dict[str, Any]]:
        """API keys (never their secrets), newest first."""
        where = "" if include_revoked else "WHERE revoked_at IS NULL"
        rows = self.ledger.query(f"SELECT {_COLUMNS} FROM api_keys {where} ORDER BY created_at DESC, key_id")
        return [_public(r) for r in rows]

    def keys_revoke(self, key_id: str) -> dict[str, Any]:
        """Revoke a key by its id (``afk_<id>`` or ``<id>``); a revoked key stops working at once."""
        key_id = key_id.strip().removeprefix(f"{KEY_PREFIX}_")
        rows = self.ledger.query(f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = ?", [key_id])
        if not rows:
            raise NotFound(f"no API key with id {key_id!r} (see `aifinops keys list`)")
        if rows[0]["revoked_at"] is None:
            self.ledger.execute("UPDATE api_keys SET revoked_at = now() WHERE key_id = ?", [key_id])
            self._forget_keys()
        row = self.ledger.query(f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = ?", [key_id])[0]
        return _public(row)

    def has_api_keys(self) -> bool:
        """Whether any active API key exists (then keyless local mode ends)."""
        cached = self.__dict__.get("_active_keys")
        if cached is None:
            cached = self.ledger.query("SELECT count(*) AS n FROM api_keys WHERE revoked_at IS NULL")[0]["n"]
            self.__dict__["_active_keys"] = cached
        return bool(cached)

    def _forget_keys(self) -> None:
        self.__dict__.pop("_active_keys", None)
        self.__dict__.pop("_auth_cache", None)

    # -- who is calling -------------------------------------------------------------------------
    def keyless_allowed(self, loopback: bool) -> bool:
        """Whether a request without a key is served (as :data:`LOCAL_PRINCIPAL`): local demo mode."""
        if not loopback:
            return False
        mode = self.settings.access.require_key
        if mode == "true":
            return False
        return mode == "false" or not self.has_api_keys()

    def authenticate(self, token: str | None, *, loopback: bool = False) -> Principal:
        """The principal of a presented key; without one, the local principal when keyless mode allows."""
        if not token:
            if self.keyless_allowed(loopback):
                return LOCAL_PRINCIPAL
            raise Unauthorized(
                "an API key is required: send Authorization: Bearer <key> (create one with `aifinops keys create`)"
            )
        key_id, secret = parse_key(token)
        cache = self.__dict__.setdefault("_auth_cache", {})
        known = cache.get((key_id, secret))
        if known is not None:
            return known
        rows = self.ledger.query(
            "SELECT key_id, name, role, team, secret_hash, revoked_at FROM api_keys WHERE key_id = ?",
            [key_id],
        )
        if not rows or not secret_matches(secret, rows[0]["secret_hash"]):
            raise Unauthorized("invalid API key")
        row = rows[0]
        if row["revoked_at"] is not None:
            raise Unauthorized(f"API key {row['name']!r} was revoked")
        principal = Principal(key_id=row["key_id"], name=row["name"], role=row["role"], team=row["team"])
        if len(cache) > 10_000:
            cache.clear()
        cache[(key_id, secret)] = principal  # forgotten when any key is created or revoked
        return principal

    def scoped(self, principal: Principal) -> Any:
        """The facade as ``principal`` may see it: itself for admin and finance, a team-scoped, read-only
        :class:`~aifinops.app.App` for a team key (its ledger shows only the team's rows, everywhere)."""
        team = principal.scoped_team
        if team is None:
            return self
        cache = self.__dict__.setdefault("_scoped_apps", {})
        entry = cache.get(team)
        if entry is not None and entry[0] is self.settings:
            return entry[1]
        with _SCOPE_LOCK:
            entry = cache.get(team)
            if entry is not None and entry[0] is self.settings:
                return entry[1]
            from aifinops.access.scope import ScopedLedger, scope_settings, settings_scopes

            if entry is not None:
                entry[1].ledger.close()
            app = type(self)(
                scope_settings(self.settings, team),
                self.data_dir,
                ledger=ScopedLedger(self.ledger, team, settings_scopes(self.settings)),
            )
            app.__dict__["catalog"] = self.catalog  # type: ignore[attr-defined]
            app.__dict__["principal"] = principal
            cache[team] = (self.settings, app)
            return app

    def require_write(self, principal: Principal) -> None:
        """Refuse a change by a principal that only reads."""
        if not principal.can_write:
            raise Forbidden(f"a {principal.role} key can only read")


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["key_id"],
        "prefix": f"{KEY_PREFIX}_{row['key_id']}",
        "name": row["name"],
        "role": row["role"],
        "team": row["team"],
        "created_at": row["created_at"],
        "revoked_at": row["revoked_at"],
        "active": row["revoked_at"] is None,
    }
