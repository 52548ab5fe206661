"""Team scoping: a team's facade reads only its rows in every table, and writes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aifinops.access.keys import Principal
from aifinops.access.scope import register_table_scope, scope_settings
from aifinops.core.errors import Forbidden, StorageError
from aifinops.core.settings import Settings
from tests.access.teams import COST, PER_TEAM, build_app, markers
from tests.factories import rec

BRAVO = Principal(key_id="k", name="k", role="team", team="bravo")


@pytest.fixture(scope="module")
def app():  # type: ignore[no-untyped-def]
    return build_app()


def test_rollups_scans_and_raw_queries_see_only_the_team(app) -> None:  # type: ignore[no-untyped-def]
    bravo = app.scoped(BRAVO)
    rows = bravo.report_costs(by=["team"])
    assert [(r["team"], r["cost"]) for r in rows] == [("bravo", COST["bravo"] * PER_TEAM)]
    # asking for another team explicitly finds nothing
    assert bravo.report_costs(by=["team"], where={"team": "aubergine"}) == []
    assert {r.team for r in bravo.records(limit=1000)} == {"bravo"}
    batches = list(bravo.ledger.iter_batches())
    assert sum(b.num_rows for b in batches) == PER_TEAM
    # unqualified and main-qualified names both resolve to the team's view
    assert bravo.ledger.query("SELECT count(*) AS n FROM records")[0]["n"] == PER_TEAM
    assert bravo.ledger.query("SELECT count(*) AS n FROM main.records")[0]["n"] == PER_TEAM
    assert bravo.ledger.query("SELECT list(DISTINCT team) AS t FROM outcomes")[0]["t"] == ["bravo"]
    assert bravo.ledger.query("SELECT list(agent_name) AS a FROM spans")[0]["a"] == ["agent-bravo"]
    # the base facade still sees everything
    assert app.ledger.query("SELECT count(*) AS n FROM records")[0]["n"] == 3 * PER_TEAM
    assert bravo.doctor()["ledger"]["records"] == PER_TEAM


def test_other_surfaces_of_the_facade_are_scoped_too(app) -> None:  # type: ignore[no-untyped-def]
    bravo = app.scoped(BRAVO)
    text = repr([bravo.workflows(top=50), bravo.agents()])
    assert "bravo" in text
    for team in ("aubergine", "chartreuse"):
        assert not any(m in text for m in markers(team))


def test_anomalies_and_alerts_follow_their_owner(app) -> None:  # type: ignore[no-untyped-def]
    bravo = app.scoped(BRAVO)
    assert [a["owner"] for a in bravo.list_anomalies(limit=100)] == ["bravo"]
    assert [a["owner"] for a in bravo.list_alerts(limit=100)] == ["bravo"]
    assert len(app.list_anomalies(limit=100)) == 3


def test_tables_without_a_team_column_are_hidden_unless_declared(app) -> None:  # type: ignore[no-untyped-def]
    app.ledger.execute("CREATE TABLE IF NOT EXISTS test_secrets (name VARCHAR)")
    app.ledger.execute("INSERT INTO test_secrets VALUES ('aubergine-secret')")
    app.ledger.execute("CREATE TABLE IF NOT EXISTS test_team_rows (owner VARCHAR, v INTEGER)")
    app.ledger.execute("INSERT INTO test_team_rows VALUES ('aubergine', 1), ('bravo', 2)")
    register_table_scope("test_team_rows", "owner = {team}")
    bravo = app.scoped(BRAVO)  # a table created after the scope was made is covered as well
    assert bravo.ledger.query("SELECT count(*) AS n FROM test_secrets")[0]["n"] == 0
    assert bravo.ledger.query("SELECT owner, v FROM test_team_rows") == [{"owner": "bravo", "v": 2}]
    app.keys_create(name="bravo-own", role="team", team="bravo")
    assert bravo.ledger.query("SELECT count(*) AS n FROM api_keys")[0]["n"] == 0  # not even its own
    assert (
        bravo.ledger.query("SELECT count(*) AS n FROM source_coverage")[0]["n"] >= 1
    )  # global, no team data


def test_a_team_key_writes_nothing(app) -> None:  # type: ignore[no-untyped-def]
    bravo = app.scoped(BRAVO)
    with pytest.raises(Forbidden):
        bravo.append([rec("x", team="bravo")])
    with pytest.raises(Forbidden):
        bravo.ledger.execute("DELETE FROM records")
    with pytest.raises(Forbidden):
        bravo.keys_create(name="x", role="admin")
    with pytest.raises((StorageError, Exception), match="not an table|view"):
        bravo.ledger.query("INSERT INTO records SELECT * FROM records")
    assert app.ledger.query("SELECT count(*) AS n FROM records")[0]["n"] == 3 * PER_TEAM


def test_team_names_are_quoted(app) -> None:  # type: ignore[no-untyped-def]
    tricky = Principal(key_id="k", name="k", role="team", team="o'brien' OR '1'='1")
    assert app.scoped(tricky).ledger.query("SELECT count(*) AS n FROM records")[0]["n"] == 0


def test_admin_and_finance_read_the_whole_facade(app) -> None:  # type: ignore[no-untyped-def]
    for role in ("admin", "finance"):
        assert app.scoped(Principal(key_id="k", name="k", role=role)) is app
    assert app.scoped(BRAVO) is app.scoped(BRAVO)  # cached per team


def test_settings_keep_only_the_teams_own_rules() -> None:
    settings = Settings.model_validate(
        {
            "budgets": [
                {"name": "bravo-m", "scope": {"team": "bravo"}, "period": "month", "amount": 10},
                {"name": "aubergine-m", "scope": {"team": "aubergine"}, "period": "month", "amount": 10},
                {"name": "both", "scope": {"team": ["aubergine", "bravo"]}, "period": "month", "amount": 10},
                {"name": "global", "period": "month", "amount": 100},
                {"name": "each-team", "per": "team", "period": "month", "amount": 5},
            ],
            "keys": [
                {"name": "gw-bravo", "key": "sha256:" + "0" * 64, "team": "bravo"},
                {"name": "gw-aubergine", "key": "sha256:" + "1" * 64, "team": "aubergine"},
            ],
        }
    )
    scoped = scope_settings(settings, "bravo")
    assert [b.name for b in scoped.budgets] == ["bravo-m", "each-team"]
    assert [k.name for k in scoped.keys] == ["gw-bravo"]
    assert len(settings.budgets) == 5  # the original is untouched
    assert Decimal(scoped.budgets[0].amount) == 10
