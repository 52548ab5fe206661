"""`aifinops ingest outcomes`: CSV and JSONL, bad rows named, re-imports are no-ops."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from aifinops.cli.main import cli
from aifinops.core.errors import InputError
from aifinops.ingest.outcomes import read_outcomes

CSV = """occurred_at,outcome_type,count,value,feature,initiative,tag.channel
2026-03-03T10:00:00Z,ticket_resolved,3,28.50,support-bot,deflection,email
2026-03-04,lead_qualified,,40,lead-scoring,ai-sdr,
not-a-time,ticket_resolved,1,,support-bot,,
2026-03-05,,1,,support-bot,,
"""


def test_csv_rows_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.csv"
    path.write_text(CSV)
    items = list(read_outcomes(path))
    good = [i for i in items if not isinstance(i, InputError)]
    bad = [i for i in items if isinstance(i, InputError)]
    assert [o.count for o in good] == [3, 1]
    assert good[0].value == Decimal("28.50") and good[0].tags == {"channel": "email"}
    assert good[1].initiative == "ai-sdr" and good[1].value == Decimal(40)
    assert [(e.line, e.reason.split(":")[0]) for e in bad] == [(4, "occurred_at"), (5, "outcome_type")]


def test_not_an_outcomes_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="not an outcomes file"):
        list(read_outcomes(path))


def test_cli_ingest_outcomes_jsonl_then_report_value(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    rows = [
        {
            "id": "a",
            "timestamp": "2026-03-03T00:00:00Z",
            "type": "deal_won",
            "value": 1000,
            "customer": "acme",
        },
        {
            "id": "b",
            "timestamp": "2026-03-04T00:00:00Z",
            "type": "deal_won",
            "value": "250.5",
            "customer": "acme",
        },
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n")
    runner = CliRunner()
    args = ["--data-dir", str(tmp_path / "d"), "ingest", "outcomes", str(path), "--format", "json"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["inserted"], data["rejected"]) == (2, 1)
    again = json.loads(runner.invoke(cli, args).stdout)
    assert (again["inserted"], again["duplicates"]) == (0, 2)
    report = runner.invoke(
        cli,
        [
            "--data-dir",
            str(tmp_path / "d"),
            "report",
            "value",
            "--by",
            "customer",
            "--since",
            "2026-03-01",
            "--until",
            "2026-03-31",
            "--format",
            "json",
        ],
    )
    assert report.exit_code == 0, report.output
    [row] = json.loads(report.stdout)
    assert (
        row["customer"] == "acme" and Decimal(str(row["value"])) == Decimal("1250.5") and row["outcomes"] == 2
    )
