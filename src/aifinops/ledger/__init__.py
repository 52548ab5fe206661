"""Ledger: append-only storage for records and outcomes behind one interface."""

from aifinops.ledger.base import GRAINS, METRICS, AppendResult, Ledger, LedgerWriter, RollupQuery, ScanQuery
from aifinops.ledger.duckdb_backend import DuckDBLedger

__all__ = [
    "GRAINS",
    "METRICS",
    "AppendResult",
    "Ledger",
    "LedgerWriter",
    "RollupQuery",
    "ScanQuery",
    "DuckDBLedger",
]
