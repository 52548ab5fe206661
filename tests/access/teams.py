"""A ledger with several teams whose every string carries the team's name, so a leak is easy to spot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aifinops.app import App
from aifinops.core.records import Outcome
from aifinops.core.settings import Settings
from aifinops.core.spans import SpanRow
from tests.factories import rec

TEAMS = ("aubergine", "bravo", "chartreuse")
#: Each team's records cost this much per record (hand-picked so totals are easy to check).
COST = {"aubergine": Decimal("1.25"), "bravo": Decimal("2.50"), "chartreuse": Decimal("4.00")}
PER_TEAM = 6


def markers(team: str) -> list[str]:
    """Strings only ``team``'s data contains."""
    return [team, f"proj-{team}", f"feat-{team}", f"cust-{team}", f"user-{team}", f"model-{team}"]


def build_app(settings: Settings | None = None, data_dir: Any = None, *, days_ago: int = 2) -> App:
    """An App whose ledger holds records, outcomes and spans of every team in :data:`TEAMS`."""
    app = App(settings or Settings(), data_dir)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    records, outcomes, spans = [], [], []
    for t, team in enumerate(TEAMS):
        trace = f"{t + 1:032x}"
        for i in range(PER_TEAM):
            at = now - timedelta(days=days_ago, hours=i)
            cost = COST[team]
            records.append(
                rec(
                    f"{team}-{i}",
                    at=at,
                    team=team,
                    project=f"proj-{team}",
                    feature=f"feat-{team}",
                    customer=f"cust-{team}",
                    user=f"user-{team}",
                    model=f"model-{team}",
                    use_case=f"uc-{team}",
                    tags={"owner": f"owner-{team}"},
                    trace_id=trace,
                    span_id=f"{i + 1:016x}",
                    workflow=f"wf-{team}",
                    list_cost=cost,
                    effective_cost=cost,
                    billed_cost=cost,
                )
            )
        outcomes.append(
            Outcome(
                outcome_id=f"o-{team}",
                source="test",
                occurred_at=now - timedelta(days=days_ago),
                outcome_type=f"ticket-{team}",
                count=3,
                value=Decimal("10"),
                team=team,
                feature=f"feat-{team}",
            )
        )
        spans.append(
            SpanRow(
                trace_id=trace,
                span_id=f"{99:016x}",
                start_time=now - timedelta(days=days_ago, hours=1),
                end_time=now - timedelta(days=days_ago),
                name=f"agent-{team}",
                agent_name=f"agent-{team}",
                workflow_name=f"wf-{team}",
            )
        )
    app.ledger.append(records)
    app.ledger.append_outcomes(outcomes)
    app.ledger.append_spans(spans)
    _anomalies(app, now - timedelta(days=days_ago))
    return app


def _anomalies(app: App, at: datetime) -> None:
    """One stored anomaly and alert per team (the anomaly area's tables name the team as ``owner``)."""
    for team in TEAMS:
        app.ledger.execute(
            "INSERT INTO anomalies (anomaly_id, kind, owner, subject, started_at, detected_at, last_seen_at, "
            "currency, ongoing, explanation, alert_id) VALUES (?, 'spend_spike', ?, ?, ?, ?, ?, 'USD', false, ?, ?)",
            [f"an-{team}", team, f"feat-{team}", at, at, at, f"spike of feat-{team}", f"al-{team}"],
        )
        app.ledger.execute(
            "INSERT INTO alerts (alert_id, group_key, kind, owner, severity, status, title, currency, "
            "opened_at, updated_at, last_seen_at) VALUES (?, ?, 'spend_spike', ?, 'medium', 'open', ?, 'USD', "
            "?, ?, ?)",
            [f"al-{team}", f"g-{team}", team, f"spike of feat-{team}", at, at, at],
        )
