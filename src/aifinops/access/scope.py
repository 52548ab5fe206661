"""Team scoping, made structural: a team key's facade reads a ledger in which every table shows only its team.

A :class:`ScopedLedger` shares the real ledger's database but reads through its own DuckDB connections, whose
default database is an attached in-memory one holding the team's views of the base tables (so ``records``,
and even ``main.records``, resolve to a view). So every read (rollup, scan, iter_batches, raw ``query``) of every area sees
only the team's rows without knowing about access control:

- a table with a ``team`` column shows the rows of that team;
- ``spans`` (no team column) shows the spans of traces the team's records belong to;
- tables registered with :func:`register_table_scope` use their own predicate;
- the global, team-free bookkeeping tables in :data:`GLOBAL_TABLES` stay visible;
- **any other table or view is hidden** (empty): deny by default, so a table added later cannot leak.

The views are rebuilt whenever the base database's tables change.

Writes are refused (a team key reads only), and the views are not insertable either.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb

from aifinops.core.errors import Forbidden
from aifinops.ledger.duckdb_backend import DuckDBLedger

__all__ = [
    "ScopedLedger",
    "settings_scopes",
    "GLOBAL_TABLES",
    "register_table_scope",
    "scope_statements",
    "scope_settings",
    "sql_literal",
]

#: Tables without team data that every principal may read.
GLOBAL_TABLES = frozenset({"schema_version", "source_coverage"})
#: ``table -> SQL predicate`` for team-scoped tables without a ``team`` column. ``{team}`` is the team as a
#: quoted literal, ``{db}`` the quoted database name (use ``{db}.main.<table>`` to reach a base table).
_TABLE_SCOPES: dict[str, str] = {
    "api_keys": "false",  # never readable through a team scope, not even the team's own keys' hashes
    "spans": "trace_id IN (SELECT trace_id FROM {db}.main.records WHERE team = {team} AND trace_id IS NOT NULL)",
}


def register_table_scope(table: str, predicate: str) -> None:
    """Declare how a team sees a table that has no ``team`` column (else a team key sees it empty)."""
    _TABLE_SCOPES[table] = predicate


def sql_literal(value: str) -> str:
    """A SQL string literal (views cannot take parameters)."""
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _database(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT current_database()").fetchone()[0]


def _layout(con: duckdb.DuckDBPyConnection, db: str) -> list[tuple[str, list[str]]]:
    """``(table or view, columns)`` of the base database's main schema."""
    return con.execute(
        "SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = 'main' GROUP BY table_name ORDER BY table_name",
        [db],
    ).fetchall()


def scope_statements(
    layout: Sequence[tuple[str, Sequence[str]]],
    team: str,
    *,
    db: str,
    target: str = "temp",
    scopes: dict[str, str] | None = None,
) -> str:
    """``CREATE VIEW`` statements that show ``team``'s rows of every table of ``db`` in catalog ``target``."""
    lit, qdb = sql_literal(team), _ident(db)
    predicates = {**_TABLE_SCOPES, **(scopes or {})}
    out = []
    for table, columns in layout:
        if table in GLOBAL_TABLES:
            predicate = "true"
        elif table in predicates:
            predicate = predicates[table].format(team=lit, db=qdb)
        elif "team" in columns:
            predicate = f"team = {lit}"
        else:
            predicate = "false"
        out.append(
            f"CREATE OR REPLACE VIEW {_ident(target)}.main.{_ident(table)} AS "
            f"SELECT * FROM {qdb}.main.{_ident(table)} WHERE {predicate}"
        )
    return ";\n".join(out)


class ScopedLedger(DuckDBLedger):
    """The ledger as one team sees it: same database, read-only, every table filtered (see module doc).

    The team's views live in an attached in-memory database (``aifinops_scope_<hash>``), made once; each read
    runs on a fresh connection whose default database is that one (``USE``), so unqualified names, and
    ``main.<table>`` too, resolve to the views. A table missing there is an error, never the base table.
    """

    def __init__(  # noqa: D107 - no super().__init__: shares base
        self, base: DuckDBLedger, team: str, scopes: dict[str, str] | None = None
    ) -> None:
        self._base = base
        self.team = team
        self._scopes = dict(scopes or {})  # this scope's own table predicates, over the registered ones
        self.path = base.path
        self.cost_column = base.cost_column
        self.source_priority = base.source_priority
        self._has_overlap = None
        self._lock = threading.RLock()
        self._scope_db = "aifinops_scope_" + hashlib.sha256(team.encode()).hexdigest()[:16]
        self._layout_seen: Any = None
        self._con = self._cursor()

    def _refresh(self, con: duckdb.DuckDBPyConnection) -> None:
        """(Re)build the team's views when the base database's tables changed."""
        db = _database(con)
        layout = _layout(con, db)
        if layout == self._layout_seen:
            return
        with self._lock:
            if layout == self._layout_seen:
                return
            con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {_ident(self._scope_db)}")
            statements = scope_statements(
                layout, self.team, db=db, target=self._scope_db, scopes=self._scopes
            )
            if statements:
                con.execute(statements)
            self._layout_seen = layout

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        # a fresh connection per read (DuckDB connections are not shared across threads)
        cur = self._base._con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        self._refresh(cur)
        cur.execute(f"USE {_ident(self._scope_db)}")
        return cur

    def _overlap(self) -> bool:
        # which source is authoritative is decided on the whole ledger, as for everyone
        return self._base._overlap()

    @property
    def schema_version(self) -> int:
        """The base ledger's schema version."""
        return self._base.schema_version

    # -- writes: refused ------------------------------------------------------------------------
    def _refuse(self, *_: Any, **__: Any) -> Any:
        raise Forbidden(f"a team key (team {self.team}) can only read")

    append = append_outcomes = append_spans = append_table = execute = log_import = _refuse

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """Refused: a team key only reads."""
        self._refuse()
        yield None  # pragma: no cover

    def _migrate(self) -> None:  # pragma: no cover - never called: the base ledger migrated
        self._refuse()

    def close(self) -> None:
        """Close this scope's own connection (the base ledger and the team's views stay)."""
        with self._lock:
            self._con.close()


def settings_scopes(settings: Any) -> dict[str, str]:
    """Table predicates that depend on the configuration: the anomaly area's tables name an ``owner``,
    which is the team when anomalies are owned by team (``anomaly.owner_by: team``, the default)."""
    anomaly = getattr(settings, "anomaly", None)
    if getattr(anomaly, "owner_by", None) != "team":
        return {}
    return {
        "anomalies": "owner = {team}",
        "alerts": "owner = {team}",
        "alert_deliveries": "alert_id IN (SELECT alert_id FROM {db}.main.alerts WHERE owner = {team})",
    }


def _owned(scope: dict[str, Any], per: str | None, team: str) -> bool:
    """Whether a policy rule concerns ``team`` only: its scope names exactly that team, or it applies to
    every team separately (``per: team``) without naming one."""
    value = scope.get("team")
    if value is None:
        return per == "team"
    values = value if isinstance(value, list | tuple) else [value]
    return list(values) == [team]


def scope_settings(settings: Any, team: str) -> Any:
    """The settings a team key sees: its own budgets, limits, model rules, agent caps and gateway keys."""

    def rules(items: Sequence[Any]) -> list[Any]:
        return [r for r in items if _owned(dict(r.scope or {}), getattr(r, "per", None), team)]

    return settings.model_copy(
        update={
            "budgets": rules(settings.budgets),
            "rate_limits": rules(settings.rate_limits),
            "models": rules(settings.models),
            "agents": rules(settings.agents),
            "keys": [k for k in settings.keys if k.team == team],
        }
    )
