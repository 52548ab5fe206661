"""Detectors over things rather than series: runaway agent workflows, idle inference endpoints, runaway
training runs. Inputs are small summaries the facade reads from the ledger (or the harness generates)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from aifinops.anomaly.model import Anomaly, DetectorConfig

__all__ = [
    "Workflow",
    "EndpointHour",
    "TrainingRun",
    "detect_runaway_workflows",
    "detect_idle_endpoints",
    "detect_runaway_training",
]


@dataclass(frozen=True)
class Workflow:
    """One agent workflow (trace or workflow id): its owner, agent (use case), span of time, calls, cost."""

    id: str
    owner: str
    agent: str
    start: datetime
    end: datetime
    calls: int
    cost: float


def _crossing(w: Workflow, threshold: float, step: timedelta) -> datetime:
    """When the workflow's call count passed ``threshold`` (calls taken as evenly spread), rounded up to the
    end of the detector's interval."""
    frac = min(1.0, threshold / max(w.calls, 1))
    at = w.start + (w.end - w.start) * frac
    slots = -(-(at - w.start) // step) if at > w.start else 1
    return w.start + max(1, slots) * step


def detect_runaway_workflows(
    workflows: list[Workflow], cfg: DetectorConfig, *, step: timedelta = timedelta(minutes=5)
) -> list[Anomaly]:
    """Workflows with far more calls than the agent's usual ones (p95 of its other workflows x factor)."""
    by_agent: dict[tuple[str, str], list[Workflow]] = defaultdict(list)
    for w in workflows:
        by_agent[(w.owner, w.agent)].append(w)
    out = []
    for (owner, agent), flows in by_agent.items():
        calls = np.array([w.calls for w in flows], dtype=float)
        if len(calls) < 5:
            usual = 10.0
        else:
            usual = float(np.percentile(calls, 95))
        limit = max(cfg.runaway_calls / cfg.sensitivity, cfg.runaway_factor / cfg.sensitivity * usual)
        typical = float(np.median(calls)) if len(calls) else 0.0
        for w in flows:
            if w.calls <= limit:
                continue
            per_call = w.cost / w.calls if w.calls else 0.0
            impact = max(0.0, w.calls - typical) * per_call
            out.append(
                Anomaly(
                    kind="runaway_workflow",
                    owner=owner,
                    subject=w.id,
                    started_at=w.start,
                    detected_at=_crossing(w, limit, step),
                    last_seen_at=w.end,
                    expected=typical,
                    observed=float(w.calls),
                    unit="calls",
                    impact=impact,
                    explanation=(
                        f"agent workflow {w.id} ({agent}) made {w.calls:,} model calls costing {w.cost:,.2f}; "
                        f"this agent's workflows usually make {typical:,.0f} (95th percentile {usual:,.0f})"
                    ),
                    details={"agent": agent},
                )
            )
    return out


@dataclass(frozen=True)
class EndpointHour:
    """One hour of a self-hosted inference endpoint: mean GPU utilisation, its cost, requests served."""

    endpoint: str
    owner: str
    hour: datetime
    utilization: float
    cost: float
    requests: int


def detect_idle_endpoints(hours: list[EndpointHour], cfg: DetectorConfig) -> list[Anomaly]:
    """Endpoints that billed for ``idle_hours`` in a row at utilisation below ``idle_util`` while the same
    hours a week earlier were busy (nightly idling that always happens is not an anomaly)."""
    by_ep: dict[str, list[EndpointHour]] = defaultdict(list)
    for h in hours:
        by_ep[h.endpoint].append(h)
    out = []
    for name, rows in by_ep.items():
        rows.sort(key=lambda r: r.hour)
        util = {r.hour: r.utilization for r in rows}
        idle = [
            r.utilization < cfg.idle_util and util.get(r.hour - timedelta(days=7), 1.0) >= cfg.idle_util
            for r in rows
        ]
        run: list[EndpointHour] = []
        for r, flag in [*zip(rows, idle, strict=True), (None, False)]:
            if flag and r is not None and (not run or r.hour - run[-1].hour <= timedelta(hours=1)):
                run.append(r)
                continue
            if len(run) >= cfg.idle_hours:
                cost = sum(x.cost for x in run)
                out.append(
                    Anomaly(
                        kind="idle_endpoint",
                        owner=run[0].owner,
                        subject=name,
                        started_at=run[0].hour,
                        detected_at=run[cfg.idle_hours - 1].hour + timedelta(hours=1),
                        last_seen_at=run[-1].hour + timedelta(hours=1),
                        expected=0.0,
                        observed=cost,
                        unit="cost",
                        impact=cost,
                        explanation=(
                            f"inference endpoint {name} billed {cost:,.2f} over {len(run)} h at "
                            f"{np.mean([x.utilization for x in run]):.1%} mean GPU utilisation, serving "
                            f"{sum(x.requests for x in run):,} requests"
                        ),
                        ongoing=r is None,
                    )
                )
            run = [r] if flag and r is not None else []
    return out


@dataclass(frozen=True)
class TrainingRun:
    """One training run: its job, owner, first and last hour, node-hours and cost so far."""

    run_id: str
    job: str
    owner: str
    start: datetime
    end: datetime
    cost: float


def detect_runaway_training(runs: list[TrainingRun], cfg: DetectorConfig) -> list[Anomaly]:
    """Runs lasting far longer than the job's earlier runs (median x ``training_factor``, at least +2 h)."""
    by_job: dict[str, list[TrainingRun]] = defaultdict(list)
    for r in runs:
        by_job[r.job].append(r)
    out = []
    for job, rs in by_job.items():
        rs.sort(key=lambda r: r.start)
        for i, r in enumerate(rs):
            earlier = [(x.end - x.start).total_seconds() / 3600 for x in rs[:i]]
            if not earlier:
                continue
            usual = float(np.median(earlier))
            limit = max(usual * cfg.training_factor, usual + 2)
            hours = (r.end - r.start).total_seconds() / 3600
            if hours <= limit:
                continue
            impact = r.cost * (1 - usual / hours)
            out.append(
                Anomaly(
                    kind="runaway_training",
                    owner=r.owner,
                    subject=r.run_id,
                    started_at=r.start,
                    detected_at=r.start + timedelta(hours=int(np.ceil(limit))),
                    last_seen_at=r.end,
                    expected=usual,
                    observed=hours,
                    unit="hours",
                    impact=impact,
                    explanation=(
                        f"training run {r.run_id} of {job} has run {hours:,.0f} h (cost {r.cost:,.2f}); "
                        f"its earlier runs took {usual:,.0f} h"
                    ),
                )
            )
    return out
