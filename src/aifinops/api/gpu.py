"""API routes: GPU telemetry, GPU cost, idle waste, self-hosted cost per token, training runs (issue 7)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, Field

from aifinops.core.errors import Forbidden, InputError
from aifinops.core.jsonable import jsonable
from aifinops.core.timeutil import parse_time, parse_where

__all__ = ["router"]

router = APIRouter()

_SINCE = Query(description="30d, 2026-01-01 or an ISO time")


def _app(request: Request) -> Any:
    return request.app.state.app


def _time(value: str | None, name: str) -> Any:
    return parse_time(value, name=name) if value else None


@router.get("/gpus", summary="GPU hours (provisioned, busy, idle), utilization, GPU and idle cost, energy")
def gpus(
    request: Request,
    by: Annotated[
        str, Query(description="comma-separated: team, project, endpoint, job, host, gpu_type, ...")
    ] = "team",
    since: Annotated[str | None, _SINCE] = "30d",
    until: str | None = None,
    where: Annotated[list[str], Query(description="KEY=VALUE filters")] = [],  # noqa: B006
) -> list[dict[str, Any]]:
    rows = _app(request).gpu_utilization(
        by=[d.strip() for d in by.split(",") if d.strip()],
        since=_time(since, "since"),
        until=_time(until, "until"),
        where=parse_where(where),
    )
    return jsonable(rows)


@router.get(
    "/gpus/endpoints", summary="Self-hosted endpoints: cost per token and per inference vs hosted APIs"
)
def gpu_endpoints(
    request: Request, since: Annotated[str | None, _SINCE] = "30d", until: str | None = None
) -> list[dict[str, Any]]:
    return jsonable(_app(request).gpu_endpoints(since=_time(since, "since"), until=_time(until, "until")))


@router.get(
    "/gpus/devices", summary="The GPU fleet as telemetry sees it: hours, utilization, idle, power per GPU"
)
def gpu_devices(
    request: Request, since: Annotated[str | None, _SINCE] = "30d", until: str | None = None
) -> list[dict[str, Any]]:
    return jsonable(_app(request).gpu_devices(since=_time(since, "since"), until=_time(until, "until")))


class GpuIngestRequest(BaseModel):
    """Import GPU files on the server's own disk (what the CLI sends when a server holds the ledger)."""

    source: str = Field(pattern="^(dcgm|nvidia-smi|jobs)$")
    paths: list[str] = Field(min_length=1)
    reject_path: str | None = None
    host: str | None = None
    tz: str | None = None
    interval: float | None = Field(default=None, gt=0, le=86400)
    at: str | None = None


@router.post(
    "/gpus/ingest", summary="Import DCGM, nvidia-smi or job files from the server's disk (local mode)"
)
def gpu_ingest(request: Request, body: GpuIngestRequest) -> dict[str, Any]:
    if not request.app.state.local_mode:
        raise Forbidden("file imports by path are only allowed in local mode")
    result = _app(request).ingest_gpu(
        body.source,
        [Path(p) for p in body.paths],
        reject_path=Path(body.reject_path) if body.reject_path else None,
        host=body.host,
        tz=body.tz,
        interval=body.interval,
        at=_time(body.at, "at"),
    )
    return jsonable(result)


class SampleIn(BaseModel):
    """One GPU telemetry sample (what ``aifinops gpu collect`` sends when a server holds the ledger)."""

    source: str = Field(default="nvml", max_length=32)
    ts: datetime
    seconds: float = Field(gt=0, le=86400)
    host: str = Field(min_length=1, max_length=255)
    gpu_index: int | None = Field(default=None, ge=0, le=1024)
    gpu_uuid: str | None = Field(default=None, max_length=128)
    gpu_model: str | None = Field(default=None, max_length=128)
    gpu_type: str | None = Field(default=None, max_length=64)
    mig_profile: str | None = Field(default=None, max_length=64)
    mig_instance: str | None = Field(default=None, max_length=64)
    share: float = Field(default=1.0, gt=0, le=1)
    util: float | None = Field(default=None, ge=0, le=1)
    mem_util: float | None = Field(default=None, ge=0, le=1)
    fb_used_mib: float | None = Field(default=None, ge=0)
    power_w: float | None = Field(default=None, ge=0)
    namespace: str | None = Field(default=None, max_length=255)
    pod: str | None = Field(default=None, max_length=255)
    container: str | None = Field(default=None, max_length=255)
    job: str | None = Field(default=None, max_length=255)


@router.post("/gpus/samples", summary="Store GPU telemetry samples (idempotent)")
def gpu_samples(
    request: Request, body: Annotated[list[SampleIn], Body(min_length=1, max_length=100_000)]
) -> dict[str, Any]:
    from aifinops.core.timeutil import as_utc
    from aifinops.gpu.samples import GpuSample

    samples = [GpuSample(**{**s.model_dump(), "ts": as_utc(s.ts)}) for s in body]
    return jsonable(_app(request).store_gpu_samples(samples))


class ScrapeRequest(BaseModel):
    """Scrape DCGM exporters now (``urls``, else ``gpus.scrape``)."""

    urls: list[str] = Field(default_factory=list)
    interval: float | None = Field(default=None, gt=0, le=3600)


@router.post("/gpus/scrape", summary="Scrape DCGM exporters once and store the samples")
def gpu_scrape(request: Request, body: ScrapeRequest) -> dict[str, Any]:
    if body.urls and not request.app.state.local_mode:
        raise Forbidden("scraping URLs given in the request is only allowed in local mode; use gpus.scrape")
    return jsonable(_app(request).scrape_dcgm(body.urls, interval=body.interval))


@router.post("/gpus/collect", summary="Read the server machine's GPUs through NVML and store the samples")
def gpu_collect(
    request: Request,
    count: Annotated[int, Query(ge=1, le=60)] = 1,
    interval: Annotated[float, Query(gt=0, le=60)] = 10.0,
) -> dict[str, Any]:
    return jsonable(_app(request).collect_nvml(count=count, interval=interval))


@router.post("/jobs", summary="Add training job records (name, team, start, end, gpu_type, gpu_count, ...)")
def add_jobs(
    request: Request, body: Annotated[list[dict[str, Any]], Body(min_length=1, max_length=10_000)]
) -> dict[str, Any]:
    from aifinops.ingest.jobs import parse_job

    runs, errors = [], []
    for i, row in enumerate(body):
        try:
            runs.append(parse_job(row))
        except ValueError as exc:
            errors.append(f"[{i}]: {exc}")
    if errors:
        raise InputError(f"{len(errors)} job record(s) are invalid", details=errors[:100])
    return jsonable(_app(request).add_jobs(runs))


class EstimateRequest(BaseModel):
    """A training run to estimate: ``6 x params x tokens`` FLOPs on ``count`` GPUs."""

    params: float = Field(gt=0, le=1e14)
    tokens: float = Field(gt=0, le=1e16)
    gpu: str = Field(min_length=1, max_length=64)
    count: int = Field(ge=1, le=1_000_000)
    mfu: float | None = Field(default=None, ge=0.01, le=1)
    provider: str | None = Field(default=None, max_length=64)
    pricing_mode: str = Field(default="on_demand", pattern="^(on_demand|reserved|spot)$")
    instance_type: str | None = Field(default=None, max_length=64)
    rate: Decimal | None = Field(default=None, ge=0, le=10_000)
    name: str | None = Field(default=None, max_length=200)
    team: str | None = Field(default=None, max_length=200)
    project: str | None = Field(default=None, max_length=200)
    save: bool = True


@router.post(
    "/training/estimates", summary="Estimate a training run's GPU hours and cost (saved for approval)"
)
def training_estimate(request: Request, body: EstimateRequest) -> dict[str, Any]:
    return jsonable(_app(request).train_estimate(**body.model_dump()))


@router.get("/training/estimates", summary="Saved training estimates and their approval status")
def training_estimates(request: Request) -> list[dict[str, Any]]:
    return jsonable(_app(request).training_estimates())


class ApproveRequest(BaseModel):
    """Who approves an estimate over the threshold, and why."""

    by: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


@router.post("/training/estimates/{estimate_id}/approve", summary="Approve a training estimate")
def training_approve(request: Request, estimate_id: str, body: ApproveRequest) -> dict[str, Any]:
    return jsonable(_app(request).train_approve(estimate_id, by=body.by, note=body.note))


@router.get("/training/runs", summary="Cost per training run, against its estimate; runaway runs flagged")
def training_runs(
    request: Request, since: Annotated[str | None, _SINCE] = "90d", until: str | None = None
) -> list[dict[str, Any]]:
    return jsonable(_app(request).training_runs(since=_time(since, "since"), until=_time(until, "until")))
