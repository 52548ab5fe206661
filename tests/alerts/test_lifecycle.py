"""Alert rules and the alert store: severity, routing, grouping, deduplication, lifecycle, config errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from aifinops.alerts import AlertService, AlertStore, check_transition, route, severity_of
from aifinops.alerts.lifecycle import slack_payload, webhook_payload
from aifinops.app import App
from aifinops.core.errors import Conflict, NotFound
from aifinops.core.settings import Settings
from aifinops.core.settings_alerts import AlertSettings, AnomalySettings

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
THRESHOLDS = {"medium": Decimal(50), "high": Decimal(250), "critical": Decimal(1000)}


def _anomaly(
    i: int = 0, *, kind: str = "spend_spike", owner: str = "search", impact: float = 60.0, **kw: object
) -> dict:
    start = NOW - timedelta(hours=3 - i)
    row = {
        "anomaly_id": f"an_{kind}_{owner}_{i}",
        "kind": kind,
        "owner": owner,
        "subject": owner,
        "started_at": start,
        "detected_at": start + timedelta(minutes=5),
        "last_seen_at": start + timedelta(minutes=30),
        "expected": 10.0,
        "observed": 10.0 + impact,
        "unit": "cost",
        "impact": impact,
        "explanation": f"spend of {owner} spiked",
        "ongoing": True,
        "details": {},
    }
    row.update(kw)
    return row


def test_severity_by_dollar_impact() -> None:
    assert severity_of(Decimal("49.99"), THRESHOLDS) == "low"
    assert severity_of(Decimal(50), THRESHOLDS) == "medium"
    assert severity_of(Decimal(999), THRESHOLDS) == "high"
    assert severity_of(Decimal(5000), THRESHOLDS) == "critical"


def test_routes_match_owner_globs_kinds_and_severity() -> None:
    s = AlertSettings.model_validate(
        {
            "channels": {
                "hook": {"type": "webhook", "url": "http://x/h"},
                "mail": {"type": "email", "to": ["a@b.c"]},
            },
            "routes": [
                {"owner": "search", "channels": ["hook"], "min_severity": "low"},
                {"owner": "*", "channels": ["mail", "hook"], "min_severity": "high"},
                {"owner": "s*", "kinds": ["budget_threshold"], "channels": ["mail"]},  # medium and up
            ],
        }
    )
    assert route(s, "search", "spend_spike", "low") == ["hook"]
    assert route(s, "search", "spend_spike", "high") == ["hook", "mail"]
    assert route(s, "legal", "spend_spike", "medium") == []
    assert route(s, "sales", "budget_threshold", "low") == []
    assert route(s, "sales", "budget_threshold", "medium") == ["mail"]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"channels": {"x": {"type": "webhook"}}}, "needs url"),
        ({"channels": {"x": {"type": "email"}}}, "needs to"),
        ({"channels": {"x": {"type": "pager", "url": "http://a"}}}, "type"),
        ({"routes": [{"owner": "a", "channels": ["nope"]}]}, "unknown channel"),
        ({"severity": {"medium": 500, "high": 100}}, "must be non-negative and rise"),
        ({"channel": {}}, "Extra inputs"),
    ],
)
def test_bad_alert_config_names_the_problem(section: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AlertSettings.model_validate(section)


def test_anomaly_resolution_must_divide_a_day() -> None:
    assert AnomalySettings(resolution="15m").resolution_seconds == 900
    with pytest.raises(ValidationError, match="not a duration"):
        AnomalySettings(resolution="soon")
    with pytest.raises(ValidationError, match="divide a day"):
        AnomalySettings(resolution="7m")


def test_transitions() -> None:
    assert check_transition("open", "ack") == "acknowledged"
    assert check_transition("acknowledged", "resolve") == "resolved"
    assert check_transition("resolved", "ack") is None
    assert check_transition("acknowledged", "ack") is None


@pytest.fixture
def store() -> AlertStore:
    app = App(Settings(), None)
    return AlertStore(app.ledger)


def test_same_owner_and_kind_group_into_one_alert(store: AlertStore) -> None:
    service = AlertService(store, AlertSettings())
    first = service.process([_anomaly(0, impact=60.0)], NOW)
    second = service.process([_anomaly(1, impact=300.0), _anomaly(2, owner="legal")], NOW)
    assert first["anomalies_new"] == 1 and second["anomalies_new"] == 2
    alerts = {a["owner"]: a for a in store.alerts()}
    assert set(alerts) == {"search", "legal"}
    search = alerts["search"]
    assert search["anomalies"] == 2
    assert search["impact"] == Decimal(360)
    assert search["severity"] == "high"  # escalated from medium by the second anomaly


def test_the_same_anomaly_seen_again_is_updated_not_duplicated(store: AlertStore) -> None:
    service = AlertService(store, AlertSettings())
    service.process([_anomaly(0, impact=60.0)], NOW)
    again = service.process([_anomaly(0, impact=80.0, ongoing=False)], NOW + timedelta(minutes=5))
    assert again == {"anomalies_new": 0, "anomalies_updated": 1, "notifications": 0}
    [alert] = store.alerts()
    assert alert["anomalies"] == 1 and alert["impact"] == Decimal(80)
    [row] = store.anomalies()
    assert row["impact"] == Decimal(80) and row["ongoing"] is False


def test_lifecycle_ack_resolve_and_conflicts(store: AlertStore) -> None:
    AlertService(store, AlertSettings()).process([_anomaly()], NOW)
    [alert] = store.alerts()
    acked = store.transition(alert["alert_id"], "ack", "ana", NOW)
    assert acked["status"] == "acknowledged" and acked["acked_by"] == "ana"
    with pytest.raises(Conflict, match="acknowledged"):
        store.transition(alert["alert_id"], "ack", "ana", NOW)
    done = store.transition(alert["alert_id"], "resolve", None, NOW)
    assert done["status"] == "resolved"
    with pytest.raises(NotFound):
        store.transition("al_missing", "ack", None, NOW)
    # a new anomaly of the same owner and kind after resolution opens a new alert
    AlertService(store, AlertSettings()).process([_anomaly(5)], NOW)
    assert sorted(a["status"] for a in store.alerts()) == ["open", "resolved"]


def test_quiet_alerts_resolve_themselves(store: AlertStore) -> None:
    service = AlertService(store, AlertSettings(auto_resolve_hours=4))
    service.process([_anomaly(ongoing=False)], NOW)  # last seen 2.5 h before NOW
    assert store.alerts()[0]["status"] == "open"
    service.process([], NOW + timedelta(hours=2))
    assert store.alerts()[0]["status"] == "resolved" and store.alerts()[0]["resolved_by"] == "auto"


def test_payload_shapes() -> None:
    alert = {
        "alert_id": "al_1",
        "kind": "spend_spike",
        "owner": "search",
        "severity": "high",
        "impact": "300",
        "currency": "USD",
        "status": "open",
    }
    body = webhook_payload("opened", alert, [{"explanation": "x"}])
    assert body["event"] == "alert.opened" and body["alert"]["owner"] == "search"
    slack = slack_payload("opened", alert, [{"explanation": "spend of search spiked"}])
    assert slack["text"] == "[HIGH] spend spike for search (~USD 300.00)"
    assert "spend of search spiked" in slack["blocks"][1]["text"]["text"]
