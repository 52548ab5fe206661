"""Statements: the hand ledger (every figure by hand) and the demo company (figures against direct SQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from aifinops.app import App
from aifinops.core.errors import InputError, NotFound
from aifinops.core.settings import Settings
from tests.factories import rec
from tests.kpis.conftest import hand_outcomes, hand_records

D = Decimal
BUDGETS = [
    {"name": "search-monthly", "scope": {"team": "search"}, "period": "month", "amount": 50},
    {"name": "search-quarterly", "scope": {"team": "search"}, "period": "quarter", "amount": 90},
    {"name": "s-daily", "scope": {"team": "s*"}, "period": "day", "amount": 1},
    {"name": "search-gpt-4o", "scope": {"team": "search", "model": "gpt-4o"}, "period": "month", "amount": 1},
    {"name": "ads-monthly", "scope": {"team": "ads"}, "period": "month", "amount": 10},
]


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> App:
    for name in ("gpu_utilization", "anomaly_kpis", "value_summary"):
        monkeypatch.setattr(App, name, lambda *a, **k: (_ for _ in ()).throw(NotImplementedError()))
    application = App(Settings.model_validate({"budgets": BUDGETS}), None)
    extra = [
        rec("feb", at=datetime(2026, 2, 10, tzinfo=UTC), team="search", effective_cost=D("5.00")),
        rec("oct", at=datetime(2025, 10, 31, 23, tzinfo=UTC), team="search", effective_cost=D("1.00")),
        rec("sep", at=datetime(2025, 9, 30, tzinfo=UTC), team="search", effective_cost=D("100.00")),
    ]
    application.ledger.append(hand_records() + extra)
    application.ledger.append_outcomes(hand_outcomes())
    yield application
    application.close()


def test_hand_statement_totals_and_trend(app: App) -> None:
    st = app.statement("search", "2026-03")
    assert (st["owner"], st["dimension"], st["month"]) == ("search", "team", "2026-03")
    assert st["total_cost"] == D("28.01092")  # every search record of the hand ledger is in March
    assert st["previous_month_cost"] == D("5.00")
    assert st["change_cost"] == D("23.01092") and st["change"] == pytest.approx(23.01092 / 5)
    assert [(t["month"], t["cost"]) for t in st["trend"]] == [
        ("2025-10", D("1.00")),
        ("2025-11", 0),
        ("2025-12", 0),
        ("2026-01", 0),
        ("2026-02", D("5.00")),
        ("2026-03", D("28.01092")),
    ]


def test_hand_statement_breakdowns(app: App) -> None:
    st = app.statement("search", "2026-03")
    assert [(r["category"], r["cost"]) for r in st["by_category"]] == [
        ("training", D("26")),
        ("self_hosted_inference", D("2")),
        ("hosted_inference", D("0.01071")),
        ("evaluation", D("0.00021")),
    ]
    assert sum(r["cost"] for r in st["by_model"]) == st["total_cost"]
    features = {r["feature"]: r["cost"] for r in st["by_feature"]}
    assert features == {None: D("28.00"), "answers": D("0.01071"), "evals": D("0.00021")}
    assert sum(r["share"] for r in st["by_category"]) == pytest.approx(1.0)


def test_hand_statement_budgets(app: App) -> None:
    budgets = {b["name"]: b for b in app.statement("search", "2026-03")["budgets"]}
    assert set(budgets) == {"search-monthly", "search-quarterly", "s-daily", "search-gpt-4o"}
    monthly = budgets["search-monthly"]
    assert (monthly["budget_cost"], monthly["actual_cost"]) == (D(50), D("28.01092"))
    assert monthly["remaining_cost"] == D("21.98908") and monthly["used"] == pytest.approx(28.01092 / 50)
    assert budgets["search-quarterly"]["budget_cost"] == D(31)  # 90 x 31/90 days
    assert budgets["s-daily"]["budget_cost"] == D(31) and "pro-rated" in budgets["s-daily"]["note"]
    assert budgets["search-gpt-4o"]["actual_cost"] == D("0.0105")  # r1 + r2: the budget's whole scope
    assert budgets["search-gpt-4o"]["used"] == pytest.approx(0.0105)


def test_hand_statement_kpis(app: App) -> None:
    kpis = {k["name"]: k for k in app.statement("search", "2026-03")["kpis"]}
    assert kpis["cost_per_training_run"]["value"] == D(13)
    assert kpis["cost_per_outcome"]["value"] == D("9.336973333333")  # 28.01092 / 3 (o1)
    assert kpis["gpu_utilization_rate"]["value"] is None and kpis["gpu_utilization_rate"]["note"]


def test_statement_of_another_dimension_and_empty_month(app: App) -> None:
    st = app.statement("answers", "2026-03", dimension="feature")
    assert st["total_cost"] == D("0.01071") and st["budgets"] == []
    assert any("no budget" in n for n in st["notes"])
    empty = app.statement("ads", "2026-07")
    assert empty["total_cost"] == 0 and empty["change"] is None
    assert all(k["value"] is None for k in empty["kpis"])
    assert empty["budgets"][0]["actual_cost"] == 0


@pytest.mark.parametrize(
    ("args", "error", "needle"),
    [
        (("nobody", "2026-03"), NotFound, "nobody"),
        (("search", "2026-13"), InputError, "YYYY-MM"),
        (("search", "March"), InputError, "YYYY-MM"),
        (("search", "2026-03", "galaxy"), InputError, "dimension"),
        (("", "2026-03"), InputError, "owner"),
    ],
)
def test_statement_bad_input(app: App, args: tuple, error: type, needle: str) -> None:
    with pytest.raises(error, match=needle):
        app.statement(*args)


def test_demo_statement_matches_the_ledger(demo_app: App, demo_month: str) -> None:
    """The demo company's statement against direct SQL sums on the ledger."""
    start = datetime.strptime(demo_month, "%Y-%m").replace(tzinfo=UTC)
    end = start.replace(month=start.month % 12 + 1, year=start.year + (start.month == 12))
    for team in ("search", "platform", "legal"):
        st = demo_app.statement(team, demo_month)
        sql = "FROM records WHERE team = ? AND charge_period_start >= ? AND charge_period_start < ?"
        total = demo_app.ledger.query(f"SELECT sum(effective_cost) AS c {sql}", [team, start, end])[0]["c"]
        assert st["total_cost"] == total
        by_cat = demo_app.ledger.query(
            f"SELECT category, sum(effective_cost) AS c {sql} GROUP BY 1", [team, start, end]
        )
        assert {r["category"]: r["cost"] for r in st["by_category"]} == {
            r["category"]: r["c"] for r in by_cat
        }
        by_model = demo_app.ledger.query(
            f"SELECT model, sum(effective_cost) AS c {sql} GROUP BY 1", [team, start, end]
        )
        assert {r["model"]: r["cost"] for r in st["by_model"]} == {r["model"]: r["c"] for r in by_model}
        assert sum(r["cost"] for r in st["by_feature"]) == total
        runs = demo_app.ledger.query(
            f"SELECT count(DISTINCT tags['run_id']) AS n, sum(effective_cost) AS c {sql} AND category = 'training'",
            [team, start, end],
        )[0]
        kpis = {k["name"]: k["value"] for k in st["kpis"]}
        if runs["n"]:
            assert kpis["cost_per_training_run"] == (runs["c"] / runs["n"]).quantize(D("1e-12"))
        else:
            assert kpis["cost_per_training_run"] is None


def test_statement_kpis_next_to_the_previous_month(app: App) -> None:
    kpis = {k["name"]: k for k in app.statement("search", "2026-03")["kpis"]}
    # February: one 5.00 gpt-4o call (a hosted inference, no outcome)
    assert kpis["cost_per_inference"]["previous_value"] == D("5.00")
    assert kpis["cost_per_outcome"]["previous_value"] is None
