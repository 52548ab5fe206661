"""GPU records: the self-hosted endpoints' instances (source ``gpu``) and training runs (source ``jobs``).

One record per instance (or training node) per hour, with ``gpu_seconds = 3600 x gpu_count``. Endpoint
utilisation follows the traffic the endpoint serves (busy in business hours, idle at night and on
weekends); during the "idle-gpu-endpoint" incident the L4 endpoint serves nothing and idles at ~1%.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np

from aifinops.core.records import UsageRecord, make_record_id
from aifinops.demo.company import ENDPOINTS, FEATURES, TRAINING_JOBS, TrainingJob
from aifinops.demo.context import PROFILES, DemoContext

__all__ = ["gpu_day", "jobs_day", "Run", "training_runs"]

_FEATURES = {f.name: f for f in FEATURES}


@dataclass(frozen=True)
class Run:
    """One run of a training job: ``[start, end)`` on whole hours."""

    job: TrainingJob
    run_id: str
    start: datetime
    end: datetime


def _instance_id(ctx: DemoContext, *keys: int) -> str:
    return "i-0" + ctx.rng("instance", *keys).bytes(8).hex()


def gpu_day(ctx: DemoContext, day: date) -> list[UsageRecord]:
    """Hourly records of every endpoint instance on ``day``."""
    base = ctx.day_start(day)
    out: list[UsageRecord] = []
    idle_lo, idle_hi = ctx.incidents["idle-gpu-endpoint"]
    for e_idx, ep in enumerate(ENDPOINTS):
        feature = _FEATURES[ep.feature]
        rng = ctx.rng("gpu", e_idx, day.toordinal())
        volume = ctx.hourly_volume(feature, day)
        peak = feature.daily * float(PROFILES[feature.profile].max())
        busy = np.clip(volume / peak, 0.0, 1.0)
        util = np.clip(0.02 + 0.9 * busy * rng.lognormal(0.0, 0.1, size=(ep.instances, 24)), 0.0, 0.97)
        idle_util = rng.uniform(0.003, 0.02, size=(ep.instances, 24))
        gpu_seconds = Decimal(3600 * ep.gpus_per_instance)
        for j in range(ep.instances):
            instance = _instance_id(ctx, e_idx, j)
            for h in range(24):
                start = base + timedelta(hours=h)
                u = util[j, h]
                if ep.name == "llm-8b" and idle_lo <= start < idle_hi:
                    u = idle_util[j, h]
                out.append(
                    UsageRecord(
                        record_id=make_record_id("gpu", f"{instance}:{start:%Y-%m-%dT%H}"),
                        source="gpu",
                        charge_period_start=start,
                        charge_period_end=start + timedelta(hours=1),
                        provider=ep.provider,
                        service=ep.instance_type,
                        model=ep.model,
                        operation="infer",
                        category="self_hosted_inference",
                        pricing_mode=ep.pricing_mode,
                        region=ep.region,
                        gpu_seconds=gpu_seconds,
                        gpu_type=ep.gpu_type,
                        gpu_count=ep.gpus_per_instance,
                        team=ep.team,
                        project=ep.project,
                        product=feature.product,
                        feature=ep.feature,
                        environment="prod",
                        use_case=feature.use_case,
                        tags={
                            "endpoint": ep.name,
                            "gpu_util": f"{u:.3f}",
                            "instance_id": instance,
                            **({"initiative": ep.initiative} if ep.initiative else {}),
                        },
                    )
                )
    return out


def training_runs(ctx: DemoContext) -> list[Run]:
    """Every training run that overlaps the demo window (run 0 of each job is the latest)."""
    runs: list[Run] = []
    for j_idx, job in enumerate(TRAINING_JOBS):
        r = 0
        while True:
            back = round((job.first_days_before_end + r * job.every_days) * 24)
            begin = ctx.anchor - timedelta(hours=back)
            end = begin + timedelta(hours=job.overrides.get(r, job.hours))
            if end <= ctx.start:
                break
            if begin < ctx.end:
                suffix = ctx.rng("run", j_idx, r).bytes(3).hex()
                runs.append(Run(job, f"{job.name}-{begin:%Y%m%d%H}-{suffix}", begin, end))
            r += 1
    return runs


def jobs_day(ctx: DemoContext, day: date) -> list[UsageRecord]:
    """Hourly records of every training node running on ``day``."""
    base = ctx.day_start(day)
    day_end = base + timedelta(days=1)
    out: list[UsageRecord] = []
    for run in training_runs(ctx):
        lo, hi = max(run.start, base), min(run.end, day_end)
        if lo >= hi:
            continue
        job = run.job
        hours = int((hi - lo).total_seconds() // 3600)
        rng = ctx.rng("train", zlib.crc32(run.run_id.encode()), day.toordinal())
        util = rng.uniform(0.82, 0.97, size=(job.nodes, hours))
        gpu_seconds = Decimal(3600 * job.gpus_per_node)
        for node in range(job.nodes):
            for h in range(hours):
                start = lo + timedelta(hours=h)
                out.append(
                    UsageRecord(
                        record_id=make_record_id("jobs", f"{run.run_id}:node{node}:{start:%Y-%m-%dT%H}"),
                        source="jobs",
                        charge_period_start=start,
                        charge_period_end=start + timedelta(hours=1),
                        provider=job.provider,
                        service=job.instance_type,
                        operation="train",
                        category="training",
                        pricing_mode=job.pricing_mode,
                        region=job.region,
                        gpu_seconds=gpu_seconds,
                        gpu_type=job.gpu_type,
                        gpu_count=job.gpus_per_node,
                        team=job.team,
                        project=job.project,
                        feature=job.name,
                        environment="prod",
                        use_case="fine-tuning" if job.name.endswith("-ft") else "training",
                        tags={
                            "job": job.name,
                            "run_id": run.run_id,
                            "node": f"node-{node}",
                            "host": f"{run.run_id}-node-{node}",  # the node's telemetry (gpu_telemetry.py)
                            "gpu_util": f"{util[node, h]:.3f}",
                            **({"initiative": job.initiative} if job.initiative else {}),
                        },
                    )
                )
    return out
