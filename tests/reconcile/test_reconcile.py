"""Reconciliation: hand-built provider-days where the right verdict and the difference are known exactly.

gpt-4o-mini costs $0.15 per million input tokens and $0.60 per million output tokens, so a call of 100,000
input and 10,000 output tokens costs $0.015 + $0.006 = $0.021, and ten of them $0.21.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from aifinops.api.server import create_server
from aifinops.app import App
from aifinops.cli.main import cli
from aifinops.core.errors import InputError
from aifinops.core.settings import Settings
from aifinops.reconcile import Tolerance
from tests.factories import rec

D = [datetime(2026, 3, d, 10, tzinfo=UTC) for d in range(1, 11)]


def _calls(day: int, n: int = 10, *, source: str = "gateway", model: str = "gpt-4o-mini", **kw):
    return [
        rec(
            f"{source}-{day}-{model}-{i}",
            source=source,
            at=D[day] + timedelta(minutes=i),
            model=model,
            input_tokens=100_000,
            output_tokens=10_000,
            list_cost=None,
            effective_cost=None,
            billed_cost=None,
            cost_status="unpriced",
            **kw,
        )
        for i in range(n)
    ]


def _report(day: int, source: str, *, model: str | None = "gpt-4o-mini", cost: str | None = None, **kw):
    fields = {"input_tokens": 0, "output_tokens": 0, "requests": 0}
    fields.update(kw)
    money = (
        {"list_cost": None, "effective_cost": None, "billed_cost": None, "cost_status": "unpriced"}
        if cost is None
        else {k: Decimal(cost) for k in ("list_cost", "effective_cost", "billed_cost")}
        | {"cost_status": "reported"}
    )
    return rec(f"{source}-{day}-{model}", source=source, at=D[day], model=model, **fields, **money)


USAGE = {"input_tokens": 1_000_000, "output_tokens": 100_000, "requests": 10}


@pytest.fixture(scope="module")
def app() -> App:
    app = App(Settings(), None)
    records = []
    records += _calls(1) + [_report(1, "openai-usage", **USAGE)]  # agrees
    records += _calls(2) + [  # the provider saw 5 more calls
        _report(2, "openai-usage", input_tokens=1_500_000, output_tokens=150_000, requests=15)
    ]
    records += _calls(3) + [_report(3, "openai-usage", **USAGE), _report(3, "openai-costs", cost="0.189")]
    records += _calls(4, 5, model="acme-private") + [
        _report(4, "openai-costs", model="acme-private", cost="1")
    ]
    cut = _calls(5)
    for r in cut[:2]:
        r.output_tokens = 0
        r.tags = {"usage_estimated": "true"}
    records += cut + [_report(5, "openai-usage", **USAGE)]
    records += _calls(6)  # no provider report: nothing to compare
    records += _calls(7) + _calls(7, source="otlp") + [_report(7, "openai-usage", **USAGE)]
    records += _calls(8) + [
        _report(8, "openai-usage", input_tokens=500_000, output_tokens=50_000, requests=5)
    ]
    records += (
        _calls(9)
        + _calls(9, 5, model="gpt-4o-mini-2024-07-18")
        + [_report(9, "openai-costs", model=None, cost="0.315")]
    )
    app.append(records)
    return app


def _rows(app: App, **kw) -> dict[date, dict]:
    result = app.reconciliation(since=D[0], **kw)
    return {(r["day"], r["model"]): r for r in result["rows"]}


def test_each_day_gets_the_right_verdict_and_exact_difference(app: App) -> None:
    rows = _rows(app)
    ok = rows[(date(2026, 3, 2), "gpt-4o-mini")]
    assert (ok["status"], ok["metered_cost"], ok["reported_cost"]) == ("ok", Decimal("0.21"), Decimal("0.21"))

    bypass = rows[(date(2026, 3, 3), "gpt-4o-mini")]
    assert bypass["cause"] == "bypassed_gateway"
    assert bypass["difference"] == Decimal("0.315") - Decimal("0.21")
    assert "550,000 more tokens and 5 more requests" in bypass["detail"]

    price = rows[(date(2026, 3, 4), "gpt-4o-mini")]
    assert (price["cause"], price["difference"], price["reported_source"]) == (
        "price_change",
        Decimal("-0.021"),
        "openai-costs",
    )

    unpriced = rows[(date(2026, 3, 5), "acme-private")]
    assert unpriced["cause"] == "unpriced_model" and unpriced["difference"] == Decimal(1)
    assert "5 metered record(s) have no price" in unpriced["detail"]

    cut = rows[(date(2026, 3, 6), "gpt-4o-mini")]
    assert cut["cause"] == "missing_stream_usage" and cut["difference"] == Decimal("0.012")

    assert not any(day == date(2026, 3, 7) for day, _ in rows)  # metered only: nothing to compare

    both = rows[(date(2026, 3, 8), "gpt-4o-mini")]  # gateway and OTLP saw the same calls: read one
    assert (both["status"], both["metered_cost"], both["metered_source"]) == (
        "ok",
        Decimal("0.21"),
        "gateway",
    )

    late = rows[(date(2026, 3, 9), "gpt-4o-mini")]
    assert late["cause"] == "report_incomplete" and late["difference"] == Decimal("-0.105")

    per_day = rows[(date(2026, 3, 10), None)]  # a cost report without models: compared per provider-day
    assert (per_day["status"], per_day["metered_cost"]) == ("ok", Decimal("0.315"))


def test_summary_totals_and_flagged_only(app: App) -> None:
    result = app.reconciliation(since=D[0], flagged_only=True)
    assert {r["cause"] for r in result["rows"]} == {
        "bypassed_gateway",
        "price_change",
        "unpriced_model",
        "missing_stream_usage",
        "report_incomplete",
    }
    [openai] = result["summary"]
    assert openai["flagged"] == 5 and openai["days"] == 8
    assert openai["difference"] == sum(
        (r["difference"] for r in app.reconciliation(since=D[0])["rows"]), Decimal(0)
    )
    assert openai["causes"]["price_change"] == 1


def test_tolerance_decides_what_is_flagged(app: App) -> None:
    loose = _rows(app, tolerance_amount=Decimal("0.05"))
    assert loose[(date(2026, 3, 6), "gpt-4o-mini")]["status"] == "ok"  # $0.012 is within $0.05
    assert loose[(date(2026, 3, 3), "gpt-4o-mini")]["status"] == "flagged"
    assert (
        Tolerance(Decimal(0), Decimal(10)).exceeded(Decimal("0.02"), Decimal("0.21"), Decimal("0.23"))
        is False
    )
    with pytest.raises(InputError, match="negative"):
        app.reconciliation(tolerance_amount=Decimal(-1))


def test_api_and_cli(app: App, tmp_path) -> None:
    client = TestClient(create_server(app))
    body = client.get("/api/v1/reconciliation", params={"since": "2026-03-01", "flagged_only": "true"}).json()
    assert len(body["rows"]) == 5 and body["rows"][0]["cause"] == "unpriced_model"
    assert body["rows"][0]["difference"] in ("1", "1.000000000000", 1)
    bad = client.get("/api/v1/reconciliation", params={"since": "yesterday-ish"})
    assert bad.status_code == 400 and "since" in bad.json()["error"]["message"]

    data = tmp_path / "data"
    cli_app = App(Settings(), data)
    cli_app.append(
        _calls(2) + [_report(2, "openai-usage", input_tokens=1_500_000, output_tokens=150_000, requests=15)]
    )
    cli_app.close()
    runner = CliRunner()
    out = runner.invoke(
        cli, ["--data-dir", str(data), "report", "reconcile", "--since", "2026-03-01", "--format", "json"]
    )
    assert out.exit_code == 0, out.output
    [row] = json.loads(out.output)["rows"]
    assert row["cause"] == "bypassed_gateway" and Decimal(str(row["difference"])) == Decimal("0.105")
    table = runner.invoke(cli, ["--data-dir", str(data), "report", "reconcile", "--since", "2026-03-01"])
    assert table.exit_code == 0 and "bypassed_gateway" in table.output and "$0.32" in table.output
