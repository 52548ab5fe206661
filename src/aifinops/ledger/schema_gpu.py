"""Ledger tables of the gpu area: schema migration 3.

- ``gpu_samples``: GPU telemetry, one row per GPU (or per MIG instance / per pod sharing it) per interval.
  ``share`` is the fraction of the physical GPU the row stands for; ``util`` is 0-1; ``power_w`` is the
  row's part of the GPU's power draw. Owners are resolved when reading (config changes apply to the past);
  ``team`` (migration 7) is the team the host mapping gave the row when it was stored, used only to decide
  which team key may read it (NULL: the team whose GPU records cover the host at that time).
- ``training_estimates`` / ``training_approvals``: pre-run estimates and their (append-only) approvals.
- ``training_runs``: job records as imported (what ran, where, linked to an estimate); their cost is in
  the ``records`` table (source ``jobs``), found by the ``run_id`` tag.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = ["MIGRATIONS", "SAMPLE_SCHEMA", "RUN_SCHEMA", "ESTIMATE_SCHEMA"]

_TS = pa.timestamp("us", tz="UTC")
#: Arrow schema of ``gpu_samples`` rows (the order of the table's columns).
SAMPLE_SCHEMA = pa.schema(
    [
        ("sample_id", pa.string()),
        ("source", pa.string()),
        ("ts", _TS),
        ("seconds", pa.float64()),
        ("host", pa.string()),
        ("gpu_index", pa.int32()),
        ("gpu_uuid", pa.string()),
        ("gpu_model", pa.string()),
        ("gpu_type", pa.string()),
        ("mig_profile", pa.string()),
        ("mig_instance", pa.string()),
        ("share", pa.float64()),
        ("util", pa.float64()),
        ("mem_util", pa.float64()),
        ("fb_used_mib", pa.float64()),
        ("power_w", pa.float64()),
        ("namespace", pa.string()),
        ("pod", pa.string()),
        ("container", pa.string()),
        ("job", pa.string()),
        ("team", pa.string()),
    ]
)
#: The columns of migration 3 (``team`` came with migration 7).
_SAMPLE_V3 = pa.schema([f for f in SAMPLE_SCHEMA if f.name != "team"])
RUN_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("name", pa.string()),
        ("team", pa.string()),
        ("project", pa.string()),
        ("started_at", _TS),
        ("ended_at", _TS),
        ("provider", pa.string()),
        ("instance_type", pa.string()),
        ("gpu_type", pa.string()),
        ("gpu_count", pa.int32()),
        ("pricing_mode", pa.string()),
        ("estimate_id", pa.string()),
        ("params", pa.float64()),
        ("tokens", pa.float64()),
    ]
)
ESTIMATE_SCHEMA = pa.schema(
    [
        ("estimate_id", pa.string()),
        ("created_at", _TS),
        ("name", pa.string()),
        ("team", pa.string()),
        ("project", pa.string()),
        ("params", pa.float64()),
        ("tokens", pa.float64()),
        ("gpu_type", pa.string()),
        ("gpu_count", pa.int32()),
        ("provider", pa.string()),
        ("pricing_mode", pa.string()),
        ("mfu", pa.float64()),
        ("gpu_hours", pa.float64()),
        ("gpu_hours_low", pa.float64()),
        ("gpu_hours_high", pa.float64()),
        ("rate_per_gpu_hour", pa.decimal128(38, 12)),
        ("cost", pa.decimal128(38, 12)),
        ("cost_low", pa.decimal128(38, 12)),
        ("cost_high", pa.decimal128(38, 12)),
        ("needs_approval", pa.bool_()),
    ]
)


def _ddl(table: str, schema: pa.Schema, extra: str = "") -> str:
    types = {
        pa.string(): "VARCHAR",
        _TS: "TIMESTAMPTZ",
        pa.float64(): "DOUBLE",
        pa.int32(): "INTEGER",
        pa.bool_(): "BOOLEAN",
        pa.decimal128(38, 12): "DECIMAL(38, 12)",
    }
    cols = ",\n  ".join(f'"{f.name}" {types[f.type]}' for f in schema)
    return f"CREATE TABLE {table} (\n  {cols},\n  ingested_at TIMESTAMPTZ NOT NULL DEFAULT now(){extra}\n)"


#: ``(version, description, statements)`` entries: versions 3 and 7 are this area's.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        3,
        "gpu telemetry samples, training runs, estimates and approvals",
        (
            _ddl("gpu_samples", _SAMPLE_V3),
            _ddl("training_runs", RUN_SCHEMA),
            _ddl("training_estimates", ESTIMATE_SCHEMA),
            "CREATE TABLE training_approvals (approval_id VARCHAR, estimate_id VARCHAR, "
            "approved_at TIMESTAMPTZ, approved_by VARCHAR, note VARCHAR, "
            "ingested_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        ),
    ),
    (
        7,
        "gpu samples: the team a host mapping gave each sample (team keys read their own GPUs)",
        ("ALTER TABLE gpu_samples ADD COLUMN team VARCHAR",),
    ),
)
