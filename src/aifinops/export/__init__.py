"""Exports of the ledger in standard formats: FOCUS 1.2 CostAndUsage (CSV or Parquet).

``export_focus(ledger.iter_batches(where_sql, params), Path("spend.parquet"))`` streams record batches
into a FOCUS file; see :mod:`aifinops.export.focus` for the mapping.
"""

from __future__ import annotations

from aifinops.export.focus import FORMATS, export_focus, focus_metadata, focus_schema, focus_table
from aifinops.export.focus_columns import COLUMN_NAMES, FOCUS_COLUMNS, FOCUS_VERSION, X_COLUMNS

__all__ = [
    "COLUMN_NAMES",
    "FOCUS_COLUMNS",
    "FOCUS_VERSION",
    "FORMATS",
    "X_COLUMNS",
    "export_focus",
    "focus_metadata",
    "focus_schema",
    "focus_table",
]
