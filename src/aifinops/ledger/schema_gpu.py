"""Ledger tables of the gpu area: schema migration 3."""

from __future__ import annotations

#: ``(version, description, statements)`` entries; version 3 is this area's.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = ()
