"""The generic record format (CSV and JSONL) and its documentation."""

from __future__ import annotations

import json
from dataclasses import fields
from decimal import Decimal
from pathlib import Path

import pytest

from aifinops.core.errors import InputError
from aifinops.core.records import UsageRecord
from aifinops.ingest import SOURCES, read_records
from tests.ingest.helpers import DATA, read

DOC = Path(__file__).resolve().parents[2] / "docs" / "records-format.md"
HEADER = "timestamp,model,input_tokens,output_tokens,reasoning_tokens,effective_cost,cost_status"


def test_registry_names_the_reader() -> None:
    assert SOURCES["records"] is read_records


def test_csv_fixture() -> None:
    got = read(read_records, DATA / "records.csv")
    assert not got.errors
    first, second, third = got.records
    assert first.charge_period_start == first.charge_period_end  # timestamp shorthand
    assert first.charge_period_start.tzinfo is not None
    assert (first.input_tokens, first.cached_input_tokens, first.output_tokens) == (1200, 800, 350)
    assert first.tags == {"region": "eu", "ticket": "T-1"}  # tags JSON + tag.<key>
    assert (first.team, first.feature, first.customer) == ("support", "triage", "acme")
    assert first.cost_status == "unpriced" and first.effective_cost is None
    assert second.cost_status == "reported"
    assert second.effective_cost == second.billed_cost == second.list_cost == Decimal("0.0237")
    assert (second.output_tokens, second.reasoning_tokens) == (1400, 600)
    assert third.category == "embedding" and third.currency == "USD"  # empty currency -> default
    assert {r.source for r in got.records} == {"records"}


def test_jsonl_fixture() -> None:
    got = read(read_records, DATA / "records.jsonl")
    assert not got.errors
    gpu, labels = got.records
    assert gpu.charge_period_end > gpu.charge_period_start
    assert (gpu.gpu_seconds, gpu.gpu_type, gpu.gpu_count) == (Decimal(14400), "H100", 4)
    assert (gpu.effective_cost, gpu.billed_cost, gpu.list_cost) == (
        Decimal("39.2"),
        Decimal("39.20"),
        Decimal("45.00"),
    )
    assert gpu.tags == {"cluster": "gpu-a", "spot": "true"}
    assert (labels.source, labels.currency, labels.category) == ("labelling-vendor", "USD", "labelling")
    assert labels.charge_period_start.timestamp() == 1740787200


def test_ids_from_id_column_ignore_the_rest_of_the_row(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("id,timestamp,input_tokens\nabc,2025-01-01,5\n")
    before = read(read_records, path).ids
    path.write_text("id,timestamp,input_tokens\nabc,2025-01-01,6\n")
    assert read(read_records, path).ids == before
    path.write_text("id,timestamp,input_tokens,source\nabc,2025-01-01,6,gateway\n")
    assert read(read_records, path).ids != before  # another source, another record


def test_ids_from_content_count_identical_rows(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("timestamp,input_tokens\n2025-01-01,5\n2025-01-01,5\n2025-01-01,7\n")
    ids = read(read_records, path).ids
    assert len(set(ids)) == 3
    assert read(read_records, path).ids == ids
    reordered = tmp_path / "r2.csv"
    reordered.write_text("input_tokens,timestamp\n5,2025-01-01\n")
    assert read(read_records, reordered).ids == ids[:1]  # column order does not matter


def test_bad_csv_rows_name_line_column_and_value(tmp_path: Path) -> None:
    rows = [
        "2025-01-01T00:00:00Z,m,10,5,0,,",  # 2 good
        "2025-01-01T00:00:00Z,m,10,abc,0,,",  # 3
        "2025-01-01T00:00:00Z,m,-5,5,0,,",  # 4
        "03/01/2025,m,1,1,0,,",  # 5
        ",m,1,1,0,,",  # 6 missing time
        "2025-01-01T00:00:00Z,m,1,1,9,,",  # 7 reasoning > output
        "2025-01-01T00:00:00Z,m,1,1,0,1.5,unpriced",  # 8 contradiction
        "2025-01-01T00:00:00Z,m,1,1,0,,reported",  # 9 reported without cost
        "2025-01-01T00:00:00Z,m,1",  # 10 short
        "2025-01-02T00:00:00Z,m,1,2,1,0.01,",  # 11 good
    ]
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    got = read(read_records, path)
    assert [r.charge_period_start.day for r in got.records] == [1, 2]
    messages = {e.line: str(e) for e in got.errors}
    assert messages[3] == "line 3: output_tokens: 'abc' is not an integer"
    assert messages[4] == "line 4: input_tokens: '-5' is negative"
    assert "timestamp: '03/01/2025' is not a valid date/time" in messages[5]
    assert "charge_period_start: missing" in messages[6]
    assert "reasoning_tokens" in messages[7]
    assert "unpriced" in messages[8]
    assert "needs a cost" in messages[9]
    assert "columns" in messages[10]
    assert got.summary.rows == 10


def test_jsonl_bad_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps({"timestamp": "2025-01-01", "input_tokens": 3}),
        '{"timestamp": "2025-01-01", ',
        json.dumps({"timestamp": "2025-01-01", "input_tokens": 3.5}),
        json.dumps({"timestamp": "2025-01-01", "input_tokns": 3}),
        json.dumps({"timestamp": "2025-01-01", "category": "magic"}),
        json.dumps({"timestamp": "2025-01-01", "tags": {"a": {"nested": 1}}}),
        json.dumps([1, 2]),
        json.dumps({"timestamp": "2025-01-02", "requests": 1}),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    got = read(read_records, path)
    assert len(got.records) == 2
    reasons = {e.line: e.reason for e in got.errors}
    assert reasons[2].startswith("malformed JSON")
    assert reasons[3] == "input_tokens: 3.5 is not an integer"
    assert "input_tokns" in reasons[4]
    assert "category: 'magic'" in reasons[5]
    assert "tags.a" in reasons[6]
    assert reasons[7] == "expected a JSON object"


def test_unknown_or_missing_csv_columns_refuse_the_file(tmp_path: Path) -> None:
    path = tmp_path / "typo.csv"
    path.write_text("timestamp,input_tokns\n2025-01-01,5\n")
    with pytest.raises(InputError, match="input_tokns"):
        read(read_records, path)
    path.write_text("model,input_tokens\nm,5\n")
    with pytest.raises(InputError, match="charge_period_start"):
        read(read_records, path)


def test_a_file_that_is_not_jsonl_at_all_raises(tmp_path: Path) -> None:
    path = tmp_path / "pretty.jsonl"
    path.write_text(json.dumps({"a": [1, 2, 3], "b": {"c": 1}}, indent=2))
    with pytest.raises(InputError, match="not a JSONL records file"):
        read(read_records, path)


def test_gzipped_csv(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "records.csv.gz"
    path.write_bytes(gzip.compress((DATA / "records.csv").read_bytes()))
    assert read(read_records, path).ids == read(read_records, DATA / "records.csv").ids


def test_doc_lists_every_field_and_shows_the_fixtures() -> None:
    doc = DOC.read_text()
    for field in fields(UsageRecord):
        assert f"`{field.name}`" in doc, f"{field.name} is not documented"
    for fixture in ("records.csv", "records.jsonl"):
        for line in (DATA / fixture).read_text().splitlines():
            assert line in doc, f"{fixture} example is out of date"
