"""Ledger tables of the access area: schema migration 6."""

from __future__ import annotations

#: ``(version, description, statements)`` entries; version 6 is this area's.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        6,
        "api_keys: API keys (hashed) and their roles",
        (
            """CREATE TABLE api_keys (
  key_id VARCHAR PRIMARY KEY,
  name VARCHAR NOT NULL,
  role VARCHAR NOT NULL,
  team VARCHAR,
  secret_hash VARCHAR NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  revoked_at TIMESTAMPTZ)""",
        ),
    ),
)
