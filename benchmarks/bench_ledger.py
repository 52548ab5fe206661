"""Ledger benchmark: import throughput and rollup latency, ours against plain DuckDB in the same run.

Run from the repository root (numbers, not pass/fail; see ``benchmarks/README.md``)::

    .venv/bin/python benchmarks/bench_ledger.py                            # 10 million records
    .venv/bin/python benchmarks/bench_ledger.py --records 1000000 --batch 250000 --out /tmp/r.json

Records are generated as Arrow tables in ``RECORD_SCHEMA`` with numpy (generation is not timed).
Each batch is made once and handed to both contenders, alternating which goes first.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from aifinops.ledger import DuckDBLedger, RollupQuery
from aifinops.ledger.query import build_rollup
from aifinops.ledger.schema import RECORD_COLUMNS, RECORD_SCHEMA

START = datetime(2025, 1, 1, tzinfo=UTC)
DAYS = 90
_START_US = int(START.timestamp()) * 1_000_000
_SPAN_US = DAYS * 86_400 * 1_000_000
_MONEY = pa.decimal128(38, 12)
_MICRO = pa.scalar(Decimal("0.000001"), pa.decimal128(7, 6))
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)

PROVIDERS = ("openai", "anthropic", "google", "mistral", "bedrock")
MODELS = tuple(f"{PROVIDERS[i % 5]}-model-{i:02d}" + ("-embed" if i % 10 == 9 else "") for i in range(40))
_MODEL_PROVIDER = np.arange(40) % 5
_EMBED = np.array([i % 10 == 9 for i in range(40)])
_REASONING = np.arange(40) % 4 == 0
# Prices in nano-dollars per token (150 = $0.15 per million): integer arithmetic, no floats in money.
_P_IN = np.array([150 + 2_850 * ((i * 7) % 11) // 10 for i in range(40)], dtype=np.int64)
_P_OUT = np.where(_EMBED, 0, _P_IN * 4)
TEAMS = tuple(f"team-{i:02d}" for i in range(20))
_DISCOUNT_PCT = np.array([(0, 10, 20, 0, 15)[i % 5] for i in range(20)], dtype=np.int64)
ENVS = ("prod", "staging", "dev")
APPS = tuple(f"app-{i}" for i in range(12))


def _zipf(count: int, s: float = 0.9) -> np.ndarray:
    weights = 1.0 / np.arange(1, count + 1) ** s
    return weights / weights.sum()


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64: a bijection on uint64, so distinct inputs give distinct outputs."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _hex(words: np.ndarray) -> pa.Array:
    """Rows of uint64 words as fixed-width lowercase hex strings, built straight into Arrow buffers."""
    n, k = words.shape
    raw = np.ascontiguousarray(words.astype(">u8")).view(np.uint8).reshape(n, 8 * k)
    chars = np.empty((n, 16 * k), dtype=np.uint8)
    chars[:, 0::2] = _HEX[raw >> 4]
    chars[:, 1::2] = _HEX[raw & 15]
    offsets = np.arange(0, 16 * k * (n + 1), 16 * k, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(chars)])


def _pick(vocab: tuple[str, ...], idx: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(list(vocab), pa.string()).take(pa.array(idx, pa.int32(), mask=null))


def _const(value: str, n: int, null: np.ndarray | None = None) -> pa.Array:
    return _pick((value,), np.zeros(n, np.int32), null)


def _keep(values: pa.Array, keep: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(keep), values, pa.scalar(None, values.type))


def _money(micro: np.ndarray, null: np.ndarray) -> pa.Array:
    """Integer micro-dollars to DECIMAL(38, 12) through Arrow casts (exact)."""
    units = pa.array(micro, pa.int64(), mask=null).cast(pa.decimal128(19, 0))
    return pc.multiply(units, _MICRO).cast(_MONEY)


def _tokens(rng: np.random.Generator, n: int, mean: float, sigma: float, cap: int) -> np.ndarray:
    return np.minimum(rng.lognormal(mean, sigma, n), cap).astype(np.int64)


@dataclass(frozen=True, slots=True)
class Workload:
    """``records`` synthetic gateway records over 90 days, made in batches of ``batch``.

    ``layout="time"``: batch *k* covers its own slice of the 90 days (a daily export, a gateway
    flushing in time order). ``layout="random"``: every batch spans all 90 days (the worst case for
    the time-pruned duplicate check).
    """

    records: int
    batch: int
    seed: int = 7
    layout: str = "time"
    source: str = "gateway"

    @property
    def batches(self) -> int:
        return math.ceil(self.records / self.batch)

    def make(self, k: int) -> pa.Table:
        """Batch ``k`` (deterministic for the seed)."""
        lo, hi = k * self.batch, min(self.records, (k + 1) * self.batch)
        n = hi - lo
        rng = np.random.default_rng([self.seed, k])
        row = np.arange(lo, hi, dtype=np.uint64) + np.uint64(self.seed << 40)
        if self.layout == "time":
            t0, t1 = lo * _SPAN_US // self.records, hi * _SPAN_US // self.records
        else:
            t0, t1 = 0, _SPAN_US
        start = _START_US + rng.integers(t0, max(t1, t0 + 1), n)
        latency = rng.lognormal(6.5, 0.8, n)
        end = start + (latency * 1000).astype(np.int64)

        model = rng.choice(40, n, p=_zipf(40))
        team = rng.choice(20, n, p=_zipf(20))
        embed = _EMBED[model]
        inp = _tokens(rng, n, 6.5, 1.3, 200_000)
        cached = np.where(rng.random(n) < 0.3, _tokens(rng, n, 7.0, 1.2, 150_000), 0)
        cw5 = np.where(rng.random(n) < 0.05, _tokens(rng, n, 6.0, 1.0, 50_000), 0)
        cw1h = np.where(rng.random(n) < 0.01, _tokens(rng, n, 6.0, 1.0, 50_000), 0)
        out = np.where(embed, 0, _tokens(rng, n, 5.3, 1.0, 32_000))
        reasoning = np.where(_REASONING[model], (out * rng.uniform(0.3, 0.8, n)).astype(np.int64), 0)
        requests = np.where(rng.random(n) < 0.01, 1 + (rng.pareto(1.5, n) * 10).astype(np.int64), 1)
        mode = rng.choice(3, n, p=[0.9, 0.08, 0.02])

        p_in = _P_IN[model]
        nano = (
            inp * p_in + cached * (p_in // 10) + cw5 * (p_in * 5 // 4) + cw1h * p_in * 2 + out * _P_OUT[model]
        )
        nano = np.where(mode == 1, nano // 2, nano)
        list_micro = nano // 1000
        eff_micro = list_micro * (100 - _DISCOUNT_PCT[team]) // 100
        unpriced = rng.random(n) < 0.005

        traced = rng.random(n) < 0.7
        error = rng.random(n) < 0.02
        env = rng.choice(3, n, p=[0.8, 0.15, 0.05])
        app = rng.choice(12, n, p=_zipf(12))
        exp = rng.random(n) < 0.1
        cols: dict[str, pa.Array] = {
            "record_id": _hex(np.stack([_mix(row), _mix(row ^ np.uint64(0x5DEECE66D))], axis=1)),
            "source": _const(self.source, n),
            "charge_period_start": pa.array(start, pa.timestamp("us", tz="UTC")),
            "charge_period_end": pa.array(end, pa.timestamp("us", tz="UTC")),
            "provider": _pick(PROVIDERS, _MODEL_PROVIDER[model]),
            "service": _const("inference", n),
            "model": _pick(MODELS, model),
            "model_requested": _pick(MODELS, model),
            "operation": _pick(
                ("chat", "responses", "embeddings"), np.where(embed, 2, rng.integers(0, 2, n))
            ),
            "category": _pick(("hosted_inference", "embedding"), embed.astype(np.int32)),
            "pricing_mode": _pick(("on_demand", "batch", "priority"), mode),
            "region": _pick(
                ("us-east", "us-west", "eu-west", "ap-south"), rng.integers(0, 4, n), rng.random(n) < 0.5
            ),
            "input_tokens": pa.array(inp),
            "cached_input_tokens": pa.array(cached),
            "cache_write_5m_tokens": pa.array(cw5),
            "cache_write_1h_tokens": pa.array(cw1h),
            "output_tokens": pa.array(out),
            "reasoning_tokens": pa.array(reasoning),
            "requests": pa.array(requests),
            "list_cost": _money(list_micro, unpriced),
            "effective_cost": _money(eff_micro, unpriced),
            "billed_cost": _money(eff_micro, unpriced),
            "currency": _const("USD", n),
            "price_id": _pick(tuple(f"{m}@2025-01-01" for m in MODELS), model, unpriced),
            "cost_status": _pick(("priced", "unpriced"), unpriced.astype(np.int32)),
            "team": _pick(TEAMS, team),
            "project": _pick(tuple(f"proj-{i:02d}" for i in range(60)), team * 3 + rng.integers(0, 3, n)),
            "product": _pick(tuple(f"product-{i}" for i in range(5)), team // 4),
            "feature": _pick(tuple(f"feature-{i:02d}" for i in range(16)), rng.integers(0, 16, n)),
            "customer": _pick(
                tuple(f"cust-{i:04d}" for i in range(1000)),
                rng.choice(1000, n, p=_zipf(1000)),
                rng.random(n) < 0.3,
            ),
            "environment": _pick(ENVS, env),
            "use_case": _pick(tuple(f"use-case-{i}" for i in range(8)), rng.integers(0, 8, n)),
            "user": _pick(
                tuple(f"user-{i:04d}" for i in range(2000)), rng.integers(0, 2000, n), rng.random(n) < 0.4
            ),
            "api_key": _pick(tuple(f"key-{i:03d}" for i in range(100)), team * 5 + rng.integers(0, 5, n)),
            "tags": _tags(env, app, exp),
            "trace_id": _keep(
                _hex(np.stack([_mix(row ^ np.uint64(1)), _mix(row ^ np.uint64(2))], 1)), traced
            ),
            "span_id": _keep(_hex(_mix(row ^ np.uint64(3))[:, None]), traced),
            "workflow": _pick(tuple(f"workflow-{i}" for i in range(6)), rng.integers(0, 6, n), ~traced),
            "depth": pa.array(rng.integers(0, 4, n).astype(np.int32), mask=~traced),
            "attempt": pa.array(np.where(rng.random(n) < 0.05, 2, 1).astype(np.int32)),
            "cache_hit": pa.array(cached > 0),
            "status": _pick(("ok", "error"), error.astype(np.int32)),
            "error": _const("rate_limited", n, ~error),
            "latency_ms": pa.array(latency),
            "charge_category": _const("usage", n),
        }
        arrays = [
            cols[name] if name in cols else pa.nulls(n, typ)
            for name, typ in zip(RECORD_SCHEMA.names, RECORD_SCHEMA.types, strict=True)
        ]
        table = pa.Table.from_arrays(arrays, schema=RECORD_SCHEMA)
        assert table.schema == RECORD_SCHEMA
        return table


def _tags(env: np.ndarray, app: np.ndarray, exp: np.ndarray) -> pa.Array:
    """``{"env": ..., "app": ...}`` on every row plus ``"exp"`` on some: a map built from offsets."""
    counts = 2 + exp.astype(np.int32)
    offsets = np.zeros(len(env) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    first = offsets[:-1]
    keys = np.empty(offsets[-1], dtype=np.int32)
    values = np.empty(offsets[-1], dtype=np.int32)
    keys[first], keys[first + 1], keys[first[exp] + 2] = 0, 1, 2
    values[first], values[first + 1] = env, 3 + app
    values[first[exp] + 2] = 15 + (first[exp] % 2)
    key_arr = _pick(("env", "app", "exp"), keys)
    value_arr = _pick((*ENVS, *APPS, "a", "b"), values)
    return pa.MapArray.from_arrays(pa.array(offsets), key_arr, value_arr)


# -- the contenders ---------------------------------------------------------------------------------

PLAIN_DDL = "CREATE TABLE records (" + ", ".join(f'"{name}" {sql}' for name, sql, _ in RECORD_COLUMNS) + ")"


class Plain:
    """Plain DuckDB: the same columns (NOT NULL only), bulk ``INSERT ... SELECT * FROM batch``."""

    def __init__(self, path: Path) -> None:
        self.con = duckdb.connect(str(path))
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(PLAIN_DDL)

    def append(self, table: pa.Table) -> None:
        self.con.register("batch", table)
        try:
            self.con.execute("INSERT INTO records SELECT * FROM batch")
        finally:
            self.con.unregister("batch")

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, params or []).fetchall()

    def close(self) -> None:
        self.con.close()


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall seconds and the result."""
    wall, _, result = _clocked(fn)
    return wall, result


def _clocked(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall seconds, CPU seconds of this process (all DuckDB threads included) and the result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def bench_import(work: Workload, ours: DuckDBLedger, plain: Plain) -> dict[str, Any]:
    """Append every batch to both (alternating who goes first), then re-import batch 0."""
    seconds = {"ours": 0.0, "plain": 0.0}
    cpu = {"ours": 0.0, "plain": 0.0}
    gen_seconds = 0.0
    for k in range(work.batches):
        gen, table = _timed(lambda k=k: work.make(k))
        gen_seconds += gen
        order = ("ours", "plain") if k % 2 == 0 else ("plain", "ours")
        for who in order:
            if who == "ours":
                took, used, result = _clocked(lambda t=table: ours.append(t))
                assert result.inserted == table.num_rows, f"batch {k}: ours inserted {result}"
            else:
                took, used, _ = _clocked(lambda t=table: plain.append(t))
            seconds[who] += took
            cpu[who] += used
        _log(
            f"  batch {k + 1}/{work.batches}: {table.num_rows:,} rows "
            f"(generated in {gen:.1f}s; totals ours {seconds['ours']:.1f}s, plain {seconds['plain']:.1f}s)"
        )
        del table
    for who, checkpoint in (
        ("ours", lambda: ours.query("CHECKPOINT")),
        ("plain", lambda: plain.query("CHECKPOINT")),
    ):
        took, used, _ = _clocked(checkpoint)
        seconds[who] += took
        cpu[who] += used
    n_ours = ours.query("SELECT count(*) AS n FROM records")[0]["n"]
    n_plain = plain.query("SELECT count(*) FROM records")[0][0]
    assert n_ours == n_plain == work.records, f"row counts differ: ours {n_ours}, plain {n_plain}"

    first = work.make(0)
    reimport, result = _timed(lambda: ours.append(first))
    assert result.inserted == 0 and result.duplicates == first.num_rows, f"re-import inserted rows: {result}"
    ours_rps, plain_rps = work.records / seconds["ours"], work.records / seconds["plain"]
    return {
        "records": work.records,
        "batch": work.batch,
        "layout": work.layout,
        "generation_s": round(gen_seconds, 2),
        "ours_s": round(seconds["ours"], 3),
        "plain_s": round(seconds["plain"], 3),
        "ours_records_per_s": round(ours_rps),
        "plain_records_per_s": round(plain_rps),
        "ratio_ours_over_plain": round(ours_rps / plain_rps, 3),
        "target_min_ratio": 0.5,
        "ours_cpu_s": round(cpu["ours"], 3),
        "plain_cpu_s": round(cpu["plain"], 3),
        "cpu_ratio_ours_over_plain": round(cpu["plain"] / cpu["ours"], 3),
        "reimport_records": first.num_rows,
        "reimport_s": round(reimport, 3),
        "reimport_records_per_s": round(first.num_rows / reimport),
    }


# -- rollups ----------------------------------------------------------------------------------------

#: the metrics both sides compute, so that both run the same aggregation
_SAME = ("requests", "input_tokens", "output_tokens", "records")
_PLAIN_METRICS = (
    "sum(effective_cost) AS cost, sum(requests) AS requests, sum(input_tokens) AS input_tokens, "
    "sum(output_tokens) AS output_tokens, count(*) AS records"
)


@dataclass(frozen=True, slots=True)
class RollupCase:
    name: str
    query: RollupQuery
    plain_sql: str
    plain_params: tuple[Any, ...] = ()


def rollup_cases() -> list[RollupCase]:
    """The three rollups, each with the SQL someone would write by hand on the plain table."""
    since, until = START + timedelta(days=DAYS - 30), START + timedelta(days=DAYS)
    return [
        RollupCase(
            "team x model, last 30 days",
            RollupQuery(by=("team", "model"), since=since, until=until, metrics=_SAME),
            f"SELECT team, model, {_PLAIN_METRICS} FROM records "
            "WHERE charge_period_start >= ? AND charge_period_start < ? GROUP BY team, model ORDER BY cost DESC",
            (since, until),
        ),
        RollupCase(
            "team by day, 90 days",
            RollupQuery(by=("team",), grain="day", metrics=_SAME),
            f"SELECT team, date_trunc('day', charge_period_start) AS period, {_PLAIN_METRICS} FROM records "
            "GROUP BY team, period ORDER BY period, cost DESC",
        ),
        RollupCase(
            "tag:env, 90 days",
            RollupQuery(by=("tag:env",), metrics=_SAME),
            f"SELECT tags['env'] AS env, {_PLAIN_METRICS} FROM records GROUP BY env ORDER BY cost DESC",
        ),
    ]


_COMPARED = ("cost", "requests", "input_tokens", "output_tokens", "records")


def _check_same(case: RollupCase, ours: list[dict[str, Any]], plain: list[tuple[Any, ...]]) -> None:
    """Both answers hold the same groups with the same totals, and ours is ordered by cost."""
    keys = len(case.query.by) + (case.query.grain is not None)
    names = [*case.query.by, *(("period",) if case.query.grain else ())]
    mine = {tuple(row[n] for n in names): tuple(row[m] for m in _COMPARED) for row in ours}
    theirs = {row[:keys]: tuple(row[keys:]) for row in plain}
    assert len(mine) == len(ours), f"{case.name}: ours repeats a group"
    assert mine == theirs, (
        f"{case.name}: ours and plain DuckDB disagree ({len(mine)} vs {len(theirs)} groups)"
    )
    total = sum((row[0] for row in theirs.values() if row[0] is not None), Decimal(0))
    assert total > 0, f"{case.name}: empty answer"
    for before, after in zip(ours, ours[1:], strict=False):
        if case.query.grain is None or before["period"] == after["period"]:
            assert (before["cost"] or 0) >= (after["cost"] or 0), f"{case.name}: ours not ordered by cost"


def _median_ms(runs: list[float]) -> float:
    return round(statistics.median(runs) * 1000, 2)


def bench_rollups(ours: DuckDBLedger, plain: Plain, runs: int) -> list[dict[str, Any]]:
    """Warm up once, then ``runs`` alternating runs of each side; medians in ms."""
    results = []
    for case in rollup_cases():
        our_sql, our_params = build_rollup(case.query, cost_column=ours.cost_column)
        sides: dict[str, Callable[[], Any]] = {
            "ours": lambda q=case.query: ours.rollup(q),
            "plain": lambda c=case: plain.query(c.plain_sql, list(c.plain_params)),
            # diagnostic: our generated SQL, executed raw on the plain table (no Python row dicts)
            "our_sql_on_plain": lambda s=our_sql, p=our_params: plain.query(s, p),
            # diagnostic: the hand-written SQL on our table (isolates table layout from SQL shape)
            "plain_sql_on_ours": lambda c=case: ours.query(c.plain_sql, list(c.plain_params)),
        }
        answers = {who: fn() for who, fn in sides.items()}  # warm-up
        _check_same(case, answers["ours"], answers["plain"])
        times: dict[str, list[float]] = {who: [] for who in sides}
        cpu_times: dict[str, list[float]] = {who: [] for who in sides}
        for i in range(runs):
            order = list(sides) if i % 2 == 0 else list(reversed(sides))
            for who in order:
                wall, used, _ = _clocked(sides[who])
                times[who].append(wall)
                cpu_times[who].append(used)
        ms = {who: _median_ms(t) for who, t in times.items()}
        cpu_ms = {who: _median_ms(t) for who, t in cpu_times.items()}
        results.append(
            {
                "case": case.name,
                "groups": len(answers["ours"]),
                "ours_ms": ms["ours"],
                "plain_ms": ms["plain"],
                "our_sql_on_plain_ms": ms["our_sql_on_plain"],
                "plain_sql_on_ours_ms": ms["plain_sql_on_ours"],
                "ratio_ours_over_plain": round(ms["ours"] / ms["plain"], 3),
                "target_max_ratio": 1.5,
                "ours_cpu_ms": cpu_ms["ours"],
                "plain_cpu_ms": cpu_ms["plain"],
                "cpu_ratio_ours_over_plain": round(cpu_ms["ours"] / cpu_ms["plain"], 3),
                "runs": runs,
            }
        )
        _log(f"  {case.name}: ours {ms['ours']} ms, plain {ms['plain']} ms")
    return results


# -- end-to-end file import -------------------------------------------------------------------------

_CSV_DROP = {"tags", "cost_status", "gpu_seconds", "gpu_type", "gpu_count", "quantity", "unit", "corrects"}


def _csv_table(work: Workload) -> pa.Table:
    """The workload as a generic records file: UsageRecord columns, ``tag.<key>`` for tags, costs given."""
    table = work.make(0)
    priced = pc.equal(table["cost_status"], "priced")
    table = table.filter(priced)
    keep = [n for n in table.column_names if n not in _CSV_DROP]
    out = table.select(keep)
    for key in ("env", "app"):
        out = out.append_column(f"tag.{key}", pc.map_lookup(table["tags"], key, "first"))
    return out


def bench_csv(rows: int, workdir: Path, seed: int) -> dict[str, Any]:
    """``App.ingest("records", [csv])`` against DuckDB ``read_csv`` into the plain table."""
    try:
        from aifinops.app import App
        from aifinops.core.settings import Settings
        from aifinops.ingest import SOURCES
    except ImportError as exc:
        return {"skipped": f"aifinops.ingest is not available ({exc})"}
    if "records" not in SOURCES:
        return {"skipped": "the generic 'records' source is not registered in aifinops.ingest.SOURCES"}
    table = _csv_table(Workload(rows, rows, seed=seed, source="records"))
    path = workdir / "records.csv"
    pacsv.write_csv(table, path)
    size_mb = path.stat().st_size / 1e6
    n = table.num_rows
    expected = pc.sum(table["effective_cost"]).as_py()
    del table

    app = App(Settings(), data_dir=workdir / "csv-ours")
    try:
        ours_s, report = _timed(lambda: app.ingest("records", [path]))
        assert report["inserted"] == n and report["rejected"] == 0, f"CSV import: {report}"
        ours_total = app.ledger.query("SELECT sum(effective_cost) AS c FROM records")[0]["c"]
    finally:
        app.close()

    plain = Plain(workdir / "csv-plain.duckdb")
    types = {name: sql.replace(" NOT NULL", "") for name, sql, _ in RECORD_COLUMNS if name not in _CSV_DROP}
    types.update({"tag.env": "VARCHAR", "tag.app": "VARCHAR"})
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in types.items()) + "}"
    sql = (
        'INSERT INTO records BY NAME SELECT * EXCLUDE ("tag.env", "tag.app"), '
        "'reported' AS cost_status, MAP {'env': \"tag.env\", 'app': \"tag.app\"} AS tags "
        f"FROM read_csv(?, header = true, columns = {columns})"
    )
    plain_s, _ = _timed(lambda: plain.query(sql, [str(path)]))
    plain_n, plain_total = plain.query("SELECT count(*), sum(effective_cost) FROM records")[0]
    plain.close()
    assert plain_n == n, f"plain CSV import loaded {plain_n} of {n} rows"
    assert ours_total == plain_total == expected, f"CSV totals differ: ours {ours_total}, plain {plain_total}"
    return {
        "records": n,
        "file_mb": round(size_mb, 1),
        "ours_s": round(ours_s, 2),
        "plain_s": round(plain_s, 2),
        "ours_records_per_s": round(n / ours_s),
        "plain_records_per_s": round(n / plain_s),
        "ratio_ours_over_plain": round(plain_s / ours_s, 4),
    }


# -- report -----------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """Where the numbers came from."""
    try:
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        memory_gb = None
    return {
        "cpu_count": os.cpu_count(),
        "memory_gb": memory_gb,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pyarrow": pa.__version__,
        "numpy": np.__version__,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _rate(value: float) -> str:
    return f"{value / 1e6:.2f} M/s" if value >= 1e6 else f"{value / 1e3:.1f} k/s"


def render(results: dict[str, Any]) -> str:
    """The results as a plain-text table."""
    imp = results["import"]
    m = results["machine"]
    head = f"{'ours':>12}{'plain DuckDB':>14}{'ours/plain':>12}{'(cpu)':>8}{'target':>10}"
    lines = [
        f"aifinops ledger benchmark: {imp['records']:,} records, batches of {imp['batch']:,} ({imp['layout']} layout)",
        f"{m['cpu_count']} CPUs, {m['memory_gb']} GB, DuckDB {m['duckdb']}, Python {m['python']}; load average "
        f"{m['load_average_at_start'][0]} at start, {m['load_average_at_end'][0]} at end",
        "",
        f"{'import, records/s':<42}{head}",
        f"{'bulk append':<42}{_rate(imp['ours_records_per_s']):>12}{_rate(imp['plain_records_per_s']):>14}"
        f"{imp['ratio_ours_over_plain']:>12.2f}{imp['cpu_ratio_ours_over_plain']:>8.2f}{'>= 0.50':>10}",
        f"{'idempotent re-import (all duplicates)':<42}{_rate(imp['reimport_records_per_s']):>12}{'-':>14}",
        "",
        f"{'rollup, median ms':<42}{head}",
    ]
    for r in results["rollups"]:
        lines.append(
            f"{r['case'] + ' (' + str(r['groups']) + ' groups)':<42}{r['ours_ms']:>12.1f}{r['plain_ms']:>14.1f}"
            f"{r['ratio_ours_over_plain']:>12.2f}{r['cpu_ratio_ours_over_plain']:>8.2f}{'<= 1.50':>10}"
        )
    lines.append(
        "  diagnostics, same order: our SQL on the plain table "
        + ", ".join(f"{r['our_sql_on_plain_ms']:.1f}" for r in results["rollups"])
        + " ms; the hand-written SQL on our table "
        + ", ".join(f"{r['plain_sql_on_ours_ms']:.1f}" for r in results["rollups"])
        + " ms"
    )
    csv = results.get("csv_import") or {}
    if csv:
        lines.append("")
    if "skipped" in csv:
        lines.append(f"CSV import: skipped: {csv['skipped']}")
    elif csv:
        lines.append(
            f"{'CSV file import, records/s':<42}{_rate(csv['ours_records_per_s']):>12}"
            f"{_rate(csv['plain_records_per_s']):>14}{csv['ratio_ours_over_plain']:>12.3f}"
        )
        lines.append(f"  ({csv['records']:,} rows, {csv['file_mb']} MB; ours is App.ingest('records'))")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--records", type=int, default=10_000_000, help="records to import (default 10,000,000)"
    )
    parser.add_argument("--batch", type=int, default=1_000_000, help="records per append (default 1,000,000)")
    parser.add_argument(
        "--layout", choices=("time", "random"), default="time", help="time range of each batch"
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per rollup after one warm-up")
    parser.add_argument(
        "--csv-records", type=int, default=1_000_000, help="rows of the CSV import (0 skips it)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where the databases go (default: a temp dir)"
    )
    parser.add_argument(
        "--keep", type=Path, default=None, help="build the databases in this folder and keep them"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "bench_ledger.json")
    args = parser.parse_args(argv)
    work = Workload(args.records, min(args.batch, args.records), seed=args.seed, layout=args.layout)
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
    }
    with contextlib.ExitStack() as stack:
        if args.keep is not None:
            workdir = args.keep
            workdir.mkdir(parents=True, exist_ok=True)
            for name in ("ours.duckdb", "plain.duckdb", "records.csv", "csv-plain.duckdb", "csv-ours"):
                if (workdir / name).exists():
                    raise SystemExit(f"{workdir / name} exists: --keep needs a fresh folder")
        else:
            workdir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-ledger-", dir=args.workdir))
            )
        ours = DuckDBLedger(workdir / "ours.duckdb")
        plain = Plain(workdir / "plain.duckdb")
        try:
            _log(f"import: {work.records:,} records in {work.batches} batches -> {workdir}")
            results["import"] = bench_import(work, ours, plain)
            _log(f"rollups: one warm-up, then the median of {args.runs} runs each")
            results["rollups"] = bench_rollups(ours, plain, args.runs)
            results["db_mb"] = {
                "ours": round((workdir / "ours.duckdb").stat().st_size / 1e6, 1),
                "plain": round((workdir / "plain.duckdb").stat().st_size / 1e6, 1),
            }
        finally:
            ours.close()
            plain.close()
        if args.csv_records > 0:
            _log(f"CSV import: {args.csv_records:,} rows through App.ingest('records') and read_csv")
            results["csv_import"] = bench_csv(args.csv_records, workdir, args.seed + 1)
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(render(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    _log(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
