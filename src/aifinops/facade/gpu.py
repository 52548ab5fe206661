"""Facade part: GPU telemetry, GPU cost, idle waste, self-hosted cost per token, training runs (issue 7).

GPU *cost* lives in the records ledger (cloud bills, the demo's hourly instance records, job records, and
telemetry of hosts mapped with ``ledger: true``); telemetry (``gpu_samples``) tells how busy the GPUs were.
Each GPU-hour of :meth:`GpuMixin.gpu_utilization` is read from one place, so nothing is counted twice:

- a host mapped in ``gpus.hosts``: its telemetry, owned per GPU / pod by the mapping rules and priced at
  the mapping's plan (catalog rate for its instance or GPU type and pricing mode, or ``rate_per_gpu_hour``);
- any other host with GPU records (``host`` or ``instance_id`` tag): the records give cost and owner, the
  host's telemetry over the record's period gives busy and idle shares (else the ``gpu_util`` tag);
- telemetry of an unmapped host no record covers: shown, unpriced.

Money stays exact: a shared GPU-hour (MIG instances, time-sliced pods) is priced once and cut with the
allocation area's largest-remainder split (:mod:`aifinops.gpu.sharing`, honouring a matching
``allocation.shared`` pool's ``split_by: fixed`` ratios and ``idle`` choice); a record's idle part is its cost
split between busy and idle GPU-seconds the same way. A team key reads only its GPUs (:data:`GPU_TABLE_SCOPES`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aifinops.access.scope import register_table_scope
from aifinops.core.errors import InputError
from aifinops.facade._gpu_data import GpuDataMixin
from aifinops.facade._gpu_training import TrainingMixin

__all__ = ["GpuMixin", "GPU_DIMENSIONS", "GPU_TABLE_SCOPES"]

#: What a team key reads of the GPU tables (``training_runs`` and ``training_estimates`` have a ``team``):
#: the samples the host mapping gave the team when they were stored, or (no mapping) the samples of hosts
#: while the team's GPU records covered them; the approvals of the team's estimates.
GPU_TABLE_SCOPES = {
    "gpu_samples": "team = {team} OR (team IS NULL AND EXISTS (SELECT 1 FROM (SELECT DISTINCT "
    "coalesce(tags['host'], tags['instance_id']) AS h, unnest(generate_series(date_trunc('hour', "
    "charge_period_start), charge_period_end - INTERVAL 1 MICROSECOND, INTERVAL 1 HOUR)) AS hour "
    "FROM {db}.main.records WHERE team = {team} AND gpu_seconds IS NOT NULL "
    "AND charge_period_end > charge_period_start) c WHERE c.h = host AND c.hour = date_trunc('hour', ts)))",
    "training_approvals": "estimate_id IN (SELECT estimate_id FROM {db}.main.training_estimates WHERE team = {team})",
}
for _table, _predicate in GPU_TABLE_SCOPES.items():
    register_table_scope(_table, _predicate)

#: What GPU reports group and filter by.
GPU_DIMENSIONS = (
    "team",
    "project",
    "endpoint",
    "job",
    "environment",
    "host",
    "gpu_type",
    "provider",
    "pricing_mode",
    "namespace",
    "source",
)


class GpuMixin(GpuDataMixin, TrainingMixin):
    """GPU telemetry, GPU cost, idle waste, self-hosted cost per token, training runs (issue 7)."""

    def gpu_utilization(
        self,
        *,
        by: Sequence[str] = ("team",),
        since: datetime | None = None,
        until: datetime | None = None,
        where: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Per group: ``provisioned_gpu_hours``, ``busy_gpu_hours``, ``idle_gpu_hours``, ``utilization``
        (0-1 float: busy / measured hours), ``gpu_cost`` and ``idle_cost`` (Decimal); also
        ``unmeasured_gpu_hours``, ``mean_gpu_util``, ``unpriced_gpu_hours``, ``energy_kwh``, ``co2e_kg``.

        ``by`` and ``where`` keys are :data:`GPU_DIMENSIONS`; idle means utilization under
        ``gpus.idle_threshold`` (15 %)."""
        from aifinops.gpu.usage import summarize

        by = list(by)
        where = dict(where or {})
        for name in (*by, *where):
            if name not in GPU_DIMENSIONS:
                raise InputError(f"GPU reports group by {', '.join(GPU_DIMENSIONS)}; not {name!r}")
        slices = self._gpu_slices(since, until)
        if where:
            slices = [s for s in slices if all(_matches(s.dims.get(k), v) for k, v in where.items())]
        return summarize(slices, by, grid_intensity=self.settings.gpus.grid_intensity)

    # -- ingestion ------------------------------------------------------------------------------
    def ingest_gpu(
        self,
        source: str,
        paths: Sequence[Path],
        *,
        reject_path: Path | None = None,
        host: str | None = None,
        tz: str | None = None,
        interval: float | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """Import DCGM exporter scrapes (``dcgm``), nvidia-smi CSV logs (``nvidia-smi``) or job records (``jobs``)."""
        from aifinops.ingest.gpu_run import GPU_SOURCES, drain

        if source not in GPU_SOURCES:
            raise InputError(f"unknown GPU source {source!r}; choose one of: {', '.join(GPU_SOURCES)}")
        options: dict[str, Any] = {}
        step = interval if interval is not None else self.settings.gpus.sample_interval
        if source == "dcgm":
            options = {"interval": step, "at": at}
        elif source == "nvidia-smi":
            options = {"interval": step, "host": host, "tz": tz or "UTC"}
        elif host or tz or interval or at:
            raise InputError("host, tz, interval and at apply to the dcgm and nvidia-smi sources only")
        items, report = drain(source, [Path(p) for p in paths], reject_path=reject_path, **options)
        stored = self.add_jobs(items) if source == "jobs" else self.store_gpu_samples(items)
        return {**report.to_dict(), **stored}

    def gpu_endpoints(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Self-hosted endpoints: GPU cost (idle included), tokens and requests served, cost per million tokens
        and per 1,000 inferences, and what the same tokens would cost on hosted APIs (``compare_to`` models)."""
        from aifinops.core.money import quantize

        gpu = {r["endpoint"]: r for r in self.gpu_utilization(by=["endpoint"], since=since, until=until)}
        served = self._served_tokens(since, until)
        configured = {e.name: e for e in self.settings.gpus.endpoints}
        names = sorted({n for n in (*gpu, *served, *configured) if n})
        out = []
        for name in names:
            g = gpu.get(name, {})
            s = served.get(name, {})
            cost: Decimal = g.get("gpu_cost", Decimal(0))
            tokens = int(s.get("tokens") or 0)
            requests = int(s.get("requests") or 0)
            ep = configured.get(name)
            compare = ep.compare_to if ep and ep.compare_to is not None else self.settings.gpus.compare_to
            per_m = quantize(cost * 1_000_000 / tokens) if tokens else None
            hosted = [self._hosted_cost(m, s, per_m) for m in compare] if tokens else []
            out.append(
                {
                    "endpoint": name,
                    "model": s.get("model") or (ep.model if ep else None),
                    "gpu_cost": cost,
                    "idle_cost": g.get("idle_cost", Decimal(0)),
                    "provisioned_gpu_hours": g.get("provisioned_gpu_hours", 0.0),
                    "utilization": g.get("utilization"),
                    "unpriced_gpu_hours": g.get("unpriced_gpu_hours", 0.0),
                    "input_tokens": int(s.get("input_tokens") or 0),
                    "output_tokens": int(s.get("output_tokens") or 0),
                    "tokens": tokens,
                    "requests": requests,
                    "cost_per_million_tokens": per_m,
                    "cost_per_1k_requests": quantize(cost * 1000 / requests) if requests else None,
                    "hosted": hosted,
                }
            )
        return out

    def gpu_devices(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[dict[str, Any]]:
        """The fleet as telemetry sees it: one row per GPU with its hours, utilization, idle share and power."""
        from aifinops.facade._gpu_data import _time_filter

        threshold = self.settings.gpus.idle_threshold
        clause, params = _time_filter("ts", since, until)
        return self.ledger.query(  # type: ignore[attr-defined]
            "SELECT host, gpu_index, gpu_uuid, any_value(gpu_model) AS gpu_model, any_value(gpu_type) AS gpu_type, "
            "list_sort(list_distinct(list(mig_profile))) AS mig_profiles, "
            "list_sort(list_distinct(list(namespace || '/' || pod))) AS pods, "
            "min(ts) AS first_seen, max(ts) AS last_seen, count(DISTINCT ts) AS readings, "
            "round(sum(share * seconds) / 3600, 6) AS gpu_hours, "
            "round(coalesce(sum(share * seconds) FILTER (WHERE util < ?), 0) / 3600, 6) AS idle_gpu_hours, "
            "round(sum(util * share * seconds) FILTER (WHERE util IS NOT NULL) "
            "/ sum(share * seconds) FILTER (WHERE util IS NOT NULL), 6) AS mean_gpu_util, "
            "round(sum(power_w * seconds) FILTER (WHERE power_w IS NOT NULL) "
            "/ sum(share * seconds) FILTER (WHERE power_w IS NOT NULL), 3) AS mean_power_w, "
            "round(coalesce(sum(power_w * seconds), 0) / 3.6e6, 6) AS energy_kwh "
            f"FROM gpu_samples WHERE {clause} GROUP BY host, gpu_index, gpu_uuid ORDER BY host, gpu_index",
            [threshold, *params],
        )

    # -- collecting -----------------------------------------------------------------------------
    def collect_nvml(self, *, count: int = 1, interval: float = 10.0) -> dict[str, Any]:
        """Read this machine's GPUs through NVML ``count`` times, ``interval`` seconds apart, and store them."""
        from aifinops.gpu.nvml import collect

        if count < 1 or interval <= 0:
            raise InputError("count must be at least 1 and interval positive")
        samples = collect(count=count, interval=interval)
        return {"samples": len(samples), **self.store_gpu_samples(samples)}

    def scrape_dcgm(self, urls: Sequence[str] = (), *, interval: float | None = None) -> dict[str, Any]:
        """Scrape DCGM exporters once (``urls``, else ``gpus.scrape``) and store the samples."""
        import httpx

        from aifinops.core.timeutil import utcnow
        from aifinops.ingest.gpu_dcgm import read_exposition

        targets = [(u, interval or self.settings.gpus.sample_interval) for u in urls] or [
            (t.url, interval or t.interval) for t in self.settings.gpus.scrape
        ]
        if not targets:
            raise InputError("no DCGM exporter to scrape: give a URL or set gpus.scrape in aifinops.yaml")
        samples: list[Any] = []
        errors: list[str] = []
        for url, step in targets:
            if not url.startswith(("http://", "https://")):
                errors.append(f"{url}: not an http(s) URL")
                continue
            try:
                response = httpx.get(url, timeout=10.0)
                response.raise_for_status()
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                errors.append(f"{url}: {exc}")
                continue
            reader = read_exposition(response.text.splitlines(), at=utcnow(), interval=step, where=url)
            try:
                samples.extend(s for s in reader if not isinstance(s, InputError))
            except InputError as exc:
                errors.append(exc.message)
        stored = self.store_gpu_samples(samples)
        return {"targets": len(targets), "samples": len(samples), **stored, "errors": errors}

    def _hosted_cost(self, model: str, served: dict[str, Any], self_per_m: Decimal | None) -> dict[str, Any]:
        """What ``served``'s tokens would have cost on a hosted model (catalog list price, today)."""
        from aifinops.core.records import UsageRecord
        from aifinops.core.timeutil import utcnow
        from aifinops.pricing import price_records

        now = utcnow()
        rec = UsageRecord(
            record_id="compare",
            source="compare",
            charge_period_start=now,
            charge_period_end=now,
            model=model,
            input_tokens=int(served.get("input_tokens") or 0),
            cached_input_tokens=int(served.get("cached_input_tokens") or 0),
            cache_write_5m_tokens=int(served.get("cache_write_tokens") or 0),
            output_tokens=int(served.get("output_tokens") or 0),
            requests=max(int(served.get("requests") or 0), 2),  # many requests: no long-context tier
        )
        price_records([rec], self.catalog)
        cost = rec.effective_cost
        tokens = int(served.get("tokens") or 0)
        per_m = cost * 1_000_000 / tokens if cost is not None and tokens else None
        return {
            "model": model,
            "price_id": rec.price_id,
            "cost": cost,
            "cost_per_million_tokens": per_m.quantize(Decimal("0.000001")) if per_m is not None else None,
            "self_hosted_cheaper": (self_per_m < per_m)
            if per_m is not None and self_per_m is not None
            else None,
        }


def _matches(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, list | tuple | set):
        return value in wanted or (value is None and None in wanted)
    return value == wanted
