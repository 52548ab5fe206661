"""The facade: built from settings, it is the only thing the CLI, API, web and gateway call."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

from aifinops.core.errors import InputError, NotFound
from aifinops.core.records import DIMENSIONS, MONEY_FIELDS, TOKEN_FIELDS, UsageRecord, make_record_id
from aifinops.core.settings import Settings, load_settings
from aifinops.core.timeutil import utcnow
from aifinops.facade.access import AccessMixin
from aifinops.facade.allocation import AllocationMixin
from aifinops.facade.anomaly import AnomalyMixin
from aifinops.facade.gpu import GpuMixin
from aifinops.facade.kpis import KpiMixin
from aifinops.facade.reconcile import ReconcileMixin
from aifinops.facade.value import ValueMixin
from aifinops.ledger import AppendResult, DuckDBLedger, Ledger, RollupQuery, ScanQuery

__all__ = ["App", "LEDGER_FILE"]

LEDGER_FILE = "ledger.duckdb"


class App(AllocationMixin, KpiMixin, ReconcileMixin, GpuMixin, AnomalyMixin, ValueMixin, AccessMixin):
    """aifinops as a Python object: ingest, price, store, report.

    The methods of each area live in :mod:`aifinops.facade` (one mixin per area).

    >>> app = App(Settings(), data_dir=None)          # in-memory ledger
    >>> app.report_costs(by=["team"])                 # doctest: +SKIP
    """

    def __init__(
        self,
        settings: Settings,
        data_dir: Path | None,
        *,
        ledger: Ledger | None = None,
        config_path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.data_dir = data_dir
        self.config_path = config_path
        self._ledger = ledger

    @property
    def ledger(self) -> Ledger:
        """The ledger, opened on first use (a gateway-only process never opens one)."""
        if self._ledger is None:
            path = self.data_dir / LEDGER_FILE if self.data_dir is not None else None
            self._ledger = DuckDBLedger(
                path,
                cost_column=self.settings.reporting.cost_column,
                source_priority=self.settings.reporting.source_priority,
                memory_limit=self.settings.ledger.memory_limit,
            )
        return self._ledger

    @classmethod
    def open(cls, config: Path | None, data_dir: Path) -> App:
        """Build from a config file (or none) and a data folder."""
        return cls(load_settings(config), data_dir, config_path=config)

    def reload(self, settings: Settings) -> None:
        """Take new settings (prices, discounts, policy); the ledger stays open."""
        self.settings = settings
        self.__dict__.pop("catalog", None)

    def close(self) -> None:
        """Release the ledger."""
        if self._ledger is not None:
            self._ledger.close()

    # -- pricing --------------------------------------------------------------------------------
    @cached_property
    def catalog(self) -> Any:
        """The price catalog: shipped prices plus the config's additions and discounts."""
        from aifinops.pricing import load_catalog

        return load_catalog(self.settings.prices, self.settings.discounts)

    def price(self, records: Iterable[UsageRecord]) -> int:
        """Price unpriced records in place from the catalog; returns how many got a price."""
        from aifinops.pricing import price_records

        return price_records([r for r in records if r.cost_status == "unpriced"], self.catalog)

    def prices_show(
        self, model: str, provider: str | None = None, at: datetime | None = None
    ) -> dict[str, Any]:
        """What a model costs, per token class and tier, with source and history."""
        from aifinops.pricing import describe

        return describe(model, self.catalog, at=at, provider=provider)

    # -- writing --------------------------------------------------------------------------------
    def append(self, records: Sequence[UsageRecord]) -> AppendResult:
        """Price and store records (idempotent)."""
        self.price(records)
        return self.ledger.append(records)

    def ingest(
        self,
        source: str,
        paths: Sequence[Path],
        *,
        reject_path: Path | None = None,
        progress: bool = False,
        **options: Any,
    ) -> dict[str, Any]:
        """Import files of one source, all-or-nothing: every good row lands, bad rows are reported."""
        from aifinops.ingest import SOURCES, run_import

        if source not in SOURCES:
            raise InputError(f"unknown source {source!r}; choose one of: {', '.join(sorted(SOURCES))}")
        for path in paths:
            if not Path(path).is_file():
                raise InputError(f"{path}: no such file")
        total = AppendResult()
        started = utcnow()
        with self.ledger.transaction() as tx:

            def sink(batch: list[UsageRecord]) -> None:
                nonlocal total
                self.price(batch)
                total += tx.append(batch)

            report = run_import(
                source,
                [Path(p) for p in paths],
                sink,
                reject_path=reject_path,
                progress=progress,
                options=options,
            )
        result = {**report.to_dict(), "inserted": total.inserted, "duplicates": total.duplicates}
        self._log_import(source, paths, started, result)
        return result

    def _log_import(
        self, source: str, paths: Sequence[Path], started: datetime, result: dict[str, Any]
    ) -> None:
        log = getattr(self.ledger, "log_import", None)
        if log is None:
            return
        log(
            {
                "import_id": uuid.uuid4().hex,
                "source": source,
                "path": ", ".join(str(p) for p in paths),
                "started_at": started,
                "finished_at": utcnow(),
                "rows_read": result.get("rows_read", 0),
                "inserted": result["inserted"],
                "duplicates": result["duplicates"],
                "rejected": result.get("rejected", 0),
                "skipped": result.get("skipped", 0),
            }
        )

    def load_demo(self, *, seed: int = 42, days: int = 90, scale: float = 1.0) -> dict[str, Any]:
        """Generate the demo company into the ledger (idempotent for the same seed and end hour)."""
        from aifinops.demo import generate

        data = generate(seed, days=days, scale=scale)
        total = AppendResult()
        with self.ledger.transaction() as tx:
            for batch in data.batches:
                self.price(batch)
                total += tx.append(batch)
            if data.reports is not None:  # the providers' usage reports, for reconciliation
                reports = data.reports.records()
                self.price(reports)
                total += tx.append(reports)
            outcomes = tx.append_outcomes(data.outcomes)
        from aifinops.demo.gpu_telemetry import demo_samples  # per-GPU DCGM samples of the GPU records

        gpu_samples = self.store_gpu_table(demo_samples(seed, data.start, data.end))
        return {
            "seed": seed,
            "days": days,
            "start": data.start,
            "end": data.end,
            "inserted": total.inserted,
            "duplicates": total.duplicates,
            "outcomes": outcomes.inserted,
            "gpu_samples": gpu_samples.inserted,
        }

    def reprice(self) -> dict[str, Any]:
        """Re-rate unpriced records that now have a price: a reversal plus a priced replacement each."""
        where = (
            "WHERE cost_status = 'unpriced' AND corrects IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM records c WHERE c.corrects = r.record_id)"
        )
        from aifinops.ledger.convert import table_to_records

        corrections: list[UsageRecord] = []
        still = 0
        for table in self.ledger.iter_batches(where):
            for original in table_to_records(table):
                replacement = dataclasses.replace(original, tags=dict(original.tags))
                if not self.price([replacement]):
                    still += 1
                    continue
                corrections.append(_reversal(original))
                replacement.record_id = make_record_id("rerate", original.record_id)
                replacement.tags["rerated_from"] = original.record_id
                corrections.append(replacement)
        result = self.ledger.append(corrections) if corrections else AppendResult()
        return {"repriced": len(corrections) // 2, "still_unpriced": still, "inserted": result.inserted}

    # -- reading --------------------------------------------------------------------------------
    def report_costs(
        self,
        *,
        by: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        where: dict[str, Any] | None = None,
        grain: str | None = None,
        sources: str = "authoritative",
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Spend rollup by dimensions (record columns or tag keys) and time grain."""
        if sources not in ("authoritative", "all"):
            raise InputError("sources must be 'authoritative' or 'all'")
        query = RollupQuery(
            by=tuple(by),
            grain=grain,
            since=since,
            until=until,
            where=dict(where or {}),
            sources=sources,
            limit=limit,
        )
        return self.ledger.rollup(query)

    def records(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        where: dict[str, Any] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[UsageRecord]:
        """Raw records, newest first."""
        return self.ledger.scan(
            ScanQuery(since=since, until=until, where=dict(where or {}), limit=limit, offset=offset)
        )

    def export_focus(
        self,
        out: Path,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        where: dict[str, Any] | None = None,
        fmt: str | None = None,
    ) -> dict[str, Any]:
        """Write FOCUS 1.2 CostAndUsage (CSV or Parquet by suffix) for the records in a period, streaming."""
        from aifinops.export import export_focus
        from aifinops.ledger.query import build_where

        clause, params = build_where(since, until, dict(where or {}))
        # no ORDER BY: a sort would hold the whole period in memory
        batches = self.ledger.iter_batches(clause, params)
        return export_focus(
            batches, Path(out), fmt=fmt, currency=self.settings.currency, labeller=self._allocation_labeller()
        )

    def _allocation_labeller(self) -> Any:
        """``batch -> (labels, owners)`` from the ``allocation:`` rules, for the FOCUS export."""
        from aifinops.allocation.labels import record_labels
        from aifinops.allocation.rules import compile_plan

        plan = compile_plan(self.settings.allocation)
        dims = plan.inputs()

        def labeller(batch: Any) -> tuple[list[str], list[Any]]:
            names = set(batch.schema.names)
            tags = None
            columns: dict[str, list[Any]] = {}
            for d in dims:
                if d in DIMENSIONS and d in names:
                    columns[d] = batch.column(d).to_pylist()
                    continue
                if tags is None:
                    tags = [dict(t) if t else {} for t in batch.column("tags").to_pylist()]
                key = d[4:] if d.startswith("tag:") else d
                columns[d] = [t.get(key) for t in tags]
            owners, labels = record_labels(plan, columns, batch.num_rows)
            return labels, owners

        return labeller

    def simulate_policy(
        self,
        settings: Settings,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        owner: str = "team",
    ) -> list[dict[str, Any]]:
        """Replay the ledger's records through another configuration's guardrails (a dry run); each
        finding has ``by_owner``, the same figures per ``owner`` (a record field or tag key)."""
        from aifinops.budgets.policy import compile_policy
        from aifinops.budgets.simulate import simulate
        from aifinops.ledger.convert import table_to_records

        policy = compile_policy(
            settings.budgets, settings.rate_limits, settings.models, settings.agents, settings.guardrails
        )
        clauses, params = [], []
        if since is not None:
            clauses.append("charge_period_start >= ?")
            params.append(since)
        if until is not None:
            clauses.append("charge_period_start < ?")
            params.append(until)
        where = ("WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY charge_period_start"

        def records() -> Any:
            for table in self.ledger.iter_batches(where, params):
                yield from table_to_records(table)

        return simulate(records(), policy, self.catalog, owner=owner)

    def dimensions(self) -> list[str]:
        """The columns a report can group by (any other name is a tag key)."""
        return list(DIMENSIONS)

    def doctor(self) -> dict[str, Any]:
        """Health of data and config: unpriced models, sources, schema, catalog size."""
        stats = self.ledger.stats()
        problems = []
        for row in stats["unpriced"]:
            what = f"{row['provider'] or '?'}/{row['model'] or '?'}"
            if row["gpu_type"]:
                what += f" ({row['gpu_type']} GPU, {row['pricing_mode']})"
            elif row["pricing_mode"] != "on_demand":
                what += f" ({row['pricing_mode']})"
            problems.append(
                f"{row['records']} record(s) of {what} have no price: "
                "add it under prices: in aifinops.yaml, then run `aifinops reprice`"
            )
        if stats["currencies"] and stats["currencies"] > 1:
            problems.append("the ledger holds more than one currency; reports group by currency")
        return {
            "ok": not problems,
            "problems": problems,
            "ledger": {k: v for k, v in stats.items() if k != "unpriced"},
            "unpriced": stats["unpriced"],
            "catalog_models": len(self.catalog.models),
        }

    # -- OpenTelemetry ingestion and agent workflows (issue 5) ----------------------------------
    def append_otlp(self, records: Sequence[UsageRecord], spans: Sequence[Any] = ()) -> dict[str, int]:
        """Price and store one OTLP export: its records and its structure spans land together."""
        records_table, spans_table = self.prepare_otlp(records, spans)
        return self.store_otlp([records_table], [spans_table])

    def prepare_otlp(self, records: Sequence[UsageRecord], spans: Sequence[Any] = ()) -> tuple[Any, Any]:
        """Price an export's records; its records and spans as the ledger's Arrow tables, ready to store."""
        from aifinops.ledger.convert import records_to_table
        from aifinops.ledger.spans import spans_to_table

        self.price(records)
        return records_to_table(list(records)), spans_to_table(list(spans))

    def store_otlp(self, records: Sequence[Any], spans: Sequence[Any]) -> dict[str, int]:
        """Store prepared exports (Arrow tables from :meth:`prepare_otlp`) in one transaction."""
        import pyarrow as pa

        records = [t for t in records if t.num_rows]
        spans = [t for t in spans if t.num_rows]
        with self.ledger.transaction() as tx:
            stored = tx.append(pa.concat_tables(records)) if records else AppendResult()
            structure = tx.append_spans(pa.concat_tables(spans)) if spans else AppendResult()
        return {
            "inserted": stored.inserted,
            "duplicates": stored.duplicates,
            "spans_inserted": structure.inserted,
            "span_duplicates": structure.duplicates,
        }

    def otlp_metric_point(self, stream: str) -> str | None:
        """The last point recorded for a cumulative token-usage stream (the receiver's memory on restart)."""
        rows = self.ledger.query(
            "SELECT tags['otlp.point'] AS point FROM records WHERE source = 'otlp-metrics' "
            "AND tags['otlp.stream'] = ? ORDER BY charge_period_end DESC LIMIT 1",
            [stream],
        )
        return rows[0]["point"] if rows else None

    def workflows(
        self,
        *,
        top: int = 20,
        order: str = "cost",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The most expensive (``order="cost"``) or deepest (``"depth"``) workflows that ran in the period."""
        from aifinops.workflows import ORDERS, build_workflows, rank, rows_for_ranking

        if order not in ORDERS:
            raise InputError(f"order must be one of {', '.join(ORDERS)}")
        records, spans = self.ledger.workflow_rows(since=since, until=until)
        return rank(build_workflows(*rows_for_ranking(records, spans, top)), order, top)

    def workflow(self, workflow_id: str) -> dict[str, Any]:
        """One workflow (a trace id or a conversation id): summary, cost by step and tree."""
        from aifinops.workflows import build_workflows, steps, summarize, tree

        records, spans = self.ledger.workflow_rows(workflow_id=workflow_id)
        flows = build_workflows(records.to_pylist(), spans.to_pylist())
        flow = next((f for f in flows if f.id == workflow_id), None)
        if flow is None and len(flows) == 1:
            flow = flows[0]  # a trace id of a conversation: show the whole conversation
        if flow is None:
            raise NotFound(f"no workflow with id {workflow_id!r}")
        return {**summarize(flow), "trace_ids": flow.traces, "steps": steps(flow), "tree": tree(flow)}

    def agents(self, *, since: datetime | None = None, until: datetime | None = None) -> list[dict[str, Any]]:
        """Per agent name: runs, cost per run (mean, p50, p95), duration p50/p95, over the period."""
        from aifinops.workflows import agent_stats, build_workflows, rows_for_agents

        records, spans = self.ledger.workflow_rows(since=since, until=until)
        return agent_stats(build_workflows(*rows_for_agents(records, spans)))


def _reversal(original: UsageRecord) -> UsageRecord:
    """The record that cancels ``original`` (negated quantities and money)."""

    def neg(value: Any) -> Any:
        return -value if isinstance(value, int | Decimal) and not isinstance(value, bool) else value

    reversal = dataclasses.replace(original, tags=dict(original.tags))
    for name in (*TOKEN_FIELDS, "requests", "gpu_seconds", "quantity", *MONEY_FIELDS):
        setattr(reversal, name, neg(getattr(original, name)))
    reversal.record_id = make_record_id("reversal", original.record_id)
    reversal.corrects = original.record_id
    return reversal
