"""The allocation engine on hand-built rollup rows: pools, idle policies, capacity, conservation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from aifinops.allocation import ADDITIVE, aggregate, allocate, bucket, compile_plan
from aifinops.core.settings_allocation import AllocationSettings

D0 = datetime(2026, 3, 2, tzinfo=UTC)


def row(team: str | None, cost: str, *, period: datetime = D0, **kw: Any) -> dict[str, Any]:
    base = {"team": team, "period": period, "cost": Decimal(cost), "requests": 0, "records": 1}
    base.update(kw)
    return base


def plan(**section: Any) -> Any:
    return compile_plan(AllocationSettings(**section))


def by_team(rows: list[dict[str, Any]]) -> dict[tuple[Any, str], Decimal]:
    return {(r["team"], r["allocation"]): r["cost"] for r in aggregate(rows, ["team"], None)}


def test_owner_rules_aliases_and_normalization() -> None:
    p = plan(
        aliases={"team": ["owner"]},
        normalize={"team": {"search": ["Search", "search-*"]}},
        owners=[
            {"match": {"api_key": "sales-*"}, "set": {"team": "sales"}},
            {"match": {"api_key": "*"}, "set": {"team": "fallback"}, "override": False},
            {"match": {"provider": "mistral"}, "set": {"team": "legal"}, "override": True},
        ],
    )
    rows = [
        row(None, "1", owner="SEARCH"),  # alias, then case-insensitive normalization
        row("search-team", "2"),  # glob variant
        row(None, "3", api_key="sales-prod"),  # first matching rule wins
        row("support", "4", api_key="support-prod"),  # already owned: a rule does not override
        row("support", "5", provider="mistral"),  # ...unless it says override
        row(None, "6"),
    ]
    got = by_team(allocate(rows, p))
    assert got == {
        ("search", "direct"): Decimal(3),
        ("sales", "direct"): Decimal(3),
        ("support", "direct"): Decimal(4),
        ("legal", "direct"): Decimal(5),
        (None, "unallocated"): Decimal(6),
    }


def test_fixed_ratios_split_every_metric_exactly() -> None:
    p = plan(
        shared=[{"name": "gw", "match": {"service": "gw"}, "split_by": "fixed", "ratios": {"a": 2, "b": 1}}]
    )
    rows = [row("platform", "10.00", service="gw", requests=7, gpu_hours=Decimal("1.000000"))]
    out = allocate(rows, p)
    assert sorted((r["team"], r["cost"], r["requests"], r["gpu_hours"]) for r in out) == [
        ("a", Decimal("6.666666666667"), 5, Decimal("0.666667")),
        ("b", Decimal("3.333333333333"), 2, Decimal("0.333333")),
    ]
    assert {r["allocation"] for r in out} == {"shared:gw"}


def test_explicit_capacity_counts_only_the_hours_inside_the_window() -> None:
    # capacity 10 requests/hour; the report covers 2 hours of the day: capacity 20, used 5 -> 75% idle
    section = {
        "shared": [
            {
                "name": "ep",
                "match": {"service": "ep"},
                "split_by": "requests",
                "capacity": 10,
                "idle": "bucket",
            }
        ]
    }
    rows = [row("platform", "8.00", service="ep"), row("a", "0", requests=4), row("b", "0", requests=1)]
    out = by_team(allocate(rows, plan(**section), window=(D0, D0 + timedelta(hours=2))))
    assert out[("a", "shared:ep")] == Decimal("1.60")
    assert out[("b", "shared:ep")] == Decimal("0.40")
    assert out[("idle", "idle:ep")] == Decimal("6.00")
    # over capacity: no idle at all
    busy = [*rows, row("c", "0", requests=95)]
    out = by_team(allocate(busy, plan(**section), window=(D0, D0 + timedelta(hours=2))))
    assert ("idle", "idle:ep") not in out and out[("c", "shared:ep")] == Decimal("7.60")


def test_a_period_without_consumers_goes_to_the_owner_or_stays_unallocated() -> None:
    day2 = D0 + timedelta(days=1)
    rows = [
        row(None, "3.00", service="db"),
        row(None, "5.00", service="db", period=day2),
        row("a", "1", requests=2),
    ]
    owned = plan(shared=[{"name": "db", "match": {"service": "db"}, "split_by": "requests", "owner": "plat"}])
    out = allocate(rows, owned)
    assert {(r["team"], r["allocation"], r["cost"]) for r in out if r.get("service") == "db"} == {
        ("a", "shared:db", Decimal("3.00")),
        ("plat", "idle:db", Decimal("5.00")),
    }
    orphan = plan(shared=[{"name": "db", "match": {"service": "db"}, "split_by": "requests"}])
    out = allocate(rows, orphan)
    assert {(r["team"], r["allocation"]) for r in out if r["period"] == day2} == {(None, "unallocated")}


def test_pools_cascade_but_idle_rows_are_never_consumers() -> None:
    section = {
        "shared": [
            {
                "name": "gpu",
                "match": {"service": "gpu"},
                "split_by": "requests",
                "capacity": 1,
                "idle": "bucket",
            },
            {"name": "ops", "match": {"service": "ops"}, "split_by": "cost"},
        ]
    }
    # gpu: capacity 24/day, used 12 -> half idle; a gets 6 shared; ops then splits by cost: a 1+6=7, b 3
    rows = [
        row("plat", "12", service="gpu"),
        row("plat", "10", service="ops"),
        row("a", "1", requests=12),
        row("b", "3"),
    ]
    got = by_team(allocate(rows, plan(**section), window=(D0, D0 + timedelta(days=1))))
    assert got[("idle", "idle:gpu")] == Decimal(6)
    assert got[("a", "shared:ops")] == Decimal(7) and got[("b", "shared:ops")] == Decimal(3)
    assert ("idle", "shared:ops") not in got


def test_bucket_truncates_to_grains() -> None:
    t = datetime(2026, 3, 5, 13, 0, tzinfo=UTC)  # a Thursday
    assert bucket(t, "day") == datetime(2026, 3, 5, tzinfo=UTC)
    assert bucket(t, "week") == datetime(2026, 3, 2, tzinfo=UTC)
    assert bucket(t, "month") == datetime(2026, 3, 1, tzinfo=UTC)


_teams = st.sampled_from(["a", "b", "c", None])
_services = st.sampled_from(["pool", "x", "y"])
_rows = st.lists(
    st.builds(
        lambda team, service, day, cost, tokens, requests, gpu: {
            "team": team,
            "service": service,
            "period": D0 + timedelta(days=day),
            "cost": cost,
            "effective_cost": cost,
            "input_tokens": tokens,
            "output_tokens": tokens // 3,
            "requests": requests,
            "gpu_hours": gpu,
            "records": 1,
        },
        _teams,
        _services,
        st.integers(0, 2),
        st.decimals(0, 10_000, places=12, allow_nan=False),
        st.integers(0, 10**7),
        st.integers(0, 50),
        st.decimals(0, 100, places=6, allow_nan=False),
    ),
    max_size=25,
)
_pools = st.fixed_dictionaries(
    {
        "split_by": st.sampled_from(["tokens", "requests", "gpu_seconds", "cost", "fixed"]),
        "idle": st.sampled_from(["proportional", "owner", "bucket"]),
        "capacity": st.one_of(st.none(), st.integers(1, 10**6)),
        "consumers": st.sampled_from([{}, {"service": "x"}, {"team": ["a", "b"]}]),
        "ratios": st.dictionaries(st.sampled_from(["a", "b", "z"]), st.integers(0, 5), min_size=1).filter(
            lambda r: sum(r.values()) > 0
        ),
    }
)


def _pool(spec: dict[str, Any]) -> dict[str, Any]:
    pool = {"name": "p", "match": {"service": "pool"}, "split_by": spec["split_by"], "idle": spec["idle"]}
    pool["owner"] = "owner"
    if spec["split_by"] == "fixed":
        pool["ratios"] = spec["ratios"]
    else:
        pool["consumers"] = spec["consumers"]
        if spec["capacity"] is not None and spec["split_by"] != "cost":
            pool["capacity"] = spec["capacity"]
    return pool


@settings(max_examples=150, deadline=None)
@given(_rows, _pools, st.booleans())
def test_allocation_conserves_every_metric_and_never_goes_negative(
    rows: list[dict[str, Any]], spec: dict[str, Any], with_owner: bool
) -> None:
    pool = _pool(spec)
    if not with_owner and spec["idle"] != "owner":
        del pool["owner"]
    out = allocate(rows, plan(shared=[pool]), window=(D0, D0 + timedelta(days=3)))
    for metric in ADDITIVE:
        before = sum((r[metric] for r in rows if metric in r), 0)
        after = sum((r[metric] for r in out if metric in r), 0)
        assert after == before, metric
    assert all(r[m] >= 0 for r in out for m in ADDITIVE if m in r)
    assert all(r["allocation"] in ("direct", "shared:p", "idle:p", "unallocated") for r in out)
    assert all((r["team"] is None) == (r["allocation"] == "unallocated") for r in out)
    total = aggregate(out, [], None)
    assert sum(r["cost"] for r in total) == sum(r["cost"] for r in rows)
