"""The ledger's tables, their Arrow twins, and the ordered list of schema migrations."""

from __future__ import annotations

import pyarrow as pa

from aifinops.core.money import MONEY_SCALE, MONEY_SQL
from aifinops.core.records import MONEY_FIELDS, OUTCOME_DIMENSIONS, TOKEN_FIELDS
from aifinops.core.spans import SPAN_FIELDS
from aifinops.ledger import schema_access as _access
from aifinops.ledger import schema_anomaly as _anomaly
from aifinops.ledger import schema_gpu as _gpu
from aifinops.ledger import schema_value as _value

__all__ = [
    "RECORD_COLUMNS",
    "RECORD_SCHEMA",
    "OUTCOME_COLUMNS",
    "OUTCOME_SCHEMA",
    "SPAN_COLUMNS",
    "SPAN_SCHEMA",
    "MIGRATIONS",
    "SCHEMA_VERSION",
]

_MONEY = pa.decimal128(38, MONEY_SCALE)
_TAGS = pa.map_(pa.string(), pa.string())
_TS = pa.timestamp("us", tz="UTC")

_STRING = "VARCHAR", pa.string()
_INT = "BIGINT", pa.int64()

# (column, SQL type, Arrow type) in UsageRecord field order.
RECORD_COLUMNS: tuple[tuple[str, str, pa.DataType], ...] = (
    ("record_id", "VARCHAR NOT NULL", pa.string()),
    ("source", "VARCHAR NOT NULL", pa.string()),
    ("charge_period_start", "TIMESTAMPTZ NOT NULL", _TS),
    ("charge_period_end", "TIMESTAMPTZ NOT NULL", _TS),
    *((name, *_STRING) for name in ("provider", "service", "model", "model_requested", "operation")),
    ("category", "VARCHAR NOT NULL", pa.string()),
    ("pricing_mode", "VARCHAR NOT NULL", pa.string()),
    ("region", *_STRING),
    *((name, *_INT) for name in (*TOKEN_FIELDS, "requests")),
    ("gpu_seconds", MONEY_SQL, _MONEY),
    ("gpu_type", *_STRING),
    ("gpu_count", "INTEGER", pa.int32()),
    ("quantity", MONEY_SQL, _MONEY),
    ("unit", *_STRING),
    *((name, MONEY_SQL, _MONEY) for name in MONEY_FIELDS),
    ("currency", "VARCHAR NOT NULL", pa.string()),
    ("price_id", *_STRING),
    ("cost_status", "VARCHAR NOT NULL", pa.string()),
    *(
        (name, *_STRING)
        for name in (
            "team",
            "project",
            "product",
            "feature",
            "customer",
            "environment",
            "use_case",
            "user",
            "api_key",
        )
    ),
    ("tags", "MAP(VARCHAR, VARCHAR)", _TAGS),
    *((name, *_STRING) for name in ("trace_id", "span_id", "parent_span_id", "workflow")),
    ("depth", "INTEGER", pa.int32()),
    ("attempt", "INTEGER", pa.int32()),
    ("cache_hit", "BOOLEAN", pa.bool_()),
    ("status", *_STRING),
    ("error", *_STRING),
    ("latency_ms", "DOUBLE", pa.float64()),
    ("charge_category", "VARCHAR NOT NULL", pa.string()),
    ("corrects", *_STRING),
)
RECORD_SCHEMA = pa.schema([(name, arrow) for name, _, arrow in RECORD_COLUMNS])

OUTCOME_COLUMNS: tuple[tuple[str, str, pa.DataType], ...] = (
    ("outcome_id", "VARCHAR NOT NULL", pa.string()),
    ("source", "VARCHAR NOT NULL", pa.string()),
    ("occurred_at", "TIMESTAMPTZ NOT NULL", _TS),
    ("outcome_type", "VARCHAR NOT NULL", pa.string()),
    ("count", "BIGINT NOT NULL", pa.int64()),
    ("value", MONEY_SQL, _MONEY),
    ("currency", "VARCHAR NOT NULL", pa.string()),
    *((name, *_STRING) for name in OUTCOME_DIMENSIONS),
    ("tags", "MAP(VARCHAR, VARCHAR)", _TAGS),
)
OUTCOME_SCHEMA = pa.schema([(name, arrow) for name, _, arrow in OUTCOME_COLUMNS])


# (column, SQL type, Arrow type) in SpanRow field order: workflow structure, never money.
SPAN_COLUMNS: tuple[tuple[str, str, pa.DataType], ...] = (
    ("trace_id", "VARCHAR NOT NULL", pa.string()),
    ("span_id", "VARCHAR NOT NULL", pa.string()),
    ("start_time", "TIMESTAMPTZ NOT NULL", _TS),
    ("end_time", "TIMESTAMPTZ NOT NULL", _TS),
    *(
        (name, *_STRING)
        for name in (
            "parent_span_id",
            "name",
            "kind",
            "operation",
            "agent_name",
            "tool_name",
            "workflow_name",
            "conversation_id",
            "service",
        )
    ),
    ("status", "VARCHAR NOT NULL", pa.string()),
    ("error", *_STRING),
    ("request_hash", *_STRING),
    ("source", "VARCHAR NOT NULL", pa.string()),
)
SPAN_SCHEMA = pa.schema([(name, arrow) for name, _, arrow in SPAN_COLUMNS])
assert tuple(SPAN_SCHEMA.names) == SPAN_FIELDS, "span schema and SpanRow fields disagree"


def _create(table: str, columns: tuple[tuple[str, str, pa.DataType], ...], extra: str) -> str:
    body = ",\n  ".join(f'"{name}" {sql}' for name, sql, _ in columns)
    return f"CREATE TABLE {table} (\n  {body},\n  {extra}\n)"


# Each migration is (version, description, statements). Never edit a released one: add a new one.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        1,
        "records, outcomes and source coverage",
        (
            _create("records", RECORD_COLUMNS, "ingested_at TIMESTAMPTZ NOT NULL DEFAULT now()"),
            _create("outcomes", OUTCOME_COLUMNS, "ingested_at TIMESTAMPTZ NOT NULL DEFAULT now()"),
            """CREATE TABLE source_coverage (
  provider VARCHAR NOT NULL, source VARCHAR NOT NULL, day DATE NOT NULL, currency VARCHAR NOT NULL,
  PRIMARY KEY (provider, source, day, currency))""",
            "CREATE TABLE import_log (import_id VARCHAR, source VARCHAR, path VARCHAR, "
            "started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, rows_read BIGINT, inserted BIGINT, "
            "duplicates BIGINT, rejected BIGINT, skipped BIGINT)",
        ),
    ),
    (
        2,
        "spans: agent workflow structure from OpenTelemetry",
        (_create("spans", SPAN_COLUMNS, "ingested_at TIMESTAMPTZ NOT NULL DEFAULT now()"),),
    ),
)
MIGRATIONS = tuple(
    sorted((*MIGRATIONS, *_gpu.MIGRATIONS, *_anomaly.MIGRATIONS, *_value.MIGRATIONS, *_access.MIGRATIONS))
)
SCHEMA_VERSION = MIGRATIONS[-1][0]
