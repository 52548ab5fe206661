"""Ledger tables of the value area: migration 5 (the savings ledger of applied recommendations) and 8 (request
embeddings for the semantic-caching analysis, written only with ``value.keep_embeddings: true``)."""

from __future__ import annotations

from aifinops.core.money import MONEY_SQL

#: ``(version, description, statements)`` entries; versions 5 and 8 are this area's.
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
    (
        8,
        "request embeddings (opt-in semantic caching analysis): vectors only, never the text",
        (
            """CREATE TABLE embeddings (
  record_id VARCHAR NOT NULL,
  time TIMESTAMPTZ NOT NULL,
  model VARCHAR,
  feature VARCHAR,
  team VARCHAR,
  embedding_model VARCHAR NOT NULL,
  vector FLOAT[384] NOT NULL)""",
        ),
    ),
)
