"""Ledger tables of the access area: schema migration 6."""

from __future__ import annotations

#: ``(version, description, statements)`` entries; version 6 is this area's.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = ()
