"""The value ledger: ROI, cost per outcome and value per dollar, checked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from aifinops.app import App
from aifinops.core.errors import InputError
from aifinops.core.money import quantize
from aifinops.core.records import Outcome
from aifinops.core.settings import Settings
from tests.factories import rec

T0 = datetime(2026, 3, 2, tzinfo=UTC)
UNTIL = T0 + timedelta(days=30)


def _cost(i: int, day: float, amount: str, **kw: object) -> object:
    value = Decimal(amount)
    return rec(
        f"c{i}", at=T0 + timedelta(days=day), list_cost=value, effective_cost=value, billed_cost=value, **kw
    )


def _outcome(i: int, day: float, count: int, value: str | None, **kw: object) -> Outcome:
    return Outcome(
        outcome_id=f"o{i}",
        source="test",
        occurred_at=T0 + timedelta(days=day),
        outcome_type="ticket_resolved",
        count=count,
        value=Decimal(value) if value is not None else None,
        **kw,
    )


@pytest.fixture()
def app() -> App:
    app = App(Settings(value={"initiatives": {"helpdesk": {"features": ["triage"]}}}), None)
    # support-bot: $40 in the first half, $60 in the second; 20 outcomes worth $5, 10 worth $5
    app.append(
        [
            _cost(1, 2, "40", feature="support-bot", team="support"),
            _cost(2, 20, "60", feature="support-bot", team="support"),
        ]
    )
    app.ledger.append_outcomes(
        [
            _outcome(1, 3, 20, "100", feature="support-bot", team="support", initiative="deflection"),
            _outcome(2, 21, 10, "50", feature="support-bot", team="support", initiative="deflection"),
        ]
    )
    # triage: $10, 4 counted (unvalued) outcomes; initiative from the config mapping
    app.append([_cost(3, 5, "10", feature="triage", team="support")])
    app.ledger.append_outcomes([_outcome(3, 6, 4, None, feature="triage", team="support")])
    # pilot: $80 and nothing to show
    app.append([_cost(4, 10, "80", feature="pilot", team="legal", tags={"initiative": "clause-pilot"})])
    return app


def _by(rows: list[dict], key: str) -> dict:
    return {r[key]: r for r in rows}


def test_roi_cost_per_outcome_and_value_per_dollar(app: App) -> None:
    rows = _by(app.value_summary(by=["feature"], since=T0, until=UNTIL), "feature")
    bot = rows["support-bot"]
    assert bot["cost"] == Decimal(100) and bot["value"] == Decimal(150) and bot["outcomes"] == 30
    assert bot["roi"] == pytest.approx(0.5)  # (150 - 100) / 100
    assert bot["cost_per_outcome"] == quantize(Decimal(100) / 30)  # at 12 places
    assert bot["value_per_dollar"] == pytest.approx(1.5)
    # value per dollar: 100/40 = 2.5 in the first half, 50/60 = 0.83 in the second
    assert bot["trend"] == "falling"
    assert bot["time_to_value_days"] == 1.0  # first spend day 2, first outcome day 3
    triage = rows["triage"]
    assert triage["value"] is None and triage["roi"] is None and triage["cost_per_outcome"] == Decimal("2.5")
    pilot = rows["pilot"]
    assert pilot["outcomes"] == 0 and pilot["cost_per_outcome"] is None


def test_by_initiative_uses_tags_outcomes_and_the_config_mapping(app: App) -> None:
    rows = _by(app.value_summary(by=["initiative"], since=T0, until=UNTIL), "initiative")
    assert rows["helpdesk"]["cost"] == Decimal(10) and rows["helpdesk"]["outcomes"] == 4
    assert rows["clause-pilot"]["cost"] == Decimal(80) and rows["clause-pilot"]["outcomes"] == 0
    assert rows["deflection"]["value"] == Decimal(150)


def test_zombies(app: App) -> None:
    [zombie] = app.zombies(until=UNTIL, window_days=30)
    assert zombie["initiative"] == "clause-pilot"
    assert zombie["monthly_cost"] == Decimal(80)
    assert zombie["reason"] == "no outcomes in 30 days"


def test_bad_dimension_is_an_input_error(app: App) -> None:
    with pytest.raises(InputError, match="group by"):
        app.value_summary(by=["model"])


def test_record_outcomes_validates_everything(app: App) -> None:
    good = {
        "occurred_at": "2026-03-10T00:00:00Z",
        "outcome_type": "lead",
        "value": "40",
        "feature": "pilot",
        "id": "crm-1",
    }
    assert app.record_outcomes([good]) == {"inserted": 1, "duplicates": 0}
    assert app.record_outcomes([good]) == {"inserted": 0, "duplicates": 1}
    with pytest.raises(InputError) as info:
        app.record_outcomes([{"outcome_type": "x"}, {**good, "value": "-3"}, {**good, "colour": "red"}])
    details = " ".join(info.value.details)
    assert (
        "occurred_at: required" in details and "negative" in details and "unknown field(s): colour" in details
    )
    rows = _by(app.value_summary(by=["feature"], since=T0, until=UNTIL), "feature")
    assert rows["pilot"]["value"] == Decimal(40)


def test_maturity_reads_config_and_data(app: App) -> None:
    crawl = app.maturity()
    assert crawl["stage"] == "crawl" and len(crawl["next_steps"]) == 3
    app.reload(
        Settings(
            budgets=[{"name": "b1", "amount": 10, "hard": True}, {"name": "b2", "amount": 5}],
            models=[{"scope": {"team": "legal"}, "allow": ["gpt-4o-mini"]}],
            alerts={
                "channels": {"ops": {"type": "webhook", "url": "http://x"}},
                "routes": [{"channels": ["ops"]}],
            },
        )
    )
    stages = {c["capability"]: c["stage"] for c in app.maturity()["capabilities"]}
    assert stages["budgets"] == "run"  # 2 budgets, one hard: 3
    assert stages["guardrails"] == "walk" and stages["alerts"] == "walk"
