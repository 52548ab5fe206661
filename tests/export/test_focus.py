"""FOCUS 1.2 export: the mapping row by row, money exactness, streaming, CSV text and the error paths."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aifinops.core.errors import InputError
from aifinops.export import COLUMN_NAMES, FOCUS_COLUMNS, X_COLUMNS, export_focus, focus_table
from aifinops.ingest.focus import read_focus
from aifinops.ledger.convert import records_to_table
from aifinops.ledger.duckdb_backend import DuckDBLedger
from tests.export.helpers import gpu_rec, reversal
from tests.factories import rec

D = Decimal


def rows(*records):
    """The FOCUS rows of ``records`` as dicts (Arrow types: Decimal, datetime)."""
    return focus_table(records_to_table(list(records))).to_pylist()


# ------------------------------------------------------------------------------------------ columns


def test_columns_are_the_57_focus_columns_in_spec_order_then_x_columns():
    table = focus_table(records_to_table([rec(1)]))
    names = table.schema.names
    focus = names[:57]
    assert len(FOCUS_COLUMNS) == 57 and focus == [name for name, _ in FOCUS_COLUMNS]
    assert focus == sorted(focus)  # FOCUS 1.2 lists its columns alphabetically
    assert {"BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "Tags", "SkuPriceDetails"} <= set(
        focus
    )
    assert all(n.startswith("x_") for n in names[57:]) and len(names) == len(COLUMN_NAMES)
    for required in ("x_Model", "x_InputTokens", "x_CacheWrite1hTokens", "x_ReasoningTokens", "x_GpuSeconds"):
        assert required in names
    assert not any(n.startswith("x_") for n in focus)


def test_token_record_maps_to_generative_ai_with_prices_left_null():
    record = rec(
        1,
        model="gpt-4o",
        operation="chat",
        price_id="openai/gpt-4o@2024-10-02",
        input_tokens=1000,
        cached_input_tokens=200,
        cache_write_5m_tokens=30,
        output_tokens=50,
        reasoning_tokens=20,
        list_cost=D("0.0031"),
        effective_cost=D("0.0027"),
        billed_cost=D("0.0027"),
        team="search",
        feature="answers",
    )
    (row,) = rows(record)
    assert row["ServiceCategory"] == "AI and Machine Learning"
    assert row["ServiceSubcategory"] == "Generative AI"
    assert row["ServiceName"] == "OpenAI API"
    assert row["ProviderName"] == row["PublisherName"] == row["InvoiceIssuerName"] == "OpenAI"
    assert row["ChargeCategory"] == "Usage" and row["ChargeFrequency"] == "Usage-Based"
    assert row["ChargeClass"] is None and row["InvoiceId"] is None
    assert row["PricingCategory"] == "Standard"
    # billed tokens: input + cached + cache writes + output (reasoning is inside output)
    assert row["ConsumedQuantity"] == D(1280) and row["ConsumedUnit"] == "Tokens"
    assert row["PricingQuantity"] == D("0.00128") and row["PricingUnit"] == "1000000 Tokens"
    assert row["ListUnitPrice"] is None and row["ContractedUnitPrice"] is None  # no single unit price
    assert (row["ListCost"], row["EffectiveCost"], row["BilledCost"]) == (
        D("0.0031"),
        D("0.0027"),
        D("0.0027"),
    )
    assert row["ContractedCost"] == row["EffectiveCost"] == row["PricingCurrencyEffectiveCost"]
    assert row["SkuId"] == "openai/gpt-4o"
    assert row["SkuPriceId"] == "openai/gpt-4o@2024-10-02#on_demand"
    assert row["x_Model"] == "gpt-4o" and row["x_ReasoningTokens"] == 20 and row["x_Team"] == "search"
    description = row["ChargeDescription"]
    for part in ("gpt-4o chat", "1280 tokens", "1000 input", "200 cached input", "30 cache write 5m"):
        assert part in description
    assert "50 output incl. 20 reasoning" in description


def test_pricing_modes_map_to_focus_pricing_categories():
    modes = ("on_demand", "batch", "priority", "spot", "reserved", "provisioned")
    got = [rows(rec(i, pricing_mode=m))[0]["PricingCategory"] for i, m in enumerate(modes)]
    assert got == ["Standard", "Standard", "Standard", "Dynamic", "Committed", "Committed"]


def test_gpu_record_is_compute_with_an_exact_per_gpu_hour_price():
    (row,) = rows(gpu_rec())
    assert (row["ServiceCategory"], row["ServiceSubcategory"]) == ("Compute", "Virtual Machines")
    assert row["ServiceName"] == "Amazon EC2" and row["ProviderName"] == "AWS"
    assert row["ConsumedQuantity"] == row["PricingQuantity"] == D(8)
    assert row["PricingUnit"] == row["ConsumedUnit"] == "GPU-Hours"
    assert row["ListUnitPrice"] == D("4.81625") == row["ContractedUnitPrice"]
    assert row["ListUnitPrice"] * row["PricingQuantity"] == row["ListCost"]
    assert row["PricingCategory"] == "Committed"
    assert (row["ResourceId"], row["ResourceType"], row["ResourceName"]) == ("i-0abc", "GPU Instance", None)
    assert (row["RegionId"], row["RegionName"]) == ("us-east-1", "US East (N. Virginia)")
    assert row["SkuId"] == "aws/p5.48xlarge" and row["SkuPriceId"] == "aws/p5.48xlarge@2025-06-01#reserved"


def test_gpu_price_is_left_null_when_no_single_rate_reproduces_the_cost():
    # 7 seconds are 0.00194444... hours: no 12-decimal rate times that gives the cost exactly
    (row,) = rows(
        gpu_rec(gpu_seconds=D(7), list_cost=D("0.01"), effective_cost=D("0.01"), billed_cost=D("0.01"))
    )
    assert row["PricingQuantity"] == D("0.001944444444")
    assert row["ListUnitPrice"] is None and row["ContractedUnitPrice"] is None
    assert row["ListCost"] == D("0.01")


def test_training_gpu_record_stays_compute_and_hosted_fine_tuning_is_machine_learning():
    train = rows(gpu_rec(category="training", operation="train", pricing_mode="spot"))[0]
    assert (train["ServiceCategory"], train["PricingCategory"]) == ("Compute", "Dynamic")
    assert "training" in train["ChargeDescription"]
    tune = rows(rec(1, category="training", operation="fine_tune"))[0]
    assert (tune["ServiceCategory"], tune["ServiceSubcategory"]) == (
        "AI and Machine Learning",
        "Machine Learning",
    )
    assert tune["ServiceName"] != rows(rec(2))[0]["ServiceName"]  # one ServiceName, one subcategory


# ------------------------------------------------------------------------------------- money rules


def test_unpriced_record_exports_zero_costs_flagged_unpriced():
    record = rec(
        1, model="mystery-1", list_cost=None, effective_cost=None, billed_cost=None, cost_status="unpriced"
    )
    (row,) = rows(record)
    assert all(row[c] == 0 for c in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"))
    assert row["x_CostStatus"] == "unpriced" and "UNPRICED" in row["ChargeDescription"]
    assert row["SkuPriceId"] is None and row["ListUnitPrice"] is None
    assert row["PricingQuantity"] == D("0.00012")  # still measured: 120 tokens


def test_reversal_is_a_negative_usage_row_in_the_same_period_without_charge_class():
    original = gpu_rec()
    back = reversal(original)
    first, second = rows(original, back)
    assert second["ChargeClass"] is None and second["ChargeCategory"] == "Usage"
    assert second["x_Corrects"] == original.record_id
    assert second["ChargeDescription"].startswith(f"Reversal of record {original.record_id}")
    for column in (
        "BilledCost",
        "EffectiveCost",
        "ListCost",
        "ContractedCost",
        "PricingQuantity",
        "ConsumedQuantity",
    ):
        assert second[column] == -first[column]
    assert second["ListUnitPrice"] == first["ListUnitPrice"] > 0  # unit prices stay non-negative
    assert second["ListUnitPrice"] * second["PricingQuantity"] == second["ListCost"]
    assert second["BillingPeriodStart"] == first["BillingPeriodStart"]
    token_back = rows(reversal(rec(3)))[0]
    assert token_back["ConsumedQuantity"] == -120 and token_back["EffectiveCost"] == D("-0.00045")


def test_reported_costs_fill_in_for_missing_billed_and_list():
    (row,) = rows(rec(1, list_cost=None, billed_cost=None, effective_cost=D("1.25"), cost_status="reported"))
    assert row["EffectiveCost"] == row["BilledCost"] == row["ListCost"] == D("1.25")


def test_non_usage_charges_carry_no_consumption_and_tax_no_sku():
    tax, credit = rows(
        rec(1, charge_category="tax", input_tokens=0, output_tokens=0, requests=0),
        rec(2, charge_category="credit", input_tokens=0, output_tokens=0, requests=0, billed_cost=D("-5")),
    )
    assert tax["ChargeCategory"] == "Tax" and tax["ChargeFrequency"] == "One-Time"
    for column in (
        "PricingQuantity",
        "PricingUnit",
        "SkuId",
        "SkuPriceId",
        "SkuMeter",
        "PricingCategory",
        "ConsumedQuantity",
    ):
        assert tax[column] is None, column
    assert credit["ChargeCategory"] == "Credit" and credit["ConsumedQuantity"] is None
    assert credit["BilledCost"] == D("-5")
    with pytest.raises(InputError, match="ChargeCategory"):
        rows(rec(3, charge_category="refund"))


# ------------------------------------------------------------------------------------- periods, tags


def test_charge_periods_widen_to_whole_seconds_and_billing_period_is_the_utc_month():
    start = datetime(2026, 2, 28, 23, 59, 59, 600_000, tzinfo=UTC)
    record = rec(1, at=start)
    record.charge_period_end = start + timedelta(milliseconds=700)  # ends 00:00:00.3 on March 1st
    december = rec(2, at=datetime(2026, 12, 31, 12, tzinfo=UTC))
    feb, dec = rows(record, december)
    assert feb["ChargePeriodStart"] == datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC)
    assert feb["ChargePeriodEnd"] == datetime(2026, 3, 1, 0, 0, 1, tzinfo=UTC)
    assert (feb["BillingPeriodStart"], feb["BillingPeriodEnd"]) == (
        datetime(2026, 2, 1, tzinfo=UTC),
        datetime(2026, 3, 1, tzinfo=UTC),
    )
    assert dec["BillingPeriodEnd"] == datetime(2027, 1, 1, tzinfo=UTC)


def test_tags_are_key_value_json_with_owner_fields_and_free_tags():
    record = rec(
        1,
        team="search",
        environment="prod",
        customer="acme",
        user="u-1",
        api_key="search-prod",
        tags={"team": "ignored", "initiative": "copilot", "flag": "", "request_hash": "abc", "ünï": "ça"},
    )
    bare = rec(2)
    tagged, untagged = rows(record, bare)
    tags = json.loads(tagged["Tags"])
    assert tags == {
        "team": "search",
        "environment": "prod",
        "customer": "acme",
        "initiative": "copilot",
        "flag": True,
        "ünï": "ça",
    }
    assert all(not isinstance(v, dict | list) for v in tags.values())
    assert untagged["Tags"] is None
    assert tagged["x_User"] == "u-1" and tagged["x_ApiKey"] == "search-prod"


def test_endpoint_tag_is_the_resource_and_imported_sub_account_is_kept():
    (row,) = rows(
        rec(1, provider="self-hosted", service="vllm", tags={"endpoint": "llm-8b", "cost_in": "gpu"})
    )
    assert (row["ResourceId"], row["ResourceName"], row["ResourceType"]) == (
        "self-hosted/endpoint/llm-8b",
        "llm-8b",
        "Inference Endpoint",
    )
    assert (
        row["ServiceName"] == "vllm" and "cost carried by the GPU instance rows" in row["ChargeDescription"]
    )
    (imported,) = rows(rec(2, source="focus", tags={"sub_account_id": "proj-1", "resource_id": "arn:x"}))
    assert (imported["SubAccountId"], imported["SubAccountName"]) == ("proj-1", "proj-1")
    assert imported["ResourceId"] == "arn:x" and imported["Tags"] is None


# ------------------------------------------------------------------------------------- files


def _demo_like(n):
    out = []
    for i in range(n):
        if i % 7 == 0:
            out.append(gpu_rec(i))
        elif i % 11 == 0:
            out.append(rec(i, list_cost=None, effective_cost=None, billed_cost=None, cost_status="unpriced"))
        else:
            out.append(rec(i, effective_cost=D(i).scaleb(-7), billed_cost=D(i).scaleb(-7), team=f"t{i % 3}"))
    return out


def test_parquet_streams_one_row_group_per_batch_and_sums_exactly(tmp_path):
    records = _demo_like(120)
    batches = [records_to_table(records[i : i + 7]) for i in range(0, len(records), 7)]
    seen = []

    def lazily():
        for batch in batches:
            seen.append(batch.num_rows)
            yield batch

    out = tmp_path / "focus.parquet"
    result = export_focus(lazily(), out, now=datetime(2026, 3, 3, tzinfo=UTC))
    assert result["format"] == "parquet" and result["rows"] == len(records) == sum(seen)
    assert result["batches"] == len(batches) == pq.ParquetFile(out).metadata.num_row_groups
    table = pq.read_table(out)
    assert table.schema.names == list(COLUMN_NAMES)
    assert table.column("x_RecordId").to_pylist() == [r.record_id for r in records]  # one row per record
    ledger_sum = sum((r.effective_cost for r in records if r.effective_cost is not None), D(0))
    assert sum(table.column("EffectiveCost").to_pylist(), D(0)) == ledger_sum == result["effective_cost"]
    assert result["unpriced"] == sum(r.cost_status == "unpriced" for r in records)


def test_csv_is_plain_text_focus(tmp_path):
    records = [*_demo_like(30), reversal(gpu_rec(99)), rec(200, effective_cost=D("0.00000025"))]
    out = tmp_path / "focus.csv"
    export_focus([records_to_table(records)], out)
    with out.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == list(COLUMN_NAMES)
        lines = list(reader)
    assert len(lines) == len(records)
    decimals = [name for name, kind in FOCUS_COLUMNS if kind == "decimal"]
    for line in lines:
        for name in decimals:
            value = line[name]
            assert value == "" or ("E" not in value and "." in value), (name, value)
        for name in ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd"):
            assert len(line[name]) == 20 and line[name][10] == "T" and line[name].endswith("Z")
        if line["Tags"]:
            assert isinstance(json.loads(line["Tags"]), dict)
    assert lines[-1]["EffectiveCost"] == "0.00000025"
    total = sum((D(line["EffectiveCost"]) for line in lines), D(0))
    assert total == sum((r.effective_cost or D(0) for r in records), D(0))


def test_export_reads_back_through_the_focus_importer(tmp_path):
    records = [
        rec(i, input_tokens=100 + i, cached_input_tokens=i, output_tokens=7, reasoning_tokens=3)
        for i in range(5)
    ]
    records.append(gpu_rec(9))
    out = tmp_path / "back.csv"
    export_focus([records_to_table(records)], out)
    reader = read_focus(out, all_lines=True)
    back = []
    try:
        while True:
            back.append(next(reader))
    except StopIteration:
        pass
    assert len(back) == len(records)
    for field in ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens", "gpu_seconds"):
        assert sum(getattr(r, field) or 0 for r in back) == sum(getattr(r, field) or 0 for r in records), (
            field
        )
    assert sum(r.effective_cost for r in back) == sum(r.effective_cost for r in records)
    assert {r.model for r in back} == {r.model for r in records}


def test_ledger_batches_export_directly(tmp_path):
    ledger = DuckDBLedger(None)
    try:
        records = _demo_like(20)
        ledger.append(records)
        result = export_focus(ledger.iter_batches("", (), batch_size=6), tmp_path / "l.parquet")
    finally:
        ledger.close()
    assert result["rows"] == 20 and result["batches"] == 4
    expected = sum((r.effective_cost for r in records if r.effective_cost is not None), D(0))
    assert result["effective_cost"] == expected


def test_other_currency_is_refused_and_leaves_no_file(tmp_path):
    out = tmp_path / "eur.csv"
    batches = [records_to_table([rec(1)]), records_to_table([rec(2, currency="EUR")])]
    with pytest.raises(InputError, match="EUR"):
        export_focus(iter(batches), out)
    assert list(tmp_path.iterdir()) == []


def test_format_comes_from_the_suffix_or_fmt(tmp_path):
    batch = records_to_table([rec(1)])
    assert export_focus([batch], tmp_path / "a.PARQUET")["format"] == "parquet"
    assert export_focus([batch], tmp_path / "b.out", fmt="csv")["format"] == "csv"
    assert (tmp_path / "b.out").read_text().startswith('"AvailabilityZone"')
    with pytest.raises(InputError, match="suffix"):
        export_focus([batch], tmp_path / "c.txt")
    with pytest.raises(InputError, match="format"):
        export_focus([batch], tmp_path / "d.csv", fmt="xlsx")
    with pytest.raises(InputError, match="billing_account"):
        export_focus([batch], tmp_path / "e.csv", billing_account=" ")


def test_metadata_describes_every_column(tmp_path):
    now = datetime(2026, 3, 3, 12, tzinfo=UTC)
    result = export_focus([records_to_table([rec(1)])], tmp_path / "m.csv", now=now, metadata=True)
    meta = json.loads(Path(result["metadata_path"]).read_text())
    (schema,) = meta["Schemas"]
    assert schema["FocusVersion"] == "1.2" and schema["CreationDate"] == "2026-03-03T12:00:00Z"
    assert [c["ColumnName"] for c in schema["ColumnDefinition"]] == list(COLUMN_NAMES)
    kinds = {c["ColumnName"]: c["DataType"] for c in schema["ColumnDefinition"]}
    assert (
        kinds["BilledCost"] == "DECIMAL"
        and kinds["Tags"] == "JSON"
        and kinds["ChargePeriodStart"] == "DATETIME"
    )


def test_empty_input_writes_a_header_only_file(tmp_path):
    out = tmp_path / "empty.csv"
    result = export_focus([pa.Table.from_pylist([], schema=records_to_table([rec(1)]).schema)], out)
    assert result["rows"] == 0
    assert out.read_text().strip().split(",")[0] == '"AvailabilityZone"'
    assert len(X_COLUMNS) + 2 == len(COLUMN_NAMES) - 57  # + x_Allocation, x_AllocatedOwner
