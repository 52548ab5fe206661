"""Training runs: job records, pre-run estimates, approvals and runaway runs (part of the GPU facade).

A job record becomes GPU cost records (source ``jobs``, one per run per UTC day, tagged ``run_id`` and
``job``) priced from the catalog, plus a ``training_runs`` row (what ran, linked to an estimate). A run's
cost is read back from the records, so the demo's hourly node records and imported jobs are one view.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from aifinops.core.errors import InputError, NotFound

__all__ = ["TrainingMixin"]


def _day_chunks(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    chunks, lo = [], start
    while lo < end:
        midnight = datetime(lo.year, lo.month, lo.day, tzinfo=lo.tzinfo) + timedelta(days=1)
        hi = min(midnight, end)
        chunks.append((lo, hi))
        lo = hi
    return chunks


class TrainingMixin:
    """Training estimates, approvals, job records and cost per run."""

    settings: Any
    ledger: Any
    catalog: Any

    def add_jobs(self, runs: Sequence[Any]) -> dict[str, Any]:
        """Store job runs (:class:`~aifinops.ingest.jobs.JobRun`) as GPU cost records and run rows (idempotent)."""
        import pyarrow as pa

        from aifinops.core.records import UsageRecord, make_record_id
        from aifinops.ledger.schema_gpu import RUN_SCHEMA

        default_provider = self.settings.training.default_provider
        records = []
        for run in runs:
            for lo, hi in _day_chunks(run.start, run.end):
                seconds = Decimal(int((hi - lo).total_seconds())) * run.gpu_count
                tags = {"run_id": run.run_id, "job": run.name}
                if run.estimate_id:
                    tags["estimate_id"] = run.estimate_id
                records.append(
                    UsageRecord(
                        record_id=make_record_id("jobs", f"{run.run_id}:{lo.isoformat()}"),
                        source="jobs",
                        charge_period_start=lo,
                        charge_period_end=hi,
                        provider=run.provider or default_provider,
                        service=run.instance_type,
                        operation="train",
                        category="training",
                        pricing_mode=run.pricing_mode,
                        region=run.region,
                        gpu_seconds=seconds,
                        gpu_type=run.gpu_type,
                        gpu_count=run.gpu_count,
                        team=run.team,
                        project=run.project,
                        feature=run.name,
                        environment=run.environment,
                        use_case="training",
                        tags=tags,
                    )
                )
        stored = self.append(records) if records else None  # type: ignore[attr-defined]
        rows = {name: [] for name in RUN_SCHEMA.names}  # type: ignore[var-annotated]
        for run in runs:
            values = _run_row(run)
            for name in RUN_SCHEMA.names:
                rows[name].append(values.get(name))
        table = pa.Table.from_pydict(rows, schema=RUN_SCHEMA)
        result = self.ledger.append_table("training_runs", table, "run_id", "started_at") if runs else None
        return {
            "runs": len(runs),
            "runs_inserted": result.inserted if result else 0,
            "inserted": stored.inserted if stored else 0,
            "duplicates": stored.duplicates if stored else 0,
            "unpriced_records": sum(r.cost_status == "unpriced" for r in records),
        }

    # -- estimates ------------------------------------------------------------------------------
    def train_estimate(
        self,
        *,
        params: float,
        tokens: float,
        gpu: str,
        count: int,
        mfu: float | None = None,
        provider: str | None = None,
        pricing_mode: str = "on_demand",
        instance_type: str | None = None,
        rate: Decimal | None = None,
        name: str | None = None,
        team: str | None = None,
        project: str | None = None,
        save: bool = True,
    ) -> dict[str, Any]:
        """GPU hours and dollars (low-high) of a run from ``6 x params x tokens``; saved for approval."""
        from aifinops.core.timeutil import utcnow
        from aifinops.gpu.training import estimate_training

        cfg = self.settings.training
        if pricing_mode not in ("on_demand", "reserved", "spot"):
            raise InputError("pricing_mode must be on_demand, reserved or spot")
        provider = provider or cfg.default_provider
        if rate is None:
            price = self.catalog.resolve_gpu(provider, gpu, instance_type, utcnow())
            rate = price.per_gpu_hour(pricing_mode) if price is not None else None
        try:
            est = estimate_training(
                params=params, tokens=tokens, gpu=gpu, count=count, mfu=mfu or cfg.default_mfu,
                spread=cfg.mfu_spread, rate_per_gpu_hour=rate,
            )  # fmt: skip
        except ValueError as exc:
            raise InputError(str(exc)) from None
        needs = est.cost is None or est.cost > cfg.approval_threshold
        key = "|".join(map(str, (name, team, project, params, tokens, est.gpu_type, count, est.mfu, provider,
                                 pricing_mode, rate)))  # fmt: skip
        estimate_id = "est-" + hashlib.blake2b(key.encode(), digest_size=6).hexdigest()
        row = {
            "estimate_id": estimate_id,
            "created_at": utcnow(),
            "name": name,
            "team": team,
            "project": project,
            **{k: v for k, v in est.to_dict().items() if k not in ("rate_per_gpu_hour",)},
            "provider": provider,
            "pricing_mode": pricing_mode,
            "rate_per_gpu_hour": rate,
            "needs_approval": needs,
        }
        if save:
            import pyarrow as pa

            from aifinops.ledger.schema_gpu import ESTIMATE_SCHEMA

            table = pa.Table.from_pylist(
                [{k: row.get(k) for k in ESTIMATE_SCHEMA.names}], schema=ESTIMATE_SCHEMA
            )
            self.ledger.append_table("training_estimates", table, "estimate_id", "created_at")
            return self.training_estimate(estimate_id)
        row["status"] = "pending_approval" if needs else "approved"
        row["unpriced"] = rate is None
        row["approval_threshold"] = cfg.approval_threshold
        return row

    def training_estimates(self) -> list[dict[str, Any]]:
        """Every saved estimate with its approval status, newest first."""
        from aifinops.gpu.training import PEAK_TFLOPS

        rows = self.ledger.query(
            "SELECT e.* EXCLUDE (ingested_at), a.approved_by, a.approved_at, a.note FROM training_estimates e "
            "LEFT JOIN (SELECT * FROM training_approvals QUALIFY row_number() OVER "
            "(PARTITION BY estimate_id ORDER BY approved_at) = 1) a USING (estimate_id) ORDER BY e.created_at DESC"
        )
        threshold = self.settings.training.approval_threshold
        for r in rows:
            r["flops"] = 6.0 * r["params"] * r["tokens"]
            r["peak_tflops"] = PEAK_TFLOPS.get(r["gpu_type"])
            r["wall_clock_hours"] = r["gpu_hours"] / r["gpu_count"]
            r["status"] = "approved" if (r["approved_at"] or not r["needs_approval"]) else "pending_approval"
            r["unpriced"] = r["cost"] is None
            r["approval_threshold"] = threshold
        return rows

    def training_estimate(self, estimate_id: str) -> dict[str, Any]:
        """One saved estimate."""
        found = [r for r in self.training_estimates() if r["estimate_id"] == estimate_id]
        if not found:
            raise NotFound(f"no training estimate {estimate_id!r}")
        return found[0]

    def train_approve(self, estimate_id: str, *, by: str, note: str | None = None) -> dict[str, Any]:
        """Approve an estimate that is over the approval threshold (append-only; approving twice is a no-op)."""
        from aifinops.core.timeutil import utcnow

        if not by or not by.strip():
            raise InputError("by: say who approves")
        est = self.training_estimate(estimate_id)
        if est["status"] != "approved":
            self.ledger.execute(
                "INSERT INTO training_approvals (approval_id, estimate_id, approved_at, approved_by, note) "
                "VALUES (?, ?, ?, ?, ?)",
                [f"apr-{estimate_id}", estimate_id, utcnow(), by.strip(), note],
            )
        return self.training_estimate(estimate_id)

    # -- runs -----------------------------------------------------------------------------------
    def training_runs(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Cost per training run (from the ledger), its estimate, efficiency and the runaway flag.

        A run is a runaway when its GPU hours exceed its estimate's (or, with no estimate, the median of
        its job's other runs) by more than ``training.runaway_margin``."""
        from aifinops.gpu.training import achieved_mfu, is_runaway

        cost = getattr(self.ledger, "cost_column", "effective_cost")
        runs = self.ledger.query(
            "SELECT tags['run_id'] AS run_id, any_value(coalesce(tags['job'], feature)) AS name, "
            "any_value(team) AS team, any_value(project) AS project, min(charge_period_start) AS started_at, "
            "max(charge_period_end) AS ended_at, CAST(sum(gpu_seconds) / 3600 AS DOUBLE) AS gpu_hours, "
            f"sum({cost}) AS cost, count(*) FILTER (WHERE cost_status = 'unpriced') AS unpriced_records, "
            "any_value(gpu_type) AS gpu_type, any_value(pricing_mode) AS pricing_mode, "
            "avg(TRY_CAST(tags['gpu_util'] AS DOUBLE)) AS mean_gpu_util, any_value(tags['estimate_id']) AS tag_est "
            "FROM records WHERE operation = 'train' AND gpu_seconds IS NOT NULL AND tags['run_id'] IS NOT NULL "
            "GROUP BY 1 ORDER BY started_at"
        )
        meta = {r["run_id"]: r for r in self.ledger.query("SELECT * FROM training_runs")}
        estimates = {e["estimate_id"]: e for e in self.training_estimates()}
        by_job: dict[str, list[float]] = {}
        for r in runs:
            by_job.setdefault(r["name"], []).append(r["gpu_hours"])
        margin = self.settings.training.runaway_margin
        out = []
        for r in runs:
            if since is not None and r["ended_at"] <= since or until is not None and r["started_at"] >= until:
                continue
            m = meta.get(r["run_id"], {})
            tagged = r.pop("tag_est", None)
            est = estimates.get(m.get("estimate_id") or tagged or "")
            others = list(by_job[r["name"]])
            others.remove(r["gpu_hours"])
            if est is not None:
                expected, basis = est["gpu_hours"], f"estimate {est['estimate_id']}"
            elif others:
                expected, basis = (
                    statistics.median_low(others),
                    f"median of {len(others)} other run(s) of the job",
                )
            else:
                expected, basis = None, None
            hours = r["gpu_hours"]
            params, tokens = (
                m.get("params") or (est or {}).get("params"),
                m.get("tokens") or (est or {}).get("tokens"),
            )
            r.update(
                estimate_id=est["estimate_id"] if est else None,
                estimated_cost=est["cost"] if est else None,
                expected_gpu_hours=expected,
                expected_basis=basis,
                vs_expected=round(hours / expected, 4) if expected else None,
                runaway=is_runaway(hours, expected, margin),
                approved=(est["status"] == "approved") if est else None,
                achieved_mfu=achieved_mfu(params or 0, tokens or 0, r["gpu_type"] or "", hours),
                cost_per_gpu_hour=(r["cost"] / Decimal(repr(hours))).quantize(Decimal("0.000001"))
                if r["cost"] is not None and hours
                else None,
                cost_per_million_tokens=(r["cost"] * 1_000_000 / Decimal(repr(tokens))).quantize(
                    Decimal("0.000001")
                )
                if r["cost"] is not None and tokens
                else None,
            )
            out.append(r)
        return out


def _run_row(run: Any) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "name": run.name,
        "team": run.team,
        "project": run.project,
        "started_at": run.start,
        "ended_at": run.end,
        "provider": run.provider,
        "instance_type": run.instance_type,
        "gpu_type": run.gpu_type,
        "gpu_count": run.gpu_count,
        "pricing_mode": run.pricing_mode,
        "estimate_id": run.estimate_id,
        "params": run.params,
        "tokens": run.tokens,
    }
