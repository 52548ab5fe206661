"""The embedded DuckDB ledger: one file under the data folder, one writer process."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from aifinops.core.errors import Conflict, InputError, StorageError
from aifinops.core.records import Outcome, UsageRecord
from aifinops.core.settings import DEFAULT_SOURCE_PRIORITY
from aifinops.core.spans import SpanRow
from aifinops.ledger.base import AppendResult, RollupQuery, ScanQuery
from aifinops.ledger.convert import outcomes_to_table, records_to_table, table_to_records
from aifinops.ledger.query import build_rollup, build_where
from aifinops.ledger.schema import MIGRATIONS, OUTCOME_SCHEMA, RECORD_SCHEMA
from aifinops.ledger.spans import insert_spans, node_queries

__all__ = ["DuckDBLedger"]

_RECORD_COLS = ", ".join(f'"{n}"' for n in RECORD_SCHEMA.names)
_OUTCOME_COLS = ", ".join(f'"{n}"' for n in OUTCOME_SCHEMA.names)


def _connect(path: str, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(path, read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            pid = re.search(r"PID (\d+)", text)
            holder = f" (process {pid.group(1)})" if pid else ""
            raise Conflict(
                f"the ledger {path} is in use by another aifinops process{holder}; "
                "run the command against that server or stop it first"
            ) from None
        raise StorageError(f"cannot open the ledger {path}: {text}") from None


class _Writer:
    """Appends inside one open transaction."""

    def __init__(self, ledger: DuckDBLedger, con: duckdb.DuckDBPyConnection) -> None:
        self._ledger = ledger
        self._con = con

    def append(self, records: Sequence[UsageRecord] | pa.Table) -> AppendResult:
        table = records if isinstance(records, pa.Table) else records_to_table(list(records))
        if table.num_rows == 0:
            return AppendResult()
        if table.schema != RECORD_SCHEMA:
            try:
                table = table.select(RECORD_SCHEMA.names).cast(RECORD_SCHEMA)
            except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InputError(f"table does not match the record schema: {exc}") from None
        self._ledger._dirty()
        return self._insert(table, "records", "record_id", _RECORD_COLS, "charge_period_start", coverage=True)

    def append_outcomes(self, outcomes: Sequence[Outcome]) -> AppendResult:
        table = outcomes_to_table(list(outcomes))
        if table.num_rows == 0:
            return AppendResult()
        return self._insert(table, "outcomes", "outcome_id", _OUTCOME_COLS, "occurred_at", coverage=False)

    def append_spans(self, spans: Sequence[SpanRow] | pa.Table) -> AppendResult:
        """Append workflow structure spans; known ``(trace_id, span_id)`` pairs are dropped."""
        return insert_spans(self._con, spans)

    def _insert(
        self, table: pa.Table, target: str, key: str, cols: str, time_col: str, *, coverage: bool
    ) -> AppendResult:
        con = self._con
        con.register("_batch", table)
        try:
            distinct = con.execute(f"SELECT count(DISTINCT {key}) FROM _batch").fetchall()[0][0]
            source = "_batch"
            if distinct != table.num_rows:  # duplicates inside the batch: keep the first of each id
                source = f"(SELECT * FROM _batch QUALIFY row_number() OVER (PARTITION BY {key}) = 1)"
            lo, hi = pc.min_max(table[time_col]).values()
            bounds = [lo.as_py(), hi.as_py()]
            # which ids are stored already (zone maps prune by time); most imports have none or all
            known = con.execute(
                f"SELECT count(DISTINCT t.{key}) FROM {target} t WHERE t.{time_col} BETWEEN ? AND ? "
                f"AND t.{key} IN (SELECT {key} FROM _batch)",
                bounds,
            ).fetchall()[0][0]
            if known == distinct:
                inserted = 0
            elif known == 0:
                inserted = con.execute(
                    f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {source} b"
                ).fetchall()[0][0]
            else:
                inserted = con.execute(
                    f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {source} b "
                    f"WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE t.{key} = b.{key} "
                    f"AND t.{time_col} BETWEEN ? AND ?)",
                    bounds,
                ).fetchall()[0][0]
            if coverage and inserted:
                con.execute(
                    "INSERT OR IGNORE INTO source_coverage (provider, source, day, currency) "
                    "SELECT DISTINCT coalesce(provider, ''), source, CAST(charge_period_start AS DATE), currency "
                    "FROM _batch"
                )
        except duckdb.Error as exc:
            raise StorageError(f"append to {target} failed: {exc}") from None
        finally:
            with contextlib.suppress(duckdb.Error):
                con.unregister("_batch")  # may fail when the transaction is aborted; the caller rolls back
        return AppendResult(inserted=int(inserted), duplicates=table.num_rows - int(inserted))


class DuckDBLedger:
    """The default ledger. ``path=None`` keeps everything in memory (tests).

    Writes are serialized through one connection under a lock; reads use their own cursors.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        cost_column: str = "effective_cost",
        source_priority: Sequence[str] = DEFAULT_SOURCE_PRIORITY,
        read_only: bool = False,
        memory_limit: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else ":memory:"
        if path is not None and not read_only:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._con = _connect(self.path, read_only)
        self._con.execute("SET TimeZone = 'UTC'")
        if memory_limit is not None:  # DuckDB's cache otherwise grows to 80% of RAM inside the server process
            self._con.execute(f"SET memory_limit = '{memory_limit}'")
        self._lock = threading.RLock()
        self.cost_column = cost_column
        self.source_priority = tuple(source_priority)
        self._has_overlap: bool | None = None
        if not read_only:
            self._migrate()

    # -- schema ---------------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        """The version of the newest migration applied."""
        exists = self._con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        ).fetchone()[0]
        if not exists:
            return 0
        return int(self._con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])

    def _migrate(self) -> None:
        with self._lock:
            self._con.execute(
                "CREATE TABLE IF NOT EXISTS schema_version "
                "(version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())"
            )
            # every migration not applied yet, in order: a ledger that missed one (made by a build that did not
            # have it) still gets it, not only those above its newest
            applied = {row[0] for row in self._con.execute("SELECT version FROM schema_version").fetchall()}
            for version, description, statements in MIGRATIONS:
                if version in applied:
                    continue
                self._con.begin()
                try:
                    for statement in statements:
                        self._con.execute(statement)
                    self._con.execute(
                        "INSERT INTO schema_version (version, description) VALUES (?, ?)",
                        [version, description],
                    )
                    self._con.commit()
                except duckdb.Error as exc:
                    self._con.rollback()
                    raise StorageError(f"schema migration {version} ({description}) failed: {exc}") from None

    # -- writes ---------------------------------------------------------------------------------
    def _dirty(self) -> None:
        self._has_overlap = None

    @contextmanager
    def transaction(self) -> Iterator[_Writer]:
        """All appends inside the block land together or not at all."""
        with self._lock:
            self._con.begin()
            try:
                yield _Writer(self, self._con)
            except BaseException:
                self._con.rollback()
                self._dirty()
                raise
            else:
                self._con.commit()

    def append(self, records: Sequence[UsageRecord] | pa.Table) -> AppendResult:
        """Append records in one transaction; records already stored are dropped."""
        with self.transaction() as tx:
            return tx.append(records)

    def append_outcomes(self, outcomes: Sequence[Outcome]) -> AppendResult:
        """Append outcomes in one transaction."""
        with self.transaction() as tx:
            return tx.append_outcomes(outcomes)

    def append_spans(self, spans: Sequence[SpanRow] | pa.Table) -> AppendResult:
        """Append workflow structure spans in one transaction."""
        with self.transaction() as tx:
            return tx.append_spans(spans)

    def append_table(self, target: str, table: pa.Table, key: str, time_col: str) -> AppendResult:
        """Idempotent append of an Arrow table to one of the ledger's other tables (GPU samples, alerts, ...).

        Rows whose ``key`` is stored already (within the batch's ``time_col`` range) are dropped. ``target``,
        ``key`` and ``time_col`` are trusted names from inside aifinops, never user input.
        """
        if table.num_rows == 0:
            return AppendResult()
        cols = ", ".join(f'"{name}"' for name in table.schema.names)
        with self.transaction() as tx:
            return tx._insert(table, target, key, cols, time_col, coverage=False)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one trusted write statement (from inside aifinops) in its own transaction; rows changed."""
        with self._lock:
            try:
                cur = self._con.execute(sql, list(params))
                row = cur.fetchone() if cur.description else None
            except duckdb.Error as exc:
                raise StorageError(f"ledger write failed: {exc}") from None
        return int(row[0]) if row and isinstance(row[0], int) else 0

    def log_import(self, row: dict[str, Any]) -> None:
        """Remember an import for ``doctor`` and the data-health view."""
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self._lock:
            self._con.execute(f"INSERT INTO import_log ({cols}) VALUES ({marks})", list(row.values()))

    # -- reads ----------------------------------------------------------------------------------
    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cur = self._con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return cur

    def _overlap(self) -> bool:
        """Whether any provider-day is seen by more than one competing source."""
        if self._has_overlap is None:
            prio = list(self.source_priority)
            if not prio:
                self._has_overlap = False
            else:
                marks = ", ".join("?" for _ in prio)
                self._has_overlap = bool(
                    self._cursor()
                    .execute(
                        f"SELECT count(*) FROM (SELECT provider, day FROM source_coverage WHERE source IN ({marks}) "
                        "GROUP BY ALL HAVING count(DISTINCT source) > 1)",
                        prio,
                    )
                    .fetchone()[0]
                )
        return self._has_overlap

    def rollup(self, query: RollupQuery) -> list[dict[str, Any]]:
        """Aggregate spend by dimensions and grain."""
        authoritative = query.sources == "authoritative" and self._overlap()
        sql, params = build_rollup(
            query, cost_column=self.cost_column, source_priority=self.source_priority if authoritative else ()
        )
        try:
            cur = self._cursor().execute(sql, params)
        except duckdb.Error as exc:
            raise StorageError(f"rollup failed: {exc}") from None
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def scan(self, query: ScanQuery) -> list[UsageRecord]:
        """Raw records, newest first."""
        where, params = build_where(query.since, query.until, query.where)
        sql = (
            f"SELECT {_RECORD_COLS} FROM records r {where} "
            "ORDER BY charge_period_start DESC, record_id LIMIT ? OFFSET ?"
        )
        table = self._cursor().sql(sql, params=[*params, query.limit, query.offset]).to_arrow_table()
        return table_to_records(table)

    def iter_batches(
        self, where_sql: str = "", params: Sequence[Any] = (), batch_size: int = 50_000
    ) -> Iterator[pa.Table]:
        """Stream records as Arrow tables; ``where_sql`` is a trusted SQL fragment with ``?`` params."""
        cur = self._cursor()
        try:
            reader = cur.sql(
                f"SELECT {_RECORD_COLS} FROM records r {where_sql}", params=list(params)
            ).to_arrow_reader(batch_size)
            for batch in reader:
                yield pa.Table.from_batches([batch])
        except duckdb.Error as exc:
            raise StorageError(f"reading records failed: {exc}") from None

    def workflow_rows(
        self, *, since: Any = None, until: Any = None, workflow_id: str | None = None
    ) -> tuple[pa.Table, pa.Table]:
        """The record rows and span rows workflow trees are built from (see :func:`node_queries`)."""
        (rec_sql, rec_params), (span_sql, span_params) = node_queries(
            cost_column=self.cost_column,
            source_priority=self.source_priority if self._overlap() else (),
            since=since,
            until=until,
            workflow_id=workflow_id,
        )
        try:
            records = self._cursor().sql(rec_sql, params=rec_params).to_arrow_table()
            spans = self._cursor().sql(span_sql, params=span_params).to_arrow_table()
        except duckdb.Error as exc:
            raise StorageError(f"workflow query failed: {exc}") from None
        return records, spans

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a read-only SQL query (trusted SQL from inside aifinops) and return dict rows."""
        try:
            cur = self._cursor().execute(sql, list(params))
        except duckdb.Error as exc:
            raise StorageError(f"ledger query failed: {exc}") from None
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def stats(self) -> dict[str, Any]:
        """Counts, time range, sources, unpriced models and the schema version."""
        one = self.query(
            "SELECT count(*) AS records, min(charge_period_start) AS first, max(charge_period_end) AS last, "
            "count(DISTINCT currency) AS currencies FROM records"
        )[0]
        one["schema_version"] = self.schema_version
        one["sources"] = self.query(
            "SELECT source, count(*) AS records, max(charge_period_end) AS last FROM records GROUP BY 1 ORDER BY 2 DESC"
        )
        one["unpriced"] = self.query(
            "SELECT provider, coalesce(model, service) AS model, gpu_type, pricing_mode, count(*) AS records, "
            "sum(input_tokens + cached_input_tokens + cache_write_5m_tokens + cache_write_1h_tokens + output_tokens) "
            "AS tokens FROM records r WHERE cost_status = 'unpriced' AND corrects IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM records c WHERE c.corrects = r.record_id) GROUP BY ALL ORDER BY records DESC"
        )
        one["outcomes"] = self.query("SELECT count(*) AS n FROM outcomes")[0]["n"]
        return one

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            self._con.close()
