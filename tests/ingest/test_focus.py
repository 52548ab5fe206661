"""FOCUS CostAndUsage importer: the real 1,000-row sample, a 1.2 AI fixture, gzip and Parquet."""

from __future__ import annotations

import csv
import gzip
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from aifinops.core.errors import InputError
from aifinops.ingest import SOURCES, read_focus
from aifinops.ingest._gpu import GpuInfo, detect_gpu
from tests.ingest.helpers import DATA, FOCUS_SAMPLE, read

AI = DATA / "focus_1.2_ai.csv"


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def _money(value: str) -> Decimal:
    return Decimal(0) if value in ("", "NULL") else Decimal(value)


@pytest.mark.skipif(not FOCUS_SAMPLE.exists(), reason="shared FOCUS sample not present")
def test_real_sample_all_lines_sums_to_the_file() -> None:
    rows = _rows(FOCUS_SAMPLE)
    got = read(read_focus, FOCUS_SAMPLE, all_lines=True)
    assert not got.errors
    assert len(got.records) == len(rows) == got.summary.rows == 1000
    assert got.summary.skipped == 0
    assert sum(r.effective_cost for r in got.records) == sum(_money(r["EffectiveCost"]) for r in rows)
    assert sum(r.billed_cost for r in got.records) == sum(_money(r["BilledCost"]) for r in rows)
    assert len(set(got.ids)) == 1000
    assert {r.currency for r in got.records} == {r["BillingCurrency"] for r in rows}
    first = got.records[0]
    assert first.charge_period_start == datetime(2024, 9, 18, 22, tzinfo=UTC)  # naive -> UTC
    assert first.charge_period_end == datetime(2024, 9, 18, 23, tzinfo=UTC)
    assert {r.charge_category for r in got.records} == {r["ChargeCategory"].lower() for r in rows}
    assert all(r.cost_status == "reported" for r in got.records)


@pytest.mark.skipif(not FOCUS_SAMPLE.exists(), reason="shared FOCUS sample not present")
def test_real_sample_default_keeps_ai_and_gpu_lines_only() -> None:
    rows = _rows(FOCUS_SAMPLE)
    got = read(read_focus, FOCUS_SAMPLE)
    ai_rows = [r for r in rows if r["ServiceCategory"] == "AI and Machine Learning"]
    g5_hours = [r for r in rows if "g5.4xlarge Instance Hour" in r["ChargeDescription"]]
    assert ai_rows and g5_hours
    assert len(got.records) == len(ai_rows) + len(g5_hours)
    assert got.summary.skipped == len(rows) - len(got.records)
    gpu = [r for r in got.records if r.gpu_type]
    assert len(gpu) == len(g5_hours)
    assert {(r.gpu_type, r.gpu_count, r.category) for r in gpu} == {("A10G", 1, "self_hosted_inference")}
    for record in gpu:
        assert record.gpu_seconds == record.quantity * 3600
    assert {r.environment for r in gpu} == {"dev"}  # from the Tags JSON
    # same ids as in the all-lines import: the filter does not change identities
    everything = set(read(read_focus, FOCUS_SAMPLE, all_lines=True).ids)
    assert set(got.ids) <= everything


def test_focus_1_2_ai_fixture_mapping() -> None:
    got = read(read_focus, AI)
    assert not got.errors
    assert got.summary.skipped == 2  # S3 storage and a t3.medium
    by_service = {}
    for record in got.records:
        by_service.setdefault(record.service, []).append(record)
    bedrock = by_service["Amazon Bedrock"][0]
    assert (bedrock.provider, bedrock.model, bedrock.category) == (
        "aws",
        "anthropic.claude-sonnet-4",
        "hosted_inference",
    )
    assert (bedrock.input_tokens, bedrock.cached_input_tokens, bedrock.output_tokens) == (
        1_000_000,
        200_000,
        0,
    )
    assert (bedrock.team, bedrock.environment, bedrock.feature) == (
        "search",
        "prod",
        "answers",
    )  # "Team", "env"
    assert bedrock.tags["cost-center"] == "cc-42" and "Team" not in bedrock.tags
    assert bedrock.charge_period_start == datetime(2024, 9, 1, tzinfo=UTC)
    assert (bedrock.quantity, bedrock.unit, bedrock.region) == (Decimal(1_200_000), "Tokens", "us-east-1")
    assert bedrock.effective_cost == Decimal("3.600000000")
    tax = by_service["Amazon Bedrock"][1]
    assert tax.charge_category == "tax" and tax.quantity is None
    aoai = by_service["Azure OpenAI"]
    assert len(aoai) == 2 and aoai[0].record_id != aoai[1].record_id  # identical rows stay two
    assert (aoai[0].provider, aoai[0].output_tokens, aoai[0].customer) == ("azure", 50_000, "acme")
    assert aoai[0].tags["priority"] == "1" and aoai[0].tags["gpu"] == "false"
    p5 = by_service["Amazon Elastic Compute Cloud"][0]
    assert (p5.gpu_type, p5.gpu_count, p5.category, p5.use_case) == ("H100", 8, "training", "training")
    assert p5.gpu_seconds == Decimal(10 * 3600 * 8)
    gcp = by_service["Compute Engine"][0]
    assert (gcp.provider, gcp.gpu_type, gcp.gpu_count, gcp.pricing_mode) == ("gcp", "H100", 8, "reserved")
    assert (gcp.billed_cost, gcp.effective_cost) == (Decimal(0), Decimal(176))
    azure_vm = by_service["Virtual Machines"][0]
    assert (azure_vm.gpu_type, azure_vm.category, azure_vm.project) == (
        "A100",
        "self_hosted_inference",
        "llm-serving",
    )
    assert azure_vm.gpu_count is None and azure_vm.gpu_seconds is None  # count unknown: no guess


def test_all_lines_imports_the_rest_and_keeps_ids() -> None:
    default = read(read_focus, AI)
    everything = read(read_focus, AI, all_lines=True)
    assert len(everything.records) == len(_rows(AI))
    assert set(default.ids) <= set(everything.ids)
    categories = {r.service: r.category for r in everything.records}
    assert categories["Amazon Simple Storage Service"] == "storage_transfer"
    assert read(read_focus, AI, all_lines=True).ids == everything.ids


def test_gzip_and_parquet_give_the_same_records(tmp_path: Path) -> None:
    pacsv = pytest.importorskip("pyarrow.csv")
    pq = pytest.importorskip("pyarrow.parquet")
    gz = tmp_path / "focus.csv.gz"
    with open(AI, "rb") as source, gzip.open(gz, "wb") as target:
        shutil.copyfileobj(source, target)
    parquet = tmp_path / "focus.parquet"
    pq.write_table(pacsv.read_csv(AI), parquet)
    plain = read(read_focus, AI)
    assert read(read_focus, gz).ids == plain.ids
    typed = read(read_focus, parquet)  # typed columns: timestamps, doubles, ints
    assert not typed.errors and typed.summary.skipped == plain.summary.skipped

    def comparable(record):
        data = record.to_dict()
        data.pop("record_id")
        return data

    assert [comparable(r) for r in typed.records] == [comparable(r) for r in plain.records]


def test_bad_rows_are_reported_with_their_line(tmp_path: Path) -> None:
    lines = AI.read_text().splitlines()
    header, bedrock = lines[0], lines[1]
    broken_date = bedrock.replace("2024-09-02T00:00:00Z", "next tuesday", 1)
    broken_cost = "abc" + bedrock[bedrock.index(",") :]
    broken_tags = bedrock.replace('""Team"": ""search"",', '""Team"": ', 1)
    short_row = "1,2,3"
    path = tmp_path / "bad.csv"
    path.write_text(
        "\n".join([header, broken_date, bedrock, broken_cost, broken_tags, short_row, lines[2]]) + "\n"
    )
    got = read(read_focus, path)
    assert len(got.records) == 2
    reasons = {e.line: e.reason for e in got.errors}
    assert set(reasons) == {2, 4, 5, 6}
    assert "ChargePeriodEnd" in reasons[2] and "next tuesday" in reasons[2]
    assert "BilledCost" in reasons[4] and "'abc'" in reasons[4]
    assert "Tags" in reasons[5]
    assert "columns" in reasons[6]


def test_missing_columns_raise_input_error(tmp_path: Path) -> None:
    path = tmp_path / "not_focus.csv"
    path.write_text("date,amount\n2024-09-01,3.5\n")
    with pytest.raises(InputError, match="missing required columns.*ChargePeriodStart"):
        read(read_focus, path)


def test_focus_1_3_service_provider_name(tmp_path: Path) -> None:
    path = tmp_path / "focus13.csv"
    path.write_text(
        AI.read_text().replace("ProviderName,PublisherName", "ServiceProviderName,HostProviderName", 1)
    )
    got = read(read_focus, path)
    assert [r.provider for r in got.records] == [r.provider for r in read(read_focus, AI).records]


def test_registry_uses_the_default_filter() -> None:
    assert len(read(SOURCES["focus"], AI).records) == len(read(read_focus, AI).records)


@pytest.mark.parametrize(
    ("texts", "details", "expected"),
    [
        (["$32.77 per On Demand Linux p4d.24xlarge Instance Hour"], {}, GpuInfo("A100", 8)),
        (["ml.g5.12xlarge Training"], {}, GpuInfo("A10G", 4)),
        (["g6e.xlarge"], {}, GpuInfo("L40S", 1)),
        (["Compute Engine"], {"InstanceType": "a2-ultragpu-4g"}, GpuInfo("A100-80GB", 4)),
        (["g2-standard-48"], {}, GpuInfo("L4", 4)),
        (["Standard_NC24ads_A100_v4"], {}, GpuInfo("A100", None)),
        (["Virtual Machines NCasT4 v3 Series"], {"GpuCount": "4"}, GpuInfo("T4", 4)),
        (["Nvidia Tesla H100 GPU running in Americas"], {}, GpuInfo("H100", None)),
        (["Some VM"], {"GpuCount": 2}, GpuInfo(None, 2)),
        (["$0.0416 per On Demand Linux t3.medium Instance Hour"], {}, None),
        (["$0.03 per GB-mo of log storage"], {}, None),
        (["Virtual Machines Dv2/DSv2 Series - D11 v2"], {}, None),
    ],
)
def test_gpu_detection(texts: list[str], details: dict, expected: GpuInfo | None) -> None:
    assert detect_gpu(texts, details) == expected
