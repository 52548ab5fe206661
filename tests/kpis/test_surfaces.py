"""`report kpis`, `report statement` (every format) and the API routes, on the hand ledger and the demo."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from aifinops.api import create_server
from aifinops.app import App
from aifinops.cli.main import cli
from aifinops.core.settings import Settings
from aifinops.kpis import KPIS
from tests.kpis.conftest import hand_outcomes, hand_records

D = Decimal
CONFIG = "budgets:\n  - {name: search-monthly, scope: {team: search}, period: month, amount: 50}\n"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    app = App.open(None, tmp_path / "data")
    app.ledger.append(hand_records())
    app.ledger.append_outcomes(hand_outcomes())
    app.close()
    (tmp_path / "aifinops.yaml").write_text(CONFIG)
    return tmp_path


def _run(data_dir: Path, *args: str) -> str:
    base = ["--config", str(data_dir / "aifinops.yaml"), "--data-dir", str(data_dir / "data")]
    result = CliRunner().invoke(cli, [*base, *args])
    assert result.exit_code == 0, result.output
    return result.output


def _fail(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir / "data"), *args])
    return result.exit_code, result.output


def test_cli_kpis_json_csv_table(data_dir: Path) -> None:
    window = ["--since", "2026-02-28", "--until", "2026-03-03"]
    rows = json.loads(_run(data_dir, "report", "kpis", *window, "--by", "team", "--format", "json"))
    search = next(r for r in rows if r["team"] == "search")
    assert search["cost"] == "28.01092" and search["cost_per_training_run"] == "13"
    text = _run(data_dir, "report", "kpis", *window, "--by", "team", "--format", "csv")
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert {r["team"] for r in parsed} == {"search", "ads"}
    ads = next(r for r in parsed if r["team"] == "ads")
    assert json.loads(ads["notes"])["cost_per_training_run"] == "no training runs"
    table = _run(data_dir, "report", "kpis", *window)
    assert "cost_per_inference" in table and "0.402842" in table
    one = json.loads(
        _run(data_dir, "report", "kpis", *window, "--kpis", "cost_per_api_call", "--format", "json")
    )
    assert one == [{"cost": "28.01442", "cost_per_api_call": "0.335736666667", "notes": {}}]


def test_cli_kpi_definitions(data_dir: Path) -> None:
    rows = json.loads(_run(data_dir, "report", "kpis", "--definitions", "--format", "json"))
    assert [r["name"] for r in rows] == [k.name for k in KPIS]


def test_cli_kpis_bad_input(data_dir: Path) -> None:
    code, output = _fail(data_dir, "report", "kpis", "--kpis", "nope")
    assert code == 1 and "unknown KPI" in output


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "html"])
def test_cli_statement_formats(data_dir: Path, fmt: str) -> None:
    out = _run(data_dir, "report", "statement", "--team", "search", "--month", "2026-03", "--format", fmt)
    if fmt == "json":
        data = json.loads(out)
        assert data["total_cost"] == "28.01092" and data["budgets"][0]["budget_cost"] == "50"
    elif fmt == "csv":
        lines = list(csv.DictReader(io.StringIO(out)))
        figures = {(r["section"], r["item"]): r for r in lines}
        assert figures[("total", "total")]["cost"] == "28.01"
        assert figures[("category", "training")]["cost"] == "26.00"
        assert figures[("budget", "search-monthly")]["budget_cost"] == "50.00"
        assert figures[("kpi", "cost_per_training_run")]["value"] == "13"
    elif fmt == "html":
        assert out.startswith("<!doctype html>") and "@media print" in out
        assert "$28.01" in out and "$26.00" in out and "search-monthly" in out and "$50.00" in out
    else:
        assert "28.01" in out and "search-monthly" in out and "cost_per_training_run" in out


def test_cli_statement_out_file_and_errors(data_dir: Path) -> None:
    target = data_dir / "statement.html"
    _run(
        data_dir,
        "report",
        "statement",
        "--team",
        "search",
        "--month",
        "2026-03",
        "--format",
        "html",
        "--out",
        str(target),
    )
    assert "$28.01" in target.read_text()
    code, output = _fail(data_dir, "report", "statement", "--team", "nobody", "--month", "2026-03")
    assert code == 1 and "nobody" in output
    code, output = _fail(data_dir, "report", "statement", "--team", "search", "--month", "03/2026")
    assert code == 1 and "YYYY-MM" in output
    code, _ = _fail(data_dir, "report", "statement", "--month", "2026-03")
    assert code == 2


@pytest.fixture
def client() -> TestClient:
    app = App(
        Settings.model_validate({"budgets": [{"name": "b", "scope": {"team": "search"}, "amount": 50}]}), None
    )
    app.ledger.append(hand_records())
    app.ledger.append_outcomes(hand_outcomes())
    with TestClient(create_server(app)) as c:
        yield c
    app.close()


def test_api_kpis(client: TestClient) -> None:
    params = {"since": "2026-02-28", "until": "2026-03-03", "by": "team", "kpis": "cost_per_inference"}
    rows = client.get("/api/v1/kpis", params=params).json()
    assert {r["team"]: r["cost_per_inference"] for r in rows} == {
        "search": "0.5026775",
        "ads": "0.0035",
    }  # 2.01071 / 4
    definitions = client.get("/api/v1/kpis/definitions").json()
    assert len(definitions) == len(KPIS) and all("formula" in d for d in definitions)
    bad = client.get("/api/v1/kpis", params={"kpis": "nope"})
    assert bad.status_code == 400 and "unknown KPI" in bad.json()["error"]["message"]
    assert client.get("/api/v1/kpis", params={"grain": "fortnight"}).status_code in (400, 422)


def test_api_statement_formats(client: TestClient) -> None:
    data = client.get("/api/v1/statements/search/2026-03").json()
    assert data["total_cost"] == "28.01092" and data["budgets"][0]["actual_cost"] == "28.01092"
    text = client.get("/api/v1/statements/search/2026-03", params={"format": "csv"})
    assert text.headers["content-type"].startswith("text/csv") and "total,total,28.01" in text.text
    page = client.get("/api/v1/statements/search/2026-03", params={"format": "html"})
    assert page.headers["content-type"].startswith("text/html") and "$28.01" in page.text
    feature = client.get("/api/v1/statements/answers/2026-03", params={"dimension": "feature"}).json()
    assert feature["total_cost"] == "0.01071"
    missing = client.get("/api/v1/statements/nobody/2026-03")
    assert missing.status_code == 404 and set(missing.json()) == {"error"}
    assert client.get("/api/v1/statements/search/2026-3").status_code == 400


def test_demo_statement_html_shows_the_ledger_total(demo_app: App, demo_month: str) -> None:
    from aifinops.core.money import cents, format_money

    html = demo_app.statement_document("platform", demo_month, fmt="html")
    total = demo_app.statement("platform", demo_month)["total_cost"]
    assert total > 0 and format_money(cents(total)) in html
    for item in demo_app.statement("platform", demo_month)["by_category"]:
        assert item["category"] in html


def test_cli_kpis_table_by_group_shows_a_readable_set(data_dir: Path) -> None:
    out = _run(data_dir, "report", "kpis", "--since", "2026-02-28", "--until", "2026-03-03", "--by", "team")
    assert "0.5026775" in out and "cost_per_api" not in out  # search cost_per_inference; api call: json only


@pytest.mark.skipif(
    not any(__import__("shutil").which(b) for b in ("chromium", "chromium-browser", "google-chrome")),
    reason="no Chromium to print with",
)
def test_cli_statement_pdf(data_dir: Path) -> None:
    target = data_dir / "statement.pdf"
    args = ["report", "statement", "--team", "search", "--month", "2026-03", "--format", "pdf"]
    _run(data_dir, *args, "--out", str(target))
    assert target.read_bytes().startswith(b"%PDF")
    code, _ = _fail(data_dir, *args)
    assert code == 2  # pdf needs --out


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/kpis", {"since": "99999999999d"}),
        ("/api/v1/kpis", {"by": "tag:"}),
        ("/api/v1/kpis", {"where": "team"}),
        ("/api/v1/statements/search/0000-01", {}),
        ("/api/v1/statements/search/9999-12", {}),
        ("/api/v1/statements/search/2026-03", {"format": "docx"}),
        ("/api/v1/statements/search/2026-03", {"dimension": "galaxy"}),
    ],
)
def test_api_bad_input_is_a_400(client: TestClient, path: str, params: dict) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 400, response.text
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_api_kpis_of_self_hosted_requests_have_no_token_spend(client: TestClient) -> None:
    params = {"since": "2026-02-28", "until": "2026-03-03", "where": "cost_in=gpu"}
    (row,) = client.get("/api/v1/kpis", params=params).json()
    assert row["cost"] == "0" and row["cost_per_token"] is None
    assert row["notes"]["cost_per_token"] == "no token-metered spend"
