"""Ledger tables of the anomaly area: schema migration 4."""

from __future__ import annotations

#: ``(version, description, statements)`` entries; version 4 is this area's.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = ()
