"""Commands: GPU telemetry, GPU cost, idle waste, self-hosted cost per token, training runs (issue 7).

``aifinops gpu report|endpoints|collect|scrape``, ``aifinops train estimate|approve|estimates|runs``,
``aifinops report gpus``; ``aifinops ingest dcgm|nvidia-smi|jobs PATH`` goes through :func:`ingest_gpu_files`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

__all__ = ["register", "ingest_gpu_files", "GPU_SOURCES"]

#: ``aifinops ingest`` sources this area handles.
GPU_SOURCES = ("jobs", "dcgm", "nvidia-smi")

_GPU_COLUMNS = [
    "provisioned_gpu_hours",
    "busy_gpu_hours",
    "idle_gpu_hours",
    "utilization",
    "gpu_cost",
    "idle_cost",
    "unpriced_gpu_hours",
    "energy_kwh",
    "co2e_kg",
]


def _t(value: str | None, name: str) -> Any:
    from aifinops.core.timeutil import parse_time

    return parse_time(value, name=name) if value else None


def ingest_gpu_files(
    obj: Any,
    source: str,
    paths: list[Path],
    reject_file: Path | None,
    *,
    host: str | None = None,
    tz: str | None = None,
    interval: float | None = None,
    at: str | None = None,
) -> dict[str, Any]:
    """``aifinops ingest dcgm|nvidia-smi|jobs``: locally, or through the running server."""
    if source == "nvidia-smi" and not host:
        import socket

        host = socket.gethostname()
    body = {
        "source": source,
        "paths": [str(p.resolve()) for p in paths],
        "reject_path": str(reject_file.resolve()) if reject_file else None,
        "host": host,
        "tz": tz,
        "interval": interval,
        "at": at,
    }
    return obj.run(
        lambda app: app.ingest_gpu(
            source, paths, reject_path=reject_file, host=host, tz=tz, interval=interval, at=_t(at, "at")
        ),
        "/api/v1/gpus/ingest",
        method="POST",
        json=body,
    )


def register(cli: click.Group, report: click.Group) -> None:
    """Add this area's commands to the ``aifinops`` group and its ``report`` group."""
    from aifinops.cli.main import _format_option, _Group
    from aifinops.cli.output import emit

    def _report(obj: Any, by: str, since: str, until: str | None, where: tuple[str, ...], fmt: str) -> None:
        from aifinops.core.timeutil import parse_where

        dims = [d.strip() for d in by.split(",") if d.strip()]
        rows = obj.run(
            lambda app: app.gpu_utilization(
                by=dims, since=_t(since, "since"), until=_t(until, "until"), where=parse_where(list(where))
            ),
            "/api/v1/gpus",
            params={"by": by, "since": since, "until": until, "where": list(where)},
        )
        emit(rows, fmt, columns=dims + _GPU_COLUMNS, title=f"GPU hours and cost since {since}")

    def report_options(func: Any) -> Any:
        func = click.option("--where", multiple=True, help="KEY=VALUE filter (repeatable)")(func)
        func = click.option("--until", default=None, help="end (exclusive)")(func)
        func = click.option(
            "--since", default="30d", show_default=True, help="30d, 2026-01-01 or an ISO time"
        )(func)
        func = click.option(
            "--by",
            default="team",
            show_default=True,
            help="team, project, endpoint, job, host, gpu_type, ...",
        )(func)
        return _format_option(func)

    @cli.group(cls=_Group)
    def gpu() -> None:
        """GPU fleets: utilization, idle waste, self-hosted endpoints, telemetry collection."""

    @gpu.command("report")
    @report_options
    @click.pass_obj
    def gpu_report(
        obj: Any, by: str, since: str, until: str | None, where: tuple[str, ...], fmt: str
    ) -> None:
        """Provisioned, busy and idle GPU hours, utilization, GPU and idle cost, energy, by owner or host."""
        _report(obj, by, since, until, where, fmt)

    @report.command("gpus")
    @report_options
    @click.pass_obj
    def report_gpus(
        obj: Any, by: str, since: str, until: str | None, where: tuple[str, ...], fmt: str
    ) -> None:
        """GPU hours and cost (same as `aifinops gpu report`)."""
        _report(obj, by, since, until, where, fmt)

    @gpu.command("endpoints")
    @click.option("--since", default="30d", show_default=True)
    @click.option("--until", default=None)
    @_format_option
    @click.pass_obj
    def gpu_endpoints(obj: Any, since: str, until: str | None, fmt: str) -> None:
        """Self-hosted endpoints: cost per million tokens and per 1,000 requests vs hosted APIs."""
        rows = obj.run(
            lambda app: app.gpu_endpoints(since=_t(since, "since"), until=_t(until, "until")),
            "/api/v1/gpus/endpoints",
            params={"since": since, "until": until},
        )
        if fmt != "table":
            emit(rows, fmt)
            return
        flat = []
        for r in rows:
            row = {k: v for k, v in r.items() if k != "hosted"}
            for h in r["hosted"]:
                row[f"on {h['model']} per M"] = h["cost_per_million_tokens"]
            flat.append(row)
        cols = ["endpoint", "model", "gpu_cost", "idle_cost", "utilization", "tokens", "requests"]
        cols += ["cost_per_million_tokens", "cost_per_1k_requests"]
        cols += sorted({k for r in flat for k in r if k.startswith("on ")})
        emit(flat, fmt, columns=cols, title=f"self-hosted endpoints since {since}")

    @gpu.command("devices")
    @click.option("--since", default="30d", show_default=True)
    @click.option("--until", default=None)
    @_format_option
    @click.pass_obj
    def gpu_devices(obj: Any, since: str, until: str | None, fmt: str) -> None:
        """Every GPU telemetry has seen: hours, mean utilization, idle hours, power, pods and MIG profiles."""
        rows = obj.run(
            lambda app: app.gpu_devices(since=_t(since, "since"), until=_t(until, "until")),
            "/api/v1/gpus/devices",
            params={"since": since, "until": until},
        )
        cols = [
            "host",
            "gpu_index",
            "gpu_type",
            "gpu_hours",
            "idle_gpu_hours",
            "mean_gpu_util",
            "mean_power_w",
        ]
        emit(rows, fmt, columns=[*cols, "pods", "last_seen"], title=f"GPUs seen since {since}")

    @gpu.command("collect")
    @click.option("--count", default=1, show_default=True, type=click.IntRange(1, 100_000))
    @click.option("--interval", default=10.0, show_default=True, type=click.FloatRange(0.1, 3600))
    @_format_option
    @click.pass_obj
    def gpu_collect(obj: Any, count: int, interval: float, fmt: str) -> None:
        """Read this machine's GPUs through NVML and store the samples (needs an NVIDIA driver)."""
        from aifinops.gpu.nvml import collect

        samples = collect(count=count, interval=interval)  # here, on the machine the CLI runs on
        result = obj.run(lambda app: app.store_gpu_samples(samples), "/api/v1/gpus/samples", method="POST",
                         json=_samples_json(samples))  # fmt: skip
        emit({"samples": len(samples), **result}, fmt)

    @gpu.command("scrape")
    @click.argument("urls", nargs=-1)
    @click.option(
        "--interval", default=None, type=click.FloatRange(0.1, 3600), help="seconds a scrape stands for"
    )
    @_format_option
    @click.pass_obj
    def gpu_scrape(obj: Any, urls: tuple[str, ...], interval: float | None, fmt: str) -> None:
        """Scrape DCGM exporters (URLS, else gpus.scrape in aifinops.yaml) once and store the samples."""
        result = obj.run(
            lambda app: app.scrape_dcgm(list(urls), interval=interval),
            "/api/v1/gpus/scrape",
            method="POST",
            json={"urls": list(urls), "interval": interval},
        )
        emit(result, fmt)

    @cli.group(cls=_Group)
    def train() -> None:
        """Training runs: estimate, approve, track against the estimate."""

    @train.command("estimate")
    @click.option("--params", required=True, type=float, help="model parameters, e.g. 7e9")
    @click.option("--tokens", required=True, type=float, help="training tokens, e.g. 2e12")
    @click.option("--gpu", required=True, help="GPU type, e.g. h100, a100-80gb")
    @click.option("--count", required=True, type=click.IntRange(1), help="GPUs")
    @click.option(
        "--mfu", type=click.FloatRange(0, 1, min_open=True), default=None, help="default training.default_mfu"
    )
    @click.option(
        "--provider", default=None, help="cloud whose GPU price to use (default training.default_provider)"
    )
    @click.option("--pricing-mode", type=click.Choice(["on_demand", "reserved", "spot"]), default="on_demand")
    @click.option("--instance-type", default=None)
    @click.option("--rate", type=float, default=None, help="USD per GPU-hour (instead of the catalog)")
    @click.option("--name", default=None)
    @click.option("--team", default=None)
    @click.option("--project", default=None)
    @_format_option
    @click.pass_obj
    def train_estimate(obj: Any, fmt: str, rate: float | None, **opts: Any) -> None:
        """GPU hours and dollars (low-high) from 6 x params x tokens and the GPU's peak throughput."""
        from decimal import Decimal

        body = {**opts, "rate": str(Decimal(repr(rate))) if rate is not None else None}
        est = obj.run(
            lambda app: app.train_estimate(**opts, rate=Decimal(repr(rate)) if rate is not None else None),
            "/api/v1/training/estimates",
            method="POST",
            json={k: v for k, v in body.items() if v is not None},
        )
        if fmt != "table":
            emit(est, fmt)
            return
        _print_estimate(est)

    @train.command("approve")
    @click.argument("estimate_id")
    @click.option("--by", "by", required=True, help="who approves")
    @click.option("--note", default=None)
    @_format_option
    @click.pass_obj
    def train_approve(obj: Any, estimate_id: str, by: str, note: str | None, fmt: str) -> None:
        """Approve a training estimate that is over training.approval_threshold."""
        est = obj.run(
            lambda app: app.train_approve(estimate_id, by=by, note=note),
            f"/api/v1/training/estimates/{estimate_id}/approve",
            method="POST",
            json={"by": by, "note": note},
        )
        emit(
            est
            if fmt != "table"
            else {k: est.get(k) for k in ("estimate_id", "status", "approved_by", "cost")},
            fmt,
        )

    @train.command("estimates")
    @_format_option
    @click.pass_obj
    def train_estimates(obj: Any, fmt: str) -> None:
        """Saved estimates and their approval status."""
        rows = obj.run(lambda app: app.training_estimates(), "/api/v1/training/estimates")
        cols = [
            "estimate_id",
            "name",
            "team",
            "gpu_type",
            "gpu_count",
            "gpu_hours",
            "cost",
            "status",
            "approved_by",
        ]
        emit(rows, fmt, columns=cols, title="training estimates")

    @train.command("runs")
    @click.option("--since", default="90d", show_default=True)
    @click.option("--until", default=None)
    @_format_option
    @click.pass_obj
    def train_runs(obj: Any, since: str, until: str | None, fmt: str) -> None:
        """Cost per training run against its estimate (or its job's usual run); runaway runs flagged."""
        rows = obj.run(
            lambda app: app.training_runs(since=_t(since, "since"), until=_t(until, "until")),
            "/api/v1/training/runs",
            params={"since": since, "until": until},
        )
        cols = [
            "run_id",
            "name",
            "team",
            "gpu_type",
            "gpu_hours",
            "cost",
            "expected_gpu_hours",
            "vs_expected",
        ]
        emit(rows, fmt, columns=[*cols, "runaway", "approved"], title=f"training runs since {since}")


def _print_estimate(est: dict[str, Any]) -> None:
    from aifinops.core.money import format_money

    click.echo(
        f"{est['params']:.3g} params x {est['tokens']:.3g} tokens = {est['flops']:.3g} FLOPs on "
        f"{est['gpu_count']} x {est['gpu_type']} ({est['peak_tflops']:g} TFLOPS peak) at MFU {est['mfu']:g}"
    )
    click.echo(
        f"GPU hours: {est['gpu_hours']:,.0f} (range {est['gpu_hours_low']:,.0f} - {est['gpu_hours_high']:,.0f}); "
        f"wall clock {est['wall_clock_hours']:,.1f} h"
    )
    if est.get("cost") is None:
        click.echo(
            f"cost: unpriced (no {est['pricing_mode']} price for {est['gpu_type']} at {est['provider']})"
        )
    else:
        click.echo(
            f"cost: {format_money(est['cost'])} (range {format_money(est['cost_low'])} - "
            f"{format_money(est['cost_high'])}) at {format_money(est['rate_per_gpu_hour'])}/GPU-hour "
            f"{est['pricing_mode']} on {est['provider']}"
        )
    click.echo(f"estimate {est['estimate_id']}: {est['status'].replace('_', ' ')}")
    if est["status"] != "approved":
        click.echo(f"approve with: aifinops train approve {est['estimate_id']} --by NAME")


def _samples_json(samples: list[Any]) -> list[dict[str, Any]]:
    from dataclasses import asdict

    return [{**asdict(s), "ts": s.ts.isoformat()} for s in samples]
