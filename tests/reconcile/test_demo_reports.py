"""The demo's provider usage reports: they agree with the gateway except for the notebook that bypassed it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aifinops.app import App
from aifinops.core.settings import Settings
from aifinops.demo.reports import NOTEBOOK

END = datetime(2026, 3, 20, 15, tzinfo=UTC)


def test_demo_reconciliation_finds_exactly_the_notebook_days() -> None:
    app = App(Settings(), None)
    from aifinops.demo import generate

    data = generate(5, days=16, end=END, scale=0.02)
    with app.ledger.transaction() as tx:
        for batch in data.batches:
            app.price(batch)
            tx.append(batch)
        reports = data.reports.records()
        app.price(reports)
        tx.append(reports)
    assert {r.source for r in reports} == {"openai-usage", "anthropic-usage"}
    assert max(r.charge_period_start for r in reports) < END.replace(hour=0)  # today is not reported yet

    result = app.reconciliation()
    flagged = [r for r in result["rows"] if r["status"] == "flagged"]
    expected_days = {(END - timedelta(days=d)).date() for d in NOTEBOOK.days_before_end}
    assert {r["day"] for r in flagged} == expected_days
    n = round(NOTEBOOK.requests * 0.02)
    for row in flagged:
        assert (row["cause"], row["model"]) == ("bypassed_gateway", NOTEBOOK.model)
        assert row["reported_requests"] - row["metered_requests"] == n
        assert row["reported_tokens"] - row["metered_tokens"] == n * (
            NOTEBOOK.input_tokens + NOTEBOOK.output_tokens
        )
    compared = [r for r in result["rows"] if r["status"] == "ok"]
    assert compared and all(r["reported_tokens"] == r["metered_tokens"] for r in compared)
