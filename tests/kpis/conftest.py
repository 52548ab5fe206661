"""A hand-built ledger whose KPIs are computed by hand in the tests (see the figures in each record)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from aifinops.app import App
from aifinops.core.records import Outcome
from aifinops.core.settings import Settings
from tests.factories import T0, rec

D = Decimal
SINCE, UNTIL = T0 - timedelta(days=2), T0 + timedelta(days=1)


def _unavailable(*_: object, **__: object) -> object:
    raise NotImplementedError("not yet")


def hand_records() -> list:
    """Costs equal the catalog's list prices (gpt-4o: 2.5/10 per 1M, gpt-4o-mini: 0.15/0.6 per 1M)."""
    search = {"team": "search", "use_case": "qa", "feature": "answers"}
    return [
        # r1, r2: one trace (one transaction); r3: the feature's first record, a day earlier, in dev
        rec(1, at=T0, **search, customer="globex", input_tokens=1000, output_tokens=100,
            effective_cost=D("0.0035"), latency_ms=400.0, environment="prod", trace_id="t1"),
        rec(2, at=T0 + timedelta(minutes=1), **search, customer="initech", input_tokens=2000, output_tokens=200,
            effective_cost=D("0.0070"), latency_ms=600.0, environment="prod", trace_id="t1"),
        rec(3, at=T0 - timedelta(days=1), **search, customer="globex", model="gpt-4o-mini", input_tokens=1000,
            output_tokens=100, effective_cost=D("0.00021"), latency_ms=200.0, environment="dev"),
        # self-hosted: the GPU hour carries the money, the request is metered at 0 (cost_in: gpu)
        rec("gpu1", source="gpu", at=T0, team="search", category="self_hosted_inference", model="llama",
            provider="aws", requests=0, input_tokens=0, output_tokens=0, gpu_seconds=D(3600), gpu_count=1,
            effective_cost=D("2.00"), environment="prod"),
        rec(6, at=T0 + timedelta(minutes=2), team="search", category="self_hosted_inference", model="llama",
            provider="self-hosted", input_tokens=500, output_tokens=50, effective_cost=D(0), latency_ms=100.0,
            tags={"cost_in": "gpu"}, cost_status="reported", environment="prod"),
        # training: run-a (2 records) and run-b
        rec("j1", source="jobs", at=T0, team="search", category="training", operation="train", model=None,
            requests=0, input_tokens=0, output_tokens=0, gpu_seconds=D(7200), effective_cost=D("10.00"),
            tags={"run_id": "run-a", "gpu_util": "0.5"}),
        rec("j2", source="jobs", at=T0 + timedelta(hours=1), team="search", category="training",
            operation="train", model=None, requests=0, input_tokens=0, output_tokens=0, gpu_seconds=D(7200),
            effective_cost=D("10.00"), tags={"run_id": "run-a", "gpu_util": "0.75"}),
        rec("j3", source="jobs", at=T0 + timedelta(hours=2), team="search", category="training",
            operation="train", model=None, requests=0, input_tokens=0, output_tokens=0, gpu_seconds=D(3600),
            effective_cost=D("6.00"), tags={"run_id": "run-b", "gpu_util": "1.0"}),
        # ads: one call; search's evaluation call (not inference)
        rec(10, at=T0, team="ads", use_case="ads-copy", feature="copy", input_tokens=1000, output_tokens=100,
            effective_cost=D("0.0035"), latency_ms=800.0, environment="prod"),
        rec(11, at=T0 + timedelta(minutes=3), team="search", feature="evals", category="evaluation",
            model="gpt-4o-mini", input_tokens=1000, output_tokens=100, effective_cost=D("0.00021"),
            environment="staging"),
    ]  # fmt: skip


def hand_outcomes() -> list[Outcome]:
    return [
        Outcome(outcome_id="o1", source="app", occurred_at=T0 + timedelta(hours=2), outcome_type="answer",
                count=3, value=D("9.00"), team="search", feature="answers"),
        Outcome(outcome_id="o2", source="app", occurred_at=T0 + timedelta(hours=1), outcome_type="copy",
                count=2, value=None, team="ads", feature="copy"),
    ]  # fmt: skip


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> App:
    """The hand ledger; the other areas' facade methods are unavailable (as before they land)."""
    for name in ("gpu_utilization", "anomaly_kpis", "value_summary"):
        monkeypatch.setattr(App, name, _unavailable)
    application = App(Settings(), None)
    application.ledger.append(hand_records())
    application.ledger.append_outcomes(hand_outcomes())
    yield application
    application.close()


@pytest.fixture(scope="session")
def demo_app() -> App:
    """A small demo company (45 days at 2% of the traffic: about 8,000 records, a second to build)."""
    application = App(Settings(), None)
    application.load_demo(days=45, scale=0.02)
    yield application
    application.close()


@pytest.fixture(scope="session")
def demo_month(demo_app: App) -> str:
    """The last whole month inside the demo window."""
    first = demo_app.ledger.query("SELECT min(charge_period_start) AS t FROM records")[0]["t"]
    nxt = first.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = nxt.replace(month=nxt.month % 12 + 1, year=nxt.year + (nxt.month == 12))
    return nxt.strftime("%Y-%m")
