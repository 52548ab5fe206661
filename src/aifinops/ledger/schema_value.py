"""Ledger tables of the value area: schema migration 5 (the savings ledger of applied recommendations)."""

from __future__ import annotations

from aifinops.core.money import MONEY_SQL

#: ``(version, description, statements)`` entries; version 5 is this area's.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        5,
        "applied recommendations: the savings ledger",
        (
            f"""CREATE TABLE applied_recommendations (
  id VARCHAR PRIMARY KEY,
  kind VARCHAR NOT NULL,
  title VARCHAR NOT NULL,
  scope VARCHAR NOT NULL,
  measure_scope VARCHAR NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL,
  expected_monthly_saving {MONEY_SQL} NOT NULL,
  baseline_days INTEGER NOT NULL,
  change VARCHAR NOT NULL,
  note VARCHAR,
  recorded_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
        ),
    ),
)
