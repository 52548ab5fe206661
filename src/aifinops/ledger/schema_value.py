"""Ledger tables of the value area: schema migration 5."""

from __future__ import annotations

#: ``(version, description, statements)`` entries; version 5 is this area's.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = ()
