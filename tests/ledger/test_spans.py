"""Span storage: migration 2 on an existing ledger, idempotent appends, workflow rows under authority."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from aifinops.core.errors import ConfigError, InputError
from aifinops.core.settings import DEFAULT_SOURCE_PRIORITY, parse_settings
from aifinops.core.spans import SpanRow
from aifinops.ledger import DuckDBLedger
from aifinops.ledger import duckdb_backend as backend
from aifinops.ledger.schema import SCHEMA_VERSION
from tests.factories import T0, rec


def row(i: int, trace: str = "t" * 32, **kw: object) -> SpanRow:
    start = T0 + timedelta(seconds=i)
    fields = {
        "trace_id": trace,
        "span_id": f"{i:016x}",
        "start_time": start,
        "end_time": start + timedelta(seconds=1),
    }
    fields.update(kw)
    return SpanRow(**fields)


def test_a_version_1_ledger_gains_the_spans_table_and_every_later_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.duckdb"
    monkeypatch.setattr(backend, "MIGRATIONS", backend.MIGRATIONS[:1])
    old = DuckDBLedger(path)
    old.append([rec(1)])
    assert old.schema_version == 1
    old.close()
    monkeypatch.undo()
    upgraded = DuckDBLedger(path)
    assert upgraded.schema_version == SCHEMA_VERSION >= 2 and upgraded.stats()["records"] == 1
    assert upgraded.append_spans([row(1)]).inserted == 1
    upgraded.close()


def test_span_appends_are_idempotent_also_inside_one_batch() -> None:
    ledger = DuckDBLedger()
    first = ledger.append_spans([row(1), row(2), row(1)])
    again = ledger.append_spans([row(2), row(3)])
    assert (first.inserted, first.duplicates, again.inserted, again.duplicates) == (2, 1, 1, 1)
    same_span_other_trace = ledger.append_spans([row(1, trace="u" * 32)])
    assert same_span_other_trace.inserted == 1
    assert ledger.query("SELECT count(*) AS n FROM spans")[0]["n"] == 4
    with pytest.raises(InputError):
        ledger.append_spans([row(4, start_time=T0.replace(tzinfo=None))])


def test_records_and_spans_of_one_export_land_together() -> None:
    ledger = DuckDBLedger()
    with pytest.raises(InputError), ledger.transaction() as tx:
        tx.append([rec(1)])
        tx.append_spans([row(1, start_time=T0.replace(tzinfo=None))])
    assert ledger.stats()["records"] == 0


def test_workflow_rows_by_id_and_period_under_source_authority() -> None:
    ledger = DuckDBLedger()
    trace, other = "a" * 32, "b" * 32
    ledger.append_spans(
        [row(1, trace, conversation_id="conv"), row(2, other, conversation_id="conv"), row(3, "c" * 32)]
    )
    ledger.append(
        [
            rec(1, source="otlp", trace_id=trace, span_id="s1", effective_cost=Decimal("1")),
            rec(2, source="gateway", trace_id=trace, span_id="g1", effective_cost=Decimal("2")),
            rec(3, source="gateway", effective_cost=Decimal("4")),  # no trace: not a workflow's
        ]
    )
    records, spans = ledger.workflow_rows(workflow_id="conv")
    assert spans.num_rows == 2
    assert set(records["source"].to_pylist()) == {"gateway"}  # the gateway is authoritative that day
    records, spans = ledger.workflow_rows(since=T0, until=T0 + timedelta(seconds=2))
    assert spans.num_rows == 1
    records, _ = ledger.workflow_rows(workflow_id=trace)
    assert records["cost"].to_pylist() == [Decimal("2")]


def test_otlp_settings_and_the_source_priority() -> None:
    settings = parse_settings("otlp: {port: 4318, attribute_map: {app.team: team, app.cc: 'tag:cc'}}\n")
    assert settings.otlp.port == 4318 and settings.otlp.attribute_map["app.cc"] == "tag:cc"
    with pytest.raises(ConfigError, match="otlp.attribute_map"):
        parse_settings("otlp: {attribute_map: {app.team: squad}}\n")
    with pytest.raises(ConfigError, match="otlp.port"):
        parse_settings("otlp: {port: 70000}\n")
    prio = list(DEFAULT_SOURCE_PRIORITY)
    assert prio.index("otlp-metrics") == prio.index("otlp") + 1
