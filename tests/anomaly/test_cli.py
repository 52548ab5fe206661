"""`aifinops anomalies ...` and `aifinops forecast ...` on a data folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from aifinops.app import App
from aifinops.cli.main import cli
from aifinops.core.settings import Settings
from tests.factories import rec


def _folder(tmp_path: Path) -> Path:
    """Three weeks of hourly spend for two teams, then a $50 burst for search an hour ago."""
    app = App(Settings(), tmp_path)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    records = []
    for h in range(21 * 24):
        at = now - timedelta(hours=21 * 24 - h)
        for team in ("search", "legal"):
            cost = Decimal("0.50") if team == "search" else Decimal("0.20")
            records.append(
                rec(f"{team}{h}", at=at, team=team, effective_cost=cost, list_cost=cost, billed_cost=cost)
            )
    for k in range(50):
        at = now - timedelta(minutes=30) + timedelta(seconds=30 * k)
        records.append(
            rec(
                f"b{k}",
                at=at,
                team="search",
                effective_cost=Decimal(1),
                list_cost=Decimal(1),
                billed_cost=Decimal(1),
            )
        )
    app.append(records)
    app.close()
    return tmp_path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_detect_list_ack_resolve(tmp_path: Path) -> None:
    d = str(_folder(tmp_path))
    code, out = _run("--data-dir", d, "anomalies", "detect", "--format", "json")
    assert code == 0 and json.loads(out)["anomalies_new"] == 1
    code, out = _run("--data-dir", d, "anomalies", "list", "--format", "json")
    [row] = json.loads(out)
    assert row["kind"] == "spend_spike" and row["owner"] == "search"
    assert 45 <= float(row["impact"]) <= 50.5
    code, out = _run(
        "--data-dir", d, "anomalies", "ack", row["anomaly_id"], "--by", "ana", "--format", "json"
    )
    assert code == 0 and json.loads(out)["status"] == "acknowledged"
    code, out = _run("--data-dir", d, "anomalies", "resolve", row["alert_id"], "--format", "json")
    assert json.loads(out)["status"] == "resolved"
    result = CliRunner().invoke(cli, ["--data-dir", d, "anomalies", "ack", row["alert_id"]])
    assert result.exit_code == 1 and "resolved" in result.output
    code, out = _run("--data-dir", d, "anomalies", "alerts", "--status", "resolved", "--format", "json")
    assert [a["owner"] for a in json.loads(out)] == ["search"]


def test_forecast_by_team_and_scenario(tmp_path: Path) -> None:
    d = str(_folder(tmp_path))
    code, out = _run("--data-dir", d, "forecast", "--by", "team", "--horizon", "7", "--format", "json")
    assert code == 0
    body = json.loads(out)
    legal = next(s for s in body["series"] if s["key"] == {"team": "legal"})
    assert float(legal["days"][0]["mean"]) == __import__("pytest").approx(4.8, rel=0.02)  # 24 x $0.20 a day
    code, out = _run("--data-dir", d, "forecast", "--by", "team")
    assert code == 0 and "legal" in out
    code, out = _run(
        "--data-dir",
        d,
        "forecast",
        "scenario",
        "--model",
        "gpt-4o-mini",
        "--requests-per-day",
        "1000",
        "--input-tokens",
        "500",
        "--output-tokens",
        "100",
        "--format",
        "json",
    )
    assert code == 0 and json.loads(out)["percentile"] == 80.0
    bad = CliRunner().invoke(cli, ["--data-dir", d, "forecast", "--budget", "missing"])
    assert bad.exit_code == 1 and "no budget named 'missing'" in bad.output


def test_evaluate_prints_the_figures_and_exit_status(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "--data-dir",
            str(tmp_path),
            "anomalies",
            "evaluate",
            "--seed",
            "5",
            "--owners",
            "7",
            "--format",
            "json",
        ],
    )
    body = json.loads(result.output)
    assert set(body) >= {
        "detection_rate",
        "false_alerts_per_owner_week",
        "mttd_intervals",
        "spike_mttd_intervals",
        "forecast_mape",
    }
    assert result.exit_code == (0 if body["meets_targets"] else 1)
