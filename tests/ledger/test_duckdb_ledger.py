"""The DuckDB ledger: idempotent appends, rollups, filters, authority, transactions, migrations."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aifinops.core.errors import Conflict, InputError
from aifinops.ledger import DuckDBLedger, RollupQuery, ScanQuery
from aifinops.ledger.schema import SCHEMA_VERSION
from tests.factories import T0, rec


@pytest.fixture
def ledger() -> DuckDBLedger:
    led = DuckDBLedger()
    yield led
    led.close()


def test_append_is_idempotent(ledger: DuckDBLedger) -> None:
    batch = [rec(i) for i in range(50)]
    first = ledger.append(batch)
    second = ledger.append(batch)
    assert (first.inserted, first.duplicates) == (50, 0)
    assert (second.inserted, second.duplicates) == (0, 50)
    assert ledger.stats()["records"] == 50


def test_duplicates_inside_one_batch_keep_one(ledger: DuckDBLedger) -> None:
    result = ledger.append([rec(1), rec(1), rec(2)])
    assert (result.inserted, result.duplicates) == (2, 1)


def test_rollup_by_dimensions_and_tags(ledger: DuckDBLedger) -> None:
    ledger.append(
        [
            rec(1, team="search", tags={"tier": "eu"}, effective_cost=Decimal("1.10")),
            rec(2, team="search", tags={"tier": "us"}, effective_cost=Decimal("2.25")),
            rec(3, team="ads", tags={"tier": "eu"}, effective_cost=Decimal("0.000000000001")),
        ]
    )
    rows = ledger.rollup(RollupQuery(by=("team", "tier")))
    got = {(r["team"], r["tier"]): r["cost"] for r in rows}
    assert got == {
        ("search", "us"): Decimal("2.25"),
        ("search", "eu"): Decimal("1.10"),
        ("ads", "eu"): Decimal("0.000000000001"),
    }
    assert rows[0]["team"] == "search" and rows[0]["tier"] == "us"  # ordered by cost
    assert all(isinstance(r["cost"], Decimal) for r in rows)


def test_rollup_grains(ledger: DuckDBLedger) -> None:
    ledger.append([rec(i, at=T0 + timedelta(hours=6 * i)) for i in range(12)])  # 3 days, Monday on
    for grain, groups in (("hour", 12), ("day", 3), ("week", 1), ("month", 1)):
        rows = ledger.rollup(RollupQuery(grain=grain))
        assert len(rows) == groups, grain
        assert sum(r["requests"] for r in rows) == 12
    days = ledger.rollup(RollupQuery(grain="day"))
    assert [r["period"].day for r in days] == [2, 3, 4]


def test_where_filters_and_time_range(ledger: DuckDBLedger) -> None:
    ledger.append([rec(i, team="a" if i % 2 else "b", at=T0 + timedelta(days=i)) for i in range(10)])
    rows = ledger.rollup(RollupQuery(where={"team": "a"}))
    assert rows[0]["requests"] == 5
    rows = ledger.rollup(
        RollupQuery(where={"team": ["a", "b"]}, since=T0 + timedelta(days=2), until=T0 + timedelta(days=5))
    )
    assert rows[0]["requests"] == 3
    rows = ledger.rollup(RollupQuery(where={"project": None}))
    assert rows[0]["requests"] == 10


def test_unknown_dimension_is_a_tag_and_bad_grain_is_an_error(ledger: DuckDBLedger) -> None:
    ledger.append([rec(1, tags={"cost-center": "42"})])
    assert ledger.rollup(RollupQuery(by=("tag:cost-center",)))[0]["tag:cost-center"] == "42"
    assert ledger.rollup(RollupQuery(by=('we"ird',)))[0]['we"ird'] is None
    with pytest.raises(InputError, match="grain"):
        ledger.rollup(RollupQuery(grain="fortnight"))
    with pytest.raises(InputError, match="timezone-aware"):
        ledger.rollup(RollupQuery(since=T0.replace(tzinfo=None)))


def test_authoritative_source_per_provider_and_day(ledger: DuckDBLedger) -> None:
    # the gateway and the provider's usage report see the same spend on day 0; day 1 only the report
    ledger.append([rec(i, source="gateway", effective_cost=Decimal("1")) for i in range(3)])
    ledger.append(
        [
            rec("d0", source="openai-usage", requests=3, effective_cost=Decimal("3.02")),
            rec(
                "d1",
                source="openai-usage",
                at=T0 + timedelta(days=1),
                requests=5,
                effective_cost=Decimal("5"),
            ),
            rec("x", source="anthropic-usage", provider="anthropic", effective_cost=Decimal("7")),
        ]
    )
    by_source = {r["source"]: r["cost"] for r in ledger.rollup(RollupQuery(by=("source",)))}
    assert by_source == {
        "gateway": Decimal("3"),
        "openai-usage": Decimal("5"),
        "anthropic-usage": Decimal("7"),
    }
    everything = {r["source"]: r["cost"] for r in ledger.rollup(RollupQuery(by=("source",), sources="all"))}
    assert everything["openai-usage"] == Decimal("8.02")


def test_transaction_is_all_or_nothing(ledger: DuckDBLedger) -> None:
    with pytest.raises(RuntimeError), ledger.transaction() as tx:
        tx.append([rec(1), rec(2)])
        raise RuntimeError("crash mid-import")
    assert ledger.stats()["records"] == 0
    with ledger.transaction() as tx:
        tx.append([rec(1)])
        tx.append([rec(2)])
    assert ledger.stats()["records"] == 2


def test_naive_times_are_rejected(ledger: DuckDBLedger) -> None:
    with pytest.raises(InputError, match="timezone-aware"):
        ledger.append([rec(1, at=T0.replace(tzinfo=None))])


def test_scan_round_trips_records(ledger: DuckDBLedger) -> None:
    original = rec(
        7, team="t", tags={"k": "v"}, gpu_seconds=Decimal("3600.5"), cache_hit=True, latency_ms=12.5
    )
    ledger.append([original])
    (back,) = ledger.scan(ScanQuery(limit=10))
    assert back == original


def test_file_persists_and_migrations_are_versioned(tmp_path) -> None:
    path = tmp_path / "ledger.duckdb"
    led = DuckDBLedger(path)
    led.append([rec(1)])
    assert led.schema_version == SCHEMA_VERSION
    led.close()
    led = DuckDBLedger(path)
    assert led.stats()["records"] == 1
    rows = led.query("SELECT count(*) AS n FROM schema_version")
    assert rows[0]["n"] == SCHEMA_VERSION
    led.close()


def test_second_process_gets_a_clear_conflict(tmp_path) -> None:
    path = tmp_path / "ledger.duckdb"
    DuckDBLedger(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('ok', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(Conflict, match="in use by another aifinops process"):
            DuckDBLedger(path)
    finally:
        holder.kill()
        holder.wait()


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("abc"), st.decimals(min_value=0, max_value=10**6, places=12)), max_size=40
    )
)
def test_rollup_sums_are_exact(items: list[tuple[str, Decimal]]) -> None:
    led = DuckDBLedger()
    led.append([rec(i, team=team, effective_cost=cost) for i, (team, cost) in enumerate(items)])
    got = {r["team"]: r["cost"] for r in led.rollup(RollupQuery(by=("team",)))}
    want: dict[str, Decimal] = {}
    for team, cost in items:
        want[team] = want.get(team, Decimal(0)) + cost
    assert got == want
    led.close()


def test_ledger_is_plain_duckdb(tmp_path) -> None:
    path = tmp_path / "l.duckdb"
    led = DuckDBLedger(path)
    led.append([rec(1)])
    led.close()
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT count(*) FROM records").fetchone()[0] == 1
    con.close()


def test_a_new_migration_is_applied_once_on_open(tmp_path, monkeypatch) -> None:
    import aifinops.ledger.duckdb_backend as backend

    path = tmp_path / "l.duckdb"
    led = DuckDBLedger(path)
    led.append([rec(1)])
    led.close()
    extra = (SCHEMA_VERSION + 1, "add a column", ("ALTER TABLE records ADD COLUMN x_note VARCHAR",))
    monkeypatch.setattr(backend, "MIGRATIONS", (*backend.MIGRATIONS, extra))
    led = DuckDBLedger(path)
    assert led.schema_version == SCHEMA_VERSION + 1
    assert led.query("SELECT count(x_note) AS n, count(*) AS total FROM records") == [{"n": 0, "total": 1}]
    led.close()
    led = DuckDBLedger(path)  # reopening does not apply it again
    assert led.query("SELECT count(*) AS n FROM schema_version")[0]["n"] == SCHEMA_VERSION + 1
    led.close()


def test_a_failing_migration_leaves_the_schema_as_it_was(tmp_path, monkeypatch) -> None:
    import aifinops.ledger.duckdb_backend as backend
    from aifinops.core.errors import StorageError

    path = tmp_path / "l.duckdb"
    DuckDBLedger(path).close()
    bad = (
        SCHEMA_VERSION + 1,
        "broken",
        ("ALTER TABLE records ADD COLUMN y VARCHAR", "SELECT * FROM nowhere"),
    )
    monkeypatch.setattr(backend, "MIGRATIONS", (*backend.MIGRATIONS, bad))
    with pytest.raises(StorageError, match="migration"):
        DuckDBLedger(path)
    monkeypatch.undo()
    led = DuckDBLedger(path)
    assert led.schema_version == SCHEMA_VERSION
    assert "y" not in {
        r["column_name"]
        for r in led.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'records'")
    }
    led.close()


def test_where_globs_and_tags_with_several_values(ledger: DuckDBLedger) -> None:
    ledger.append(
        [
            rec(1, model="claude-sonnet-4-6", tags={"tier": "free"}),
            rec(2, model="claude-haiku-4-5", tags={"tier": "pro"}),
            rec(3, model="gpt-4o", tags={}),
        ]
    )
    assert ledger.rollup(RollupQuery(where={"model": "claude-*"}))[0]["requests"] == 2
    assert ledger.rollup(RollupQuery(where={"model": ["gpt-4o", "claude-h*"]}))[0]["requests"] == 2
    assert ledger.rollup(RollupQuery(where={"tier": ["free", None]}))[0]["requests"] == 2
    assert (
        ledger.rollup(RollupQuery(where={"tag:tier": ["p*", "free"], "model": "claude-*"}))[0]["requests"]
        == 2
    )


def test_rollup_can_ask_for_some_metrics_only(ledger: DuckDBLedger) -> None:
    ledger.append([rec(i, team="a") for i in range(3)])
    (row,) = ledger.rollup(RollupQuery(by=("team",), metrics=("requests",)))
    assert row == {"team": "a", "cost": Decimal("0.00135"), "requests": 3}
    with pytest.raises(InputError, match="unknown metric"):
        ledger.rollup(RollupQuery(metrics=("vibes",)))


def test_period_boundaries_are_utc_for_every_grain(ledger: DuckDBLedger) -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 3, 31, 23, 59, 59, 999999, tzinfo=UTC)  # a Tuesday, last instant of March
    ledger.append([rec(1, at=at)])
    want = {
        "hour": datetime(2026, 3, 31, 23, tzinfo=UTC),
        "day": datetime(2026, 3, 31, tzinfo=UTC),
        "week": datetime(2026, 3, 30, tzinfo=UTC),
        "month": datetime(2026, 3, 1, tzinfo=UTC),
    }
    for grain, expected in want.items():
        assert ledger.rollup(RollupQuery(grain=grain))[0]["period"] == expected, grain


def test_a_migration_missed_below_the_newest_is_still_applied(tmp_path, monkeypatch) -> None:
    """A ledger made by a build without migration 2 (but with a later one) gains it on the next open."""
    import aifinops.ledger.duckdb_backend as backend

    path = tmp_path / "l.duckdb"
    full = backend.MIGRATIONS
    monkeypatch.setattr(backend, "MIGRATIONS", tuple(m for m in full if m[0] != 2))
    DuckDBLedger(path).close()
    monkeypatch.setattr(backend, "MIGRATIONS", full)
    led = DuckDBLedger(path)
    assert led.query("SELECT count(*) AS n FROM spans") == [{"n": 0}]  # migration 2's table
    assert led.query("SELECT count(*) AS n FROM schema_version")[0]["n"] == len(full)
    led.close()
