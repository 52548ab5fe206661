"""``App.allocated_costs`` and ``App.tag_coverage`` on a hand-built ledger and on demo data."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aifinops.app import App
from aifinops.core.settings import DEFAULT_SOURCE_PRIORITY, Settings, parse_settings
from aifinops.core.settings_allocation import AllocationSettings
from tests.factories import T0, rec

SINCE = T0 - timedelta(days=1)
UNTIL = T0 + timedelta(days=2)
HOUR = timedelta(hours=1)

RULES: dict[str, Any] = {
    "owners": [{"match": {"api_key": "search-*"}, "set": {"team": "search"}}],
    "normalize": {"team": {"support": ["Support", "support-team"]}},
    "shared": [
        {
            "name": "vector-db",
            "match": {"service": "vector-db"},
            "split_by": "tokens",
            "consumers": {"category": "hosted_inference"},
            "idle": "owner",
            "owner": "platform",
        },
        {
            "name": "llm",
            "match": {"source": "gpu", "endpoint": "llm"},
            "split_by": "gpu_seconds",
            "consumers": {"endpoint": "llm", "source": "k8s"},
            "idle": "bucket",
        },
    ],
}


def _money(value: str) -> dict[str, Any]:
    amount = Decimal(value)
    return {"list_cost": amount, "effective_cost": amount, "billed_cost": amount}


def _gpu(i: int, **kw: Any) -> Any:
    return rec(
        f"gpu{i}",
        source="gpu",
        at=T0 + i * HOUR,
        provider="aws",
        service="p5.48xlarge",
        model=None,
        category="self_hosted_inference",
        requests=0,
        input_tokens=0,
        output_tokens=0,
        gpu_seconds=Decimal(28800),
        gpu_type="H100",
        gpu_count=8,
        team="platform",
        tags={"endpoint": "llm"},
        **_money("40.00"),
        **kw,
    )


def _pod(i: str, team: str, seconds: int) -> Any:
    return rec(
        i,
        source="k8s",
        provider="aws",
        service="vllm",
        model=None,
        category="self_hosted_inference",
        input_tokens=0,
        output_tokens=0,
        gpu_seconds=Decimal(seconds),
        team=team,
        tags={"endpoint": "llm"},
        **_money("0"),
    )


def _vdb(i: str, value: str, at: Any) -> Any:
    return rec(
        i, source="focus", at=at, provider="pinecone", service="vector-db", model=None,
        category="storage_transfer", requests=0, input_tokens=0, output_tokens=0, **_money(value),
    )  # fmt: skip


@pytest.fixture
def app() -> App:
    """Day T0: vector-db $10 (search 3000 tokens, support 1000), 2 GPU hours at $40 of which search used
    14,400 and support 5,760 of 57,600 GPU-seconds, $1.25 nobody owns; day T0+1: vector-db $4, no users."""
    application = App(Settings(allocation=AllocationSettings(**RULES)), None)
    application.append(
        [
            _vdb("vdb1", "10.00", T0),
            _vdb("vdb2", "4.00", T0 + timedelta(days=1)),
            rec("s", api_key="search-prod", input_tokens=2000, output_tokens=1000, **_money("3.00")),
            rec("t", team="Support", input_tokens=800, output_tokens=200, **_money("1.00")),
            _gpu(0),
            _gpu(1),
            _pod("p1", "search", 14400),
            _pod("p2", "support", 5760),
            rec("m", provider="mistral", model="mistral-large-latest", **_money("1.25")),
        ]
    )
    yield application
    application.close()


def _by(rows: list[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], Decimal]:
    return {tuple(r[k] for k in keys): r["cost"] for r in rows}


def test_hand_computed_splits_to_the_cent(app: App) -> None:
    rows = app.allocated_costs(by=["team"], since=SINCE, until=UNTIL)
    assert _by(rows, "team", "allocation") == {
        ("search", "direct"): Decimal("3.00"),
        ("search", "shared:vector-db"): Decimal("7.50"),  # 10 x 3000/4000
        ("search", "shared:llm"): Decimal("20.00"),  # used 20160/57600 = 35% of $80 = $28; x 5/7
        ("support", "direct"): Decimal("1.00"),  # "Support" normalized
        ("support", "shared:vector-db"): Decimal("2.50"),
        ("support", "shared:llm"): Decimal("8.00"),
        ("idle", "idle:llm"): Decimal("52.00"),  # 65% of $80 unused, to the visible bucket
        ("platform", "idle:vector-db"): Decimal("4.00"),  # day 2: no consumer, back to the owner
        (None, "unallocated"): Decimal("1.25"),
    }
    total = app.report_costs(since=SINCE, until=UNTIL)[0]["cost"]
    assert sum(r["cost"] for r in rows) == total == Decimal("99.25")
    gpu = {(r["team"], r["allocation"]): r["gpu_hours"] for r in rows if r["gpu_hours"]}
    assert gpu[("idle", "idle:llm")] == Decimal("10.4")  # 0.65 x 16 GPU-hours
    assert sum(gpu.values()) == Decimal("16") + Decimal("5.6")  # + the pods' own 4 + 1.6


def test_proportional_idle_goes_to_the_users(app: App) -> None:
    section = AllocationSettings(**RULES).model_dump()
    section["shared"][1]["idle"] = "proportional"
    app.reload(Settings(allocation=AllocationSettings(**section)))
    rows = app.allocated_costs(by=["team"], since=SINCE, until=UNTIL)
    got = _by(rows, "team", "allocation")
    assert got[("search", "idle:llm")] == Decimal("37.142857142857")  # 52 x 5/7
    assert got[("support", "idle:llm")] == Decimal("14.857142857143")
    assert sum(r["cost"] for r in rows) == Decimal("99.25")


def test_hourly_period_gives_the_same_idle_here(app: App) -> None:
    section = {**RULES, "period": "hour"}
    app.reload(Settings(allocation=AllocationSettings(**section)))
    rows = app.allocated_costs(by=["team"], grain="hour", since=SINCE, until=UNTIL)
    idle = {r["period"]: r["cost"] for r in rows if r["allocation"] == "idle:llm"}
    # hour 0: 8,640 of 28,800 GPU-seconds unused (30% of $40); hour 1: nobody, all $40 idle
    assert idle == {T0: Decimal("12.00"), T0 + HOUR: Decimal("40.00")}


def test_filters_apply_to_allocated_rows(app: App) -> None:
    search = app.allocated_costs(by=["service"], where={"team": "search"}, since=SINCE, until=UNTIL)
    assert _by(search, "service", "allocation") == {
        ("p5.48xlarge", "shared:llm"): Decimal("20.00"),
        ("vector-db", "shared:vector-db"): Decimal("7.50"),
        (None, "direct"): Decimal("3.00"),
        ("vllm", "direct"): Decimal("0"),
    }
    idle = app.allocated_costs(by=["allocation"], where={"allocation": "idle:*"}, since=SINCE, until=UNTIL)
    assert _by(idle, "allocation") == {("idle:llm",): Decimal("52.00"), ("idle:vector-db",): Decimal("4.00")}
    # a filter on a column the rules never change still sees the whole pool's drivers
    focus = app.allocated_costs(by=["team"], where={"source": "focus"}, since=SINCE, until=UNTIL)
    assert sum(r["cost"] for r in focus) == Decimal("14.00")
    assert _by(focus, "team", "allocation")[("search", "shared:vector-db")] == Decimal("7.50")


def test_grain_and_limit(app: App) -> None:
    rows = app.allocated_costs(by=["team"], grain="day", since=SINCE, until=UNTIL)
    days = {r["period"] for r in rows}
    assert days == {T0, T0 + timedelta(days=1)}
    assert [r["cost"] for r in rows if r["period"] == T0 + timedelta(days=1)] == [Decimal("4.00")]
    assert list(rows[0])[:3] == ["team", "period", "allocation"]
    top = app.allocated_costs(by=["team"], since=SINCE, until=UNTIL, limit=2)
    assert [(r["team"], r["cost"]) for r in top] == [("idle", Decimal("52.00")), ("search", Decimal("20.00"))]


def test_no_rules_is_report_costs_plus_an_allocation_column() -> None:
    plain = App(Settings(), None)
    plain.append([rec(1, team="a"), rec(2, team=None, effective_cost=Decimal("2"))])
    rows = plain.allocated_costs(by=["team"])
    assert [(r["team"], r["allocation"], r["cost"]) for r in rows] == [
        (None, "unallocated", Decimal("2")),
        ("a", "direct", Decimal("0.00045")),
    ]
    keys = set(plain.report_costs(by=["team"])[0])
    assert set(rows[0]) == keys | {"allocation"}


def test_tag_coverage_per_source_with_untagged_drivers(app: App) -> None:
    cov = app.tag_coverage(since=SINCE, until=UNTIL)
    lines = {line["source"]: line for line in cov["sources"]}
    assert cov["dimension"] == "team"
    assert lines["gateway"]["cost"] == Decimal("5.25")
    assert lines["gateway"]["allocated_cost"] == Decimal("4.00")  # search by rule + support
    assert lines["gateway"]["allocated_share"] == pytest.approx(4 / 5.25)
    assert lines["focus"]["allocated_share"] == 0.0
    assert lines["gpu"]["allocated_share"] == 1.0
    assert lines["k8s"]["allocated_share"] is None  # no spend
    assert cov["total"]["cost"] == Decimal("99.25") and cov["total"]["allocated_cost"] == Decimal("84.00")
    assert [(u["source"], u["service"], u["model"], u["cost"]) for u in cov["untagged"]] == [
        ("focus", "vector-db", None, Decimal("14.00")),
        ("gateway", None, "mistral-large-latest", Decimal("1.25")),
    ]
    assert len(app.tag_coverage(since=SINCE, until=UNTIL, top=1)["untagged"]) == 1
    search = app.tag_coverage(since=SINCE, until=UNTIL, where={"team": "search"})
    assert search["total"]["cost"] == Decimal("3.00")  # after the api_key rule


def test_bad_inputs_are_named(app: App) -> None:
    from aifinops.core.errors import InputError

    with pytest.raises(InputError, match="grain="):
        app.allocated_costs(by=["period"])
    with pytest.raises(InputError, match="grain"):
        app.allocated_costs(grain="fortnight")
    with pytest.raises(InputError, match="top"):
        app.tag_coverage(top=-1)
    with pytest.raises(InputError, match="dimensions only"):
        app.tag_coverage(where={"allocation": "idle:*"})
    with pytest.raises(InputError, match="owner dimension"):
        app.tag_coverage(by="period")


DEMO_RULES: dict[str, Any] = {
    "owners": [{"match": {"feature": "internal-chat"}, "set": {"customer": "internal"}}],
}


@pytest.fixture(scope="module")
def demo() -> App:
    """Three days of the demo company at a small scale, loaded once for this module."""
    application = App(Settings(), None)
    application.load_demo(seed=7, days=3, scale=0.03)
    yield application
    application.close()


def _docs_settings() -> AllocationSettings:
    """The yaml example of docs/allocation.md: the docs cannot drift from what validates and runs."""
    text = (Path(__file__).parents[2] / "docs" / "allocation.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block is not None
    return parse_settings(block.group(1), name="docs/allocation.md").allocation


def test_docs_example_on_demo_data_conserves_every_column(demo: App) -> None:
    demo.reload(Settings(allocation=_docs_settings()))
    plain = demo.report_costs(by=["source"], grain="day")
    for by in ([], ["team"], ["feature", "model"]):
        rows = demo.allocated_costs(by=by, grain="day")
        for metric in ("cost", "billed_cost", "requests", "input_tokens", "records", "gpu_hours"):
            assert sum(r[metric] or 0 for r in rows) == sum(r[metric] or 0 for r in plain), metric
        assert all((r["cost"] or 0) >= 0 for r in rows)
    labels = {r["allocation"] for r in demo.allocated_costs(by=["allocation"])}
    assert {"direct", "shared:llm-8b", "idle:llm-8b", "shared:llm-70b", "shared:model-evals"} <= labels
    # the eval harness now sits with the teams whose prod traffic it serves
    evals = demo.allocated_costs(by=["team"], where={"feature": "model-evals"})
    assert {r["allocation"] for r in evals} == {"shared:model-evals"} and len(evals) > 3


def test_demo_coverage_matches_sql(demo: App) -> None:
    demo.reload(Settings(allocation=AllocationSettings(**DEMO_RULES)))
    cov = demo.tag_coverage(by="customer")
    # the authoritative view, written out: per provider and day, the best-ranked source that reports it
    prio = ", ".join(f"('{s}', {i})" for i, s in enumerate(DEFAULT_SOURCE_PRIORITY))
    view = (
        f"WITH prio(source, rank) AS (VALUES {prio}), "
        "seen AS (SELECT DISTINCT coalesce(provider, '') AS provider, CAST(charge_period_start AS DATE) AS day, "
        "rank FROM records JOIN prio USING (source)), "
        "best AS (SELECT provider, day, min(rank) AS best FROM seen GROUP BY ALL), "
        "auth AS (SELECT r.* FROM records r LEFT JOIN prio p ON p.source = r.source "
        "LEFT JOIN best b ON b.provider = coalesce(r.provider, '') AND b.day = CAST(r.charge_period_start AS DATE) "
        "WHERE p.rank IS NULL OR p.rank = b.best) "
    )
    sql = demo.ledger.query(
        view + "SELECT source, sum(effective_cost) AS cost, sum(effective_cost) FILTER "
        "(WHERE customer IS NOT NULL OR feature = 'internal-chat') AS owned FROM auth GROUP BY source"
    )
    want = {r["source"]: (r["cost"], r["owned"] or Decimal(0)) for r in sql}
    got = {line["source"]: (line["cost"], line["allocated_cost"]) for line in cov["sources"]}
    assert got == want
    assert cov["total"]["allocated_cost"] == sum(v[1] for v in want.values())
    assert 0 < cov["total"]["allocated_share"] < 1
    top = demo.ledger.query(
        view + "SELECT source, provider, service, model, api_key, sum(effective_cost) AS cost FROM auth "
        "WHERE customer IS NULL AND coalesce(feature, '') <> 'internal-chat' GROUP BY ALL ORDER BY cost DESC LIMIT 3"
    )
    assert [(u["source"], u["model"], u["api_key"], u["cost"]) for u in cov["untagged"][:3]] == [
        (t["source"], t["model"], t["api_key"], t["cost"]) for t in top
    ]
