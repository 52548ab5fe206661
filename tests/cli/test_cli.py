"""The `aifinops` command end to end: ingest, reports in every format, prices, reprice, doctor, demo."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from aifinops.cli.main import cli

DATA = Path(__file__).parent.parent / "data"
INGEST = DATA / "ingest"


@pytest.fixture
def run(tmp_path: Path):
    runner = CliRunner()

    def invoke(*args: str, config: Path | None = None, ok: bool = True):
        base = ["--data-dir", str(tmp_path / "data")]
        if config is not None:
            base += ["--config", str(config)]
        result = runner.invoke(cli, [*base, *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


def _json(result) -> object:
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("source", "file"),
    [
        ("openai-usage", "openai_usage_completions.json"),
        ("openai-costs", "openai_costs.json"),
        ("anthropic-usage", "anthropic_usage.json"),
        ("anthropic-costs", "anthropic_costs.json"),
        ("focus", "focus_1.2_ai.csv"),
        ("records", "records.csv"),
        ("records", "records.jsonl"),
    ],
)
def test_every_source_imports_and_reimport_is_a_no_op(run, source: str, file: str) -> None:
    first = _json(run("ingest", source, str(INGEST / file), "--format", "json"))
    assert first["inserted"] > 0
    before = _json(run("report", "costs", "--since", "2000-01-01", "--sources", "all", "--format", "json"))
    second = _json(run("ingest", source, str(INGEST / file), "--format", "json"))
    assert second["inserted"] == 0 and second["duplicates"] == first["inserted"]
    after = _json(run("report", "costs", "--since", "2000-01-01", "--sources", "all", "--format", "json"))
    assert before == after


def test_report_formats_agree(run) -> None:
    run("ingest", "records", str(INGEST / "records.csv"))
    rows = _json(run("report", "costs", "--by", "team,model", "--since", "2000-01-01", "--format", "json"))
    assert rows and all(set(r) >= {"team", "model", "cost", "requests"} for r in rows)
    text = run("report", "costs", "--by", "team,model", "--since", "2000-01-01", "--format", "csv").stdout
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [(r["team"], r["model"], r["cost"]) for r in parsed] == [
        (r["team"] or "", r["model"] or "", r["cost"] or "") for r in rows
    ]
    table = run("report", "costs", "--by", "team", "--since", "2000-01-01").stdout
    assert "team" in table and "cost" in table
    total = sum(Decimal(r["cost"]) for r in rows if r["cost"])
    (whole,) = _json(run("report", "costs", "--since", "2000-01-01", "--format", "json"))
    assert Decimal(whole["cost"]) == total


def test_bad_rows_are_reported_and_written_to_the_reject_file(run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "timestamp,provider,model,input_tokens,output_tokens,team\n"
        "2026-01-01T00:00:00Z,openai,gpt-4o,100,10,a\n"
        "2026-01-01T00:00:00Z,openai,gpt-4o,abc,10,a\n"
        "not-a-date,openai,gpt-4o,1,1,a\n"
    )
    rejects = tmp_path / "rejects.jsonl"
    result = run("ingest", "records", str(bad), "--reject-file", str(rejects), "--format", "json")
    report = _json(result)
    assert report["inserted"] == 1 and report["rejected"] == 2
    assert "line 3" in result.stderr and "input_tokens" in result.stderr
    lines = [json.loads(x) for x in rejects.read_text().splitlines()]
    assert [x["line"] for x in lines] == [3, 4]


def test_unknown_model_is_unpriced_then_repriced(run, tmp_path: Path) -> None:
    records = tmp_path / "r.csv"
    records.write_text(
        "id,timestamp,provider,model,input_tokens,output_tokens,requests,team\n"
        "1,2026-01-05T00:00:00Z,acme-ai,acme-large,1000000,1000000,1,a\n"
    )
    run("ingest", "records", str(records))
    (row,) = _json(run("report", "costs", "--since", "2000-01-01", "--format", "json"))
    assert row["cost"] is None and row["unpriced_records"] == 1  # never $0
    doctor = _json(run("doctor", "--format", "json"))
    assert not doctor["ok"] and "acme-large" in doctor["problems"][0]
    config = tmp_path / "aifinops.yaml"
    config.write_text(
        "prices:\n  - {provider: acme-ai, model: acme-large, input: 1.5, output: 4, effective_from: 2026-01-01}\n"
    )
    result = _json(run("reprice", "--format", "json", config=config))
    assert result["repriced"] == 1
    (row,) = _json(run("report", "costs", "--since", "2000-01-01", "--format", "json", config=config))
    assert Decimal(row["cost"]) == Decimal("5.5") and row["unpriced_records"] == 0
    assert row["requests"] == 1 and row["input_tokens"] == 1_000_000  # reversal + replacement net out
    assert _json(run("doctor", "--format", "json", config=config))["ok"]
    assert _json(run("reprice", "--format", "json", config=config))["repriced"] == 0


def test_prices_show(run) -> None:
    info = _json(run("prices", "show", "openai/gpt-4o-2024-08-06", "--format", "json"))
    assert info["prices"]["on_demand"]["input"] == "2.5" and info["source"].startswith("https://")
    table = run("prices", "show", "claude-sonnet-4-6").stdout
    assert "cache_write_1h" in table
    missing = run("prices", "show", "gpt-4oo", ok=False)
    assert missing.exit_code == 1 and "did you mean: gpt-4o" in missing.stderr


def test_usage_errors_and_missing_files(run, tmp_path: Path) -> None:
    result = run("ingest", "nope", "x.csv", ok=False)
    assert result.exit_code == 2
    result = run("report", "costs", "--grain", "fortnight", ok=False)
    assert result.exit_code == 2


def test_demo_without_serving(run, tmp_path: Path) -> None:
    result = run("demo", "--days", "2", "--scale", "0.02", "--no-serve")
    assert "demo ready" in result.stderr
    rows = _json(run("report", "costs", "--by", "team", "--since", "3d", "--format", "json"))
    assert len(rows) >= 6 and all(r["cost"] is not None for r in rows)
    config = tmp_path / "data" / "aifinops.yaml"  # the demo company's own config, beside its ledger
    assert "wrote the demo company's config" in result.stderr and "budgets:" in config.read_text()
    allocated = _json(
        run("report", "costs", "--by", "allocation", "--allocated", "--since", "3d", "--format", "json")
    )
    labels = {r["allocation"] for r in allocated}
    assert "direct" in labels and any(label.startswith(("shared:", "idle:")) for label in labels)
    config.write_text(config.read_text() + "# my edit\n")
    again = run("demo", "--days", "2", "--scale", "0.02", "--no-serve")
    assert "0 records added" in again.stderr and config.read_text().endswith(
        "# my edit\n"
    )  # never overwritten


def test_policy_validate_and_simulate(run, tmp_path: Path) -> None:
    good = tmp_path / "policy.yaml"
    good.write_text(
        "budgets:\n  - {name: tiny, period: day, amount: 0.01, hard: true}\n"
        "models:\n  - {scope: {team: legal}, deny: ['claude-opus-*'], route: {'claude-opus-*': claude-sonnet-4-6}}\n"
    )
    summary = _json(run("policy", "validate", str(good), "--format", "json"))
    assert summary["valid"] and summary["hard_budgets"] == 1 and summary["warnings"] == []
    bad = tmp_path / "bad.yaml"
    bad.write_text("budgets:\n  - {name: x, amount: 5, period: fortnight}\n")
    result = run("policy", "validate", str(bad), ok=False)
    assert result.exit_code == 1 and "bad.yaml:2: budgets[0].period" in result.stderr
    run("demo", "--days", "3", "--scale", "0.05", "--no-serve")
    findings = _json(run("policy", "simulate", str(good), "--since", "4d", "--format", "json"))
    kinds = {f["kind"] for f in findings}
    assert "budget" in kinds and "budget_alert" in kinds
    blocked = next(f for f in findings if f["kind"] == "budget")
    assert blocked["calls_blocked"] > 0 and Decimal(blocked["cost_not_spent"]) > 0
    table = run("policy", "simulate", str(good), "--since", "4d").stdout
    assert "blocked" in table


def test_export_focus_matches_the_report(run, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    run("ingest", "records", str(INGEST / "records.csv"))
    out = tmp_path / "focus.parquet"
    result = _json(run("export", "focus", "--since", "2000-01-01", "--out", str(out), "--format", "json"))
    (total,) = _json(run("report", "costs", "--since", "2000-01-01", "--sources", "all", "--format", "json"))
    table = pq.read_table(out)
    assert table.num_rows == result["rows"] == total["records"]
    assert Decimal(result["effective_cost"]) == Decimal(total["effective_cost"])
    assert (
        table.column_names[:2] == ["AvailabilityZone", "BilledCost"] and "x_InputTokens" in table.column_names
    )
