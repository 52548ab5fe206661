"""GPU telemetry storage and the slices GPU reports are built from (part of the GPU facade)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from aifinops.allocation.split import split

__all__ = ["GpuDataMixin"]

_CACHE_MISS = object()


def _time_filter(column: str, since: datetime | None, until: datetime | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if since is not None:
        clauses.append(f"{column} >= ?")
        params.append(since)
    if until is not None:
        clauses.append(f"{column} < ?")
        params.append(until)
    return (" AND ".join(clauses) or "TRUE"), params


class GpuDataMixin:
    """Samples in, slices out."""

    settings: Any
    ledger: Any
    catalog: Any

    # -- storing --------------------------------------------------------------------------------
    def store_gpu_samples(self, samples: Sequence[Any]) -> dict[str, Any]:
        """Store telemetry samples (idempotent); hosts mapped with ``ledger: true`` also get cost records."""
        import pyarrow as pa

        from aifinops.gpu.samples import sample_id
        from aifinops.ledger.schema_gpu import SAMPLE_SCHEMA

        if not samples:
            return {"inserted": 0, "duplicates": 0, "gpu_records": 0}
        columns: dict[str, list[Any]] = {name: [] for name in SAMPLE_SCHEMA.names}
        owners: dict[tuple[Any, ...], Any] = {}
        fields = [name for name in SAMPLE_SCHEMA.names if name not in ("sample_id", "team")]
        for s in samples:
            columns["sample_id"].append(sample_id(s))
            for name in fields:
                columns[name].append(getattr(s, name))
            owner = self._owner(
                owners, host=s.host, gpu_index=s.gpu_index, gpu_uuid=s.gpu_uuid, namespace=s.namespace,
                pod=s.pod, container=s.container, job=s.job,
            )  # fmt: skip
            columns["team"].append(owner.team)  # who may read it with a team key (see schema_gpu)
        table = pa.Table.from_pydict(columns, schema=SAMPLE_SCHEMA)
        result = self.store_gpu_table(table)
        records = self._telemetry_records(samples)
        added = self.append(records).inserted if records else 0  # type: ignore[attr-defined]
        return {"inserted": result.inserted, "duplicates": result.duplicates, "gpu_records": added}

    def store_gpu_table(self, table: Any) -> Any:
        """Append an Arrow table of ``gpu_samples`` rows (:data:`~aifinops.ledger.schema_gpu.SAMPLE_SCHEMA`),
        idempotent by ``sample_id``; no cost records are written (the demo's telemetry comes this way)."""
        return self.ledger.append_table("gpu_samples", table, "sample_id", "ts")

    def _owner(self, cache: dict[tuple[Any, ...], Any], **keys: Any) -> Any:
        from aifinops.gpu.attribution import resolve_owner

        key = tuple(sorted(keys.items()))
        owner = cache.get(key)
        if owner is None:
            gpus = self.settings.gpus
            owner = cache[key] = resolve_owner(gpus.hosts, gpus.kubernetes, **keys)
        return owner

    def _rate(self, cache: dict[tuple[Any, ...], Any], owner: Any, gpu_type: str | None, at: datetime) -> Any:
        """The per-GPU-hour rate of an owner's plan on ``at``'s day (None: no price)."""
        if owner.rate_per_gpu_hour is not None:
            return owner.rate_per_gpu_hour
        gtype = owner.gpu_type or gpu_type
        key = (owner.provider, owner.instance_type, gtype, owner.pricing_mode, at.date())
        rate = cache.get(key, _CACHE_MISS)
        if rate is _CACHE_MISS:
            price = self.catalog.resolve_gpu(owner.provider, gtype, owner.instance_type, at)
            rate = cache[key] = price.per_gpu_hour(owner.pricing_mode) if price is not None else None
        return rate

    def _telemetry_records(self, samples: Sequence[Any]) -> list[Any]:
        """Cost records (source ``gpu-telemetry``) of samples from hosts mapped with ``ledger: true``."""
        from aifinops.core.money import quantize
        from aifinops.core.records import UsageRecord, make_record_id
        from aifinops.gpu.samples import sample_id

        if not any(m.ledger for m in self.settings.gpus.hosts):
            return []
        cache: dict[tuple[Any, ...], Any] = {}
        out = []
        for s in samples:
            owner = self._owner(
                cache, host=s.host, gpu_index=s.gpu_index, gpu_uuid=s.gpu_uuid, namespace=s.namespace,
                pod=s.pod, container=s.container, job=s.job,
            )  # fmt: skip
            if not owner.ledger:
                continue
            tags = {"host": s.host, "gpu": str(s.gpu_uuid or s.gpu_index)}
            tags.update({k: v for k in ("endpoint", "job") if (v := getattr(owner, k))})
            if s.util is not None:
                tags["gpu_util"] = f"{s.util:.4f}"
            out.append(
                UsageRecord(
                    record_id=make_record_id("gpu-telemetry", sample_id(s)),
                    source="gpu-telemetry",
                    charge_period_start=s.ts,
                    charge_period_end=s.ts + timedelta(seconds=s.seconds),
                    provider=owner.provider or "on-prem",
                    service=owner.instance_type,
                    operation="train" if owner.job else "infer",
                    category="training" if owner.job else "self_hosted_inference",
                    pricing_mode=owner.pricing_mode,
                    gpu_seconds=Decimal(repr(round(s.seconds * s.share, 6))),
                    gpu_type=owner.gpu_type or s.gpu_type,
                    gpu_count=1,
                    team=owner.team,
                    project=owner.project,
                    environment=owner.environment,
                    tags=tags,
                )
            )
            if owner.rate_per_gpu_hour is not None:  # on-prem: the configured (amortized) rate
                rec = out[-1]
                rec.list_cost = rec.effective_cost = rec.billed_cost = quantize(
                    owner.rate_per_gpu_hour * rec.gpu_seconds / 3600
                )
                rec.cost_status = "reported"
                rec.price_id = f"gpus.hosts:{owner.host_rule}"
        return out

    # -- reading --------------------------------------------------------------------------------
    def _gpu_slices(self, since: datetime | None, until: datetime | None) -> list[Any]:
        """The slices of every GPU-hour, each read from one place (see :meth:`GpuMixin.gpu_utilization`)."""
        from fnmatch import fnmatchcase

        clause, params = _time_filter("ts", since, until)
        patterns = [m.host for m in self.settings.gpus.hosts]
        hosts = [
            r["host"]
            for r in self.ledger.query(
                f"SELECT DISTINCT host FROM gpu_samples WHERE host IS NOT NULL AND {clause}", params
            )
        ]
        mapped = [h for h in hosts if any(fnmatchcase(h, p) for p in patterns)]
        return [*self._telemetry_slices(since, until, mapped), *self._record_slices(since, until, mapped)]

    def _telemetry_slices(
        self, since: datetime | None, until: datetime | None, mapped: list[str]
    ) -> Iterator[Any]:
        """Telemetry of hosts mapped in ``gpus.hosts``, and of host-hours no GPU record covers.

        Each physical GPU-hour is priced once and its cost cut exactly among its parts (MIG instances, pods)
        by :func:`aifinops.gpu.sharing.share_gpu_cost`, under the ``allocation.shared`` pool matching it."""
        from collections import defaultdict

        rows = self._telemetry_parts(since, until, mapped)
        gpu_hours: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            gpu_hours[(r["hour"], r["host"], r["gpu_index"], r["gpu_uuid"])].append(r)
        owners: dict[tuple[Any, ...], Any] = {}
        rates: dict[tuple[Any, ...], Any] = {}
        for (hour, host, gpu_index, gpu_uuid), parts in gpu_hours.items():
            yield from self._gpu_hour_slices(hour, host, gpu_index, gpu_uuid, parts, owners, rates)

    def _telemetry_parts(
        self, since: datetime | None, until: datetime | None, mapped: list[str]
    ) -> list[dict[str, Any]]:
        """Samples of one GPU-hour grouped by part (instance, pod), share, interval and idle state."""
        threshold = self.settings.gpus.idle_threshold
        clause, params = _time_filter("ts", since, until)
        return self.ledger.query(  # type: ignore[no-any-return]
            "WITH rh AS (SELECT DISTINCT coalesce(tags['host'], tags['instance_id']) AS host, "
            "unnest(generate_series(date_trunc('hour', charge_period_start), "
            "charge_period_end - INTERVAL 1 MICROSECOND, INTERVAL 1 HOUR)) AS hour FROM records "
            "WHERE gpu_seconds IS NOT NULL AND source <> 'gpu-telemetry' AND charge_period_end > charge_period_start "
            "AND coalesce(tags['host'], tags['instance_id']) IN (SELECT DISTINCT host FROM gpu_samples)), "
            f"s AS (SELECT *, date_trunc('hour', ts) AS hour FROM gpu_samples WHERE {clause}) "
            "SELECT hour, host, gpu_index, gpu_uuid, gpu_type, mig_instance, namespace, pod, container, job, "
            "share, seconds, CASE WHEN util IS NULL THEN NULL ELSE util < ? END AS idle, count(*) AS n, "
            "coalesce(sum(util * share * seconds), 0) / 3600 AS util_h, "
            "coalesce(sum(power_w * seconds), 0) / 3.6e6 AS kwh FROM s "
            "WHERE list_contains(?, host) OR NOT EXISTS (SELECT 1 FROM rh WHERE rh.host = s.host AND rh.hour = s.hour) "
            "GROUP BY ALL ORDER BY ALL",
            [*params, threshold, mapped],
        )

    def _gpu_hour_slices(
        self,
        hour: datetime,
        host: str,
        gpu_index: int | None,
        gpu_uuid: str | None,
        parts: list[dict[str, Any]],
        owners: dict[tuple[Any, ...], Any],
        rates: dict[tuple[Any, ...], Any],
    ) -> Iterator[Any]:
        """The slices of one physical GPU-hour: its cost cut exactly among its parts."""
        from fractions import Fraction

        from aifinops.gpu.sharing import IDLE_OWNER, exact_share, gpu_hour_cost, share_gpu_cost
        from aifinops.gpu.usage import UsageSlice

        gpu = self._owner(owners, host=host, gpu_index=gpu_index, gpu_uuid=gpu_uuid)
        gpu_type = gpu.gpu_type or parts[0]["gpu_type"]
        rate = self._rate(rates, gpu, gpu_type, hour)
        weights = [r["n"] * exact_share(r["share"]) * Fraction(Decimal(repr(r["seconds"]))) for r in parts]
        dims_of = []
        for r in parts:
            owner = self._owner(
                owners, host=host, gpu_index=gpu_index, gpu_uuid=gpu_uuid, namespace=r["namespace"],
                pod=r["pod"], container=r["container"], job=r["job"],
            )  # fmt: skip
            dims_of.append(
                {
                    "team": owner.team, "project": owner.project, "endpoint": owner.endpoint, "job": owner.job,
                    "environment": owner.environment, "host": host, "gpu_type": gpu_type,
                    "provider": gpu.provider, "pricing_mode": gpu.pricing_mode, "namespace": r["namespace"],
                    "source": "telemetry",
                }
            )  # fmt: skip
        pool = self._gpu_pool(gpu, host, gpu_index, gpu_uuid, gpu_type)
        among = (pool.among or self.settings.allocation.dimension) if pool else "team"
        among = among if among in dims_of[0] else "team"
        idle = [bool(r["idle"]) for r in parts]
        if rate is None:
            shares = [(i, i, None, 1.0) for i in range(len(parts))]
        else:
            ratios = (
                [pool.ratios.get(str(d.get(among))) for d in dims_of]
                if pool and pool.split_by == "fixed"
                else None
            )
            cost = gpu_hour_cost(rate, sum(weights, Fraction(0)))
            shares = share_gpu_cost(  # type: ignore[assignment]
                cost, weights, idle, ratios=ratios, idle_policy=pool.idle if pool else None
            )
        for i, payer, amount, fraction in shares:
            r = parts[i]
            dims = dict(dims_of[payer]) if payer != IDLE_OWNER else dict(dims_of[i])
            if payer == IDLE_OWNER and pool is not None:
                dims[among] = pool.owner if pool.idle == "owner" else self.settings.allocation.idle_bucket
            hours = float(weights[i]) / 3600 * fraction
            s = UsageSlice(
                dims=dims, provisioned_h=hours, util_h=r["util_h"] * fraction, energy_kwh=r["kwh"] * fraction
            )
            if r["idle"] is not None:
                if idle[i]:
                    s.idle_h = hours
                else:
                    s.busy_h = hours
            if amount is None:
                s.unpriced_h = hours
            else:
                s.cost = amount
                s.idle_cost = amount if idle[i] else s.idle_cost
            yield s

    def _gpu_pool(
        self, gpu: Any, host: str, gpu_index: int | None, gpu_uuid: str | None, gpu_type: str | None
    ) -> Any:
        """The first ``allocation.shared`` pool whose ``match`` fits this GPU, or None."""
        from aifinops.allocation.rules import Matcher

        pools = self.settings.allocation.shared
        if not pools:
            return None
        row: dict[str, Any] = {
            "source": "gpu-telemetry", "host": host, "gpu": str(gpu_uuid or gpu_index), "gpu_type": gpu_type,
            "provider": gpu.provider, "service": gpu.instance_type, "pricing_mode": gpu.pricing_mode,
            "team": gpu.team, "project": gpu.project, "endpoint": gpu.endpoint, "environment": gpu.environment,
            "job": gpu.job, "category": "training" if gpu.job else "self_hosted_inference",
        }  # fmt: skip
        row.update({f"tag:{k}": v for k, v in list(row.items())})
        return next((p for p in pools if Matcher.of(p.match)(row)), None)

    def _record_slices(
        self, since: datetime | None, until: datetime | None, mapped: list[str]
    ) -> Iterator[Any]:
        """GPU records (cost and owner) of hosts not mapped in ``gpus.hosts``; their busy and idle shares come
        from the host's telemetry over the record's period when there is some, else from the ``gpu_util`` tag.

        A record's idle cost is exact: all of it when wholly idle, else its cost split between busy and idle
        GPU-seconds by :func:`aifinops.allocation.split.split` (the parts sum to the cost). Its energy is the
        host's metered energy over the period, times the record's part of the GPU time telemetry saw."""
        from aifinops.gpu.usage import UsageSlice

        threshold = self.settings.gpus.idle_threshold
        cost = getattr(self.ledger, "cost_column", "effective_cost")
        clause, params = _time_filter("charge_period_start", since, until)
        rows = self.ledger.query(
            "WITH tel AS (SELECT host, date_trunc('hour', ts) AS hour, "
            "coalesce(sum(share * seconds) FILTER (WHERE util >= ?), 0) AS busy_s, "
            "coalesce(sum(share * seconds) FILTER (WHERE util < ?), 0) AS idle_s, "
            "coalesce(sum(util * share * seconds) FILTER (WHERE util IS NOT NULL), 0) AS util_s, "
            "sum(share * seconds) AS tel_s, coalesce(sum(power_w * seconds), 0) / 3.6e6 AS kwh "
            "FROM gpu_samples GROUP BY ALL), "
            "r AS (SELECT record_id, team, project, environment, provider, pricing_mode, gpu_type, source, "
            "tags['endpoint'] AS endpoint, coalesce(tags['job'], CASE WHEN operation = 'train' THEN feature END) "
            "AS job, coalesce(tags['host'], tags['instance_id']) AS host, CAST(gpu_seconds / 3600.0 AS DOUBLE) AS h, "
            f"TRY_CAST(tags['gpu_util'] AS DOUBLE) AS tag_util, {cost} AS cost, cost_status, "
            "charge_period_start AS s, charge_period_end AS e FROM records "
            f"WHERE gpu_seconds IS NOT NULL AND source <> 'gpu-telemetry' AND {clause} "
            "AND NOT list_contains(?, coalesce(tags['host'], tags['instance_id'], ''))), "
            "j AS (SELECT r.record_id, any_value(COLUMNS(r.* EXCLUDE (record_id, s, e))), sum(t.busy_s) AS busy_s, "
            "sum(t.idle_s) AS idle_s, sum(t.util_s) AS util_s, sum(t.tel_s) AS tel_s, sum(t.kwh) AS kwh "
            "FROM r LEFT JOIN tel t ON t.host = r.host "
            "AND t.hour >= date_trunc('hour', r.s) AND t.hour < r.e GROUP BY r.record_id), "
            "f AS (SELECT *, coalesce(busy_s, 0) + coalesce(idle_s, 0) AS m FROM j), "
            "g AS (SELECT * EXCLUDE (util_s, m, tag_util, tel_s, kwh), "
            "CASE WHEN m > 0 THEN busy_s / m WHEN tag_util IS NOT NULL THEN CAST(tag_util >= ? AS DOUBLE) END AS bf, "
            "CASE WHEN m > 0 THEN idle_s / m WHEN tag_util IS NOT NULL THEN CAST(tag_util < ? AS DOUBLE) END AS idf, "
            "CASE WHEN m > 0 THEN util_s / m ELSE tag_util END AS u, "
            "CASE WHEN tel_s > 0 THEN kwh * least(1.0, h * 3600 / tel_s) ELSE 0 END AS kwh FROM f) "
            "SELECT team, project, endpoint, job, environment, host, gpu_type, provider, pricing_mode, source, "
            # a record idle in part is a row of its own: its idle cost is split exactly below
            "CASE WHEN idf > 0 AND idf < 1 AND cost IS NOT NULL THEN record_id END AS part_of, "
            "any_value(busy_s) AS part_busy_s, any_value(idle_s) AS part_idle_s, "
            "sum(h) AS gpu_h, coalesce(sum(h * bf), 0) AS busy_h, coalesce(sum(h * idf), 0) AS idle_h, "
            "coalesce(sum(h * u), 0) AS util_h, coalesce(sum(kwh), 0) AS kwh, coalesce(sum(cost), 0) AS cost, "
            "coalesce(sum(cost) FILTER (WHERE idf = 1), 0) AS idle_cost, "
            "coalesce(sum(h) FILTER (WHERE cost_status = 'unpriced'), 0) AS unpriced_h FROM g GROUP BY ALL",
            [threshold, threshold, *params, mapped, threshold, threshold],
        )
        for r in rows:
            dims = {
                k: r[k] for k in ("team", "project", "endpoint", "job", "environment", "host", "gpu_type")
            }
            dims.update(
                provider=r["provider"], pricing_mode=r["pricing_mode"], namespace=None, source=r["source"]
            )
            total = Decimal(r["cost"])
            idle = Decimal(r["idle_cost"])
            if r["part_of"] is not None:  # busy and idle GPU-seconds of one record: an exact split
                weights = [Decimal(repr(r["part_busy_s"])), Decimal(repr(r["part_idle_s"]))]
                idle = split(total, weights)[1]
            yield UsageSlice(
                dims=dims,
                provisioned_h=r["gpu_h"],
                busy_h=r["busy_h"],
                idle_h=r["idle_h"],
                util_h=r["util_h"],
                energy_kwh=r["kwh"],
                cost=total,
                idle_cost=idle,
                unpriced_h=r["unpriced_h"],
            )

    def _served_tokens(self, since: datetime | None, until: datetime | None) -> dict[str, dict[str, Any]]:
        """Tokens and requests each self-hosted endpoint served (its ``endpoint`` tag, or ``gpus.endpoints``)."""
        cases, case_params = [], []
        for ep in self.settings.gpus.endpoints:
            conds = []
            for column in ("provider", "model"):
                if getattr(ep, column):
                    conds.append(f"{column} = ?")
                    case_params.append(getattr(ep, column))
            if conds:
                cases.append(f"WHEN {' AND '.join(conds)} THEN ?")
                case_params.append(ep.name)
        name = f"CASE {' '.join(cases)} ELSE tags['endpoint'] END" if cases else "tags['endpoint']"
        clause, params = _time_filter("charge_period_start", since, until)
        rows = self.ledger.query(
            f"WITH t AS (SELECT {name} AS endpoint, * FROM records WHERE gpu_seconds IS NULL AND {clause}) "
            "SELECT endpoint, mode() WITHIN GROUP (ORDER BY model) AS model, "
            "CAST(sum(input_tokens) AS BIGINT) AS input_tokens, "
            "CAST(sum(cached_input_tokens) AS BIGINT) AS cached_input_tokens, "
            "CAST(sum(cache_write_5m_tokens + cache_write_1h_tokens) AS BIGINT) AS cache_write_tokens, "
            "CAST(sum(output_tokens) AS BIGINT) AS output_tokens, CAST(sum(requests) AS BIGINT) AS requests, "
            "count(*) AS n FROM t WHERE endpoint IS NOT NULL AND endpoint <> '' GROUP BY endpoint",
            [*case_params, *params],
        )
        out = {}
        for r in rows:
            r["tokens"] = (
                r["input_tokens"] + r["cached_input_tokens"] + r["cache_write_tokens"] + r["output_tokens"]
            )
            r["requests"] = r["requests"] or r["n"]
            out[r["endpoint"]] = r
        return out
