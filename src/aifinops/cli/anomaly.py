"""Commands: Anomaly detection, forecasts and alerts (issue 8).

``aifinops anomalies list|detect|ack|resolve|alerts|evaluate`` and ``aifinops forecast [--by] [--budget]``
(plus ``aifinops forecast scenario`` and ``aifinops forecast accuracy``).
"""

from __future__ import annotations

import random
from typing import Any

import click

__all__ = ["register"]

_ANOMALY_COLUMNS = [
    "anomaly_id",
    "kind",
    "owner",
    "subject",
    "detected_at",
    "impact",
    "alert_id",
    "explanation",
]
_ALERT_COLUMNS = [
    "alert_id",
    "status",
    "severity",
    "owner",
    "kind",
    "anomalies",
    "impact",
    "opened_at",
    "title",
]


def register(cli: click.Group, report: click.Group) -> None:
    """Add this area's commands to the ``aifinops`` group and its ``report`` group."""
    from aifinops.cli.main import _format_option, _Group

    @cli.group("anomalies", cls=_Group)
    def anomalies() -> None:
        """Detected anomalies, their alerts, and the evaluation harness."""

    @anomalies.command("list")
    @click.option("--since", default="30d", show_default=True, help="30d, 12h, 2026-01-01 or an ISO time")
    @click.option("--owner", default=None)
    @click.option("--kind", default=None)
    @click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
    @_format_option
    @click.pass_obj
    def list_cmd(obj: Any, since: str, owner: str | None, kind: str | None, limit: int, fmt: str) -> None:
        """Anomalies found by the detectors, newest first."""
        from aifinops.cli.output import emit
        from aifinops.core.timeutil import parse_time

        rows = obj.run(
            lambda app: app.list_anomalies(
                since=parse_time(since, name="since"), owner=owner, kind=kind, limit=limit
            ),
            "/api/v1/anomalies",
            params={"since": since, "owner": owner, "kind": kind, "limit": limit},
        )
        emit(rows, fmt, columns=_ANOMALY_COLUMNS, title=f"anomalies since {since}")

    @anomalies.command("detect")
    @_format_option
    @click.pass_obj
    def detect_cmd(obj: Any, fmt: str) -> None:
        """Run the detectors now and deliver alerts (the server does this every resolution)."""
        from aifinops.cli.output import emit

        emit(obj.run(lambda app: app.detect_anomalies(), "/api/v1/anomalies/detect", method="POST"), fmt)

    @anomalies.command("alerts")
    @click.option("--status", type=click.Choice(["open", "acknowledged", "resolved"]), default=None)
    @click.option("--owner", default=None)
    @click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
    @_format_option
    @click.pass_obj
    def alerts_cmd(obj: Any, status: str | None, owner: str | None, limit: int, fmt: str) -> None:
        """Alerts (grouped anomalies) with their lifecycle status."""
        from aifinops.cli.output import emit

        rows = obj.run(
            lambda app: app.list_alerts(status=status, owner=owner, limit=limit),
            "/api/v1/alerts",
            params={"status": status, "owner": owner, "limit": limit},
        )
        emit(rows, fmt, columns=_ALERT_COLUMNS, title="alerts")

    for action in ("ack", "resolve"):
        _decision(anomalies, action, _format_option)

    @anomalies.command("evaluate")
    @click.option("--seed", type=int, default=None, help="scenario seed (default: a fresh random one)")
    @click.option("--owners", type=click.IntRange(7, 500), default=56, show_default=True)
    @click.option("--weeks", type=click.IntRange(3, 26), default=5, show_default=True)
    @_format_option
    @click.pass_obj
    def evaluate_cmd(obj: Any, seed: int | None, owners: int, weeks: int, fmt: str) -> None:
        """Generate labelled scenarios, run the detectors as they run live, report detection rate, false
        alerts per owner-week, mean time to detect and forecast MAPE. Exit status 1 if a target is missed."""
        from aifinops.anomaly.evaluate import evaluate
        from aifinops.cli.output import emit
        from aifinops.core.settings import load_settings

        seed = random.SystemRandom().randrange(2**31) if seed is None else seed
        s = load_settings(obj.config).anomaly
        from aifinops.anomaly import DetectorConfig

        cfg = DetectorConfig(
            sensitivity=s.sensitivity,
            min_history_days=s.min_history_days,
            min_impact=float(s.min_impact),
            materiality=s.materiality,
        )
        result = evaluate(seed, owners=owners, weeks=weeks, cfg=cfg)
        if fmt == "table":
            _print_evaluation(result)
        else:
            emit(result, fmt)
        if not result["meets_targets"]:
            raise SystemExit(1)

    @cli.group("forecast", cls=_Group, invoke_without_command=True)
    @click.option("--by", default=None, help="a dimension to split by, e.g. team or model")
    @click.option("--budget", default=None, help="a budget name from aifinops.yaml")
    @click.option("--horizon", type=click.IntRange(1, 366), default=30, show_default=True, help="days ahead")
    @click.option(
        "--level", type=click.FloatRange(0.5, 0.99), default=0.8, show_default=True, help="interval level"
    )
    @_format_option
    @click.pass_context
    def forecast(
        ctx: click.Context, by: str | None, budget: str | None, horizon: int, level: float, fmt: str
    ) -> None:
        """Daily spend forecast with prediction intervals, month-end projection and budget run-out date."""
        if ctx.invoked_subcommand is not None:
            return
        from aifinops.cli.output import emit

        obj = ctx.obj
        result = obj.run(
            lambda app: app.forecast(by=by, budget=budget, horizon=horizon, level=level),
            "/api/v1/forecast",
            params={"by": by, "budget": budget, "horizon": horizon, "level": level},
        )
        if fmt != "table":
            emit(result, fmt)
            return
        emit(
            [_summary_row(s, by) for s in result["series"]],
            fmt,
            title=f"forecast ({int(level * 100)}% intervals)",
        )

    @forecast.command("accuracy")
    @_format_option
    @click.pass_obj
    def accuracy_cmd(obj: Any, fmt: str) -> None:
        """MAPE of the stored day-ahead forecasts against actual spend, per scope."""
        from aifinops.cli.output import emit

        emit(obj.run(lambda app: app.forecast_accuracy(), "/api/v1/forecast/accuracy"), fmt)

    @forecast.command("scenario")
    @click.option("--model", required=True)
    @click.option("--provider", default=None)
    @click.option("--requests-per-day", type=click.FloatRange(min=0, min_open=True), required=True)
    @click.option("--input-tokens", type=click.FloatRange(min=0), required=True)
    @click.option("--output-tokens", type=click.FloatRange(min=0), required=True)
    @click.option("--cached-share", type=click.FloatRange(0, 1), default=0.0, show_default=True)
    @click.option("--ramp-days", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True)
    @click.option("--days", type=click.IntRange(1, 1096), default=30, show_default=True)
    @click.option(
        "--percentile",
        type=click.FloatRange(0, 100, min_open=True, max_open=True),
        default=80.0,
        show_default=True,
    )
    @click.option("--uncertainty", type=click.FloatRange(0, 2), default=0.3, show_default=True)
    @_format_option
    @click.pass_obj
    def scenario_cmd(obj: Any, fmt: str, **workload: Any) -> None:
        """What a proposed workload costs at a percentile of its adoption curve."""
        from aifinops.cli.output import emit

        result = obj.run(
            lambda app: app.forecast_scenario(**workload),
            "/api/v1/forecast/scenario",
            method="POST",
            json=workload,
        )
        if fmt == "table":
            result = {k: v for k, v in result.items() if k != "daily"}
        emit(result, fmt)


def _decision(group: click.Group, action: str, format_option: Any) -> None:
    verb = "Acknowledge" if action == "ack" else "Resolve"

    @group.command(action, help=f"{verb} the alert of an anomaly (an anomaly id or an alert id).")
    @click.argument("ident")
    @click.option("--by", default=None, help="who does it (recorded on the alert)")
    @format_option
    @click.pass_obj
    def command(obj: Any, ident: str, by: str | None, fmt: str) -> None:
        from aifinops.cli.output import emit

        method = "ack_anomaly" if action == "ack" else "resolve_anomaly"
        alert = obj.run(
            lambda app: getattr(app, method)(ident, by=by),
            f"/api/v1/anomalies/{ident}/{action}",
            method="POST",
            json={"by": by},
        )
        emit(alert, fmt, columns=_ALERT_COLUMNS)


def _summary_row(series: dict[str, Any], by: str | None) -> dict[str, Any]:
    days = series["days"]
    row = {**series["key"]} if by else {"scope": "total"}
    row.update(
        tomorrow_cost=days[1]["mean"] if len(days) > 1 else days[0]["mean"],
        next_7d_cost=sum(float(d["mean"]) for d in days[:7]),
        month_to_date_cost=series["month_to_date"],
        month_end_cost=series["month_end"]["expected"],
        month_end_range=f"{series['month_end']['lower']} - {series['month_end']['upper']}",
        backtest_mape=series.get("backtest_mape"),
    )
    if "budget" in series:
        b = series["budget"]
        row.update(
            budget=b["name"],
            amount=b["amount"],
            runs_out=b["runs_out"],
            overrun_probability=b["overrun_probability"],
        )
    return row


def _print_evaluation(r: dict[str, Any]) -> None:
    t = r["targets"]

    def line(label: str, value: Any, target: str, ok: bool) -> None:
        click.echo(f"{label:<32} {value:<12} target {target:<8} {'ok' if ok else 'MISSED'}")

    click.echo(
        f"seed {r['seed']}, {r['owners']} owners, {r['scenarios']} injected anomalies, {r['owner_weeks']} owner-weeks"
    )
    line(
        "detection rate",
        f"{r['detection_rate']:.1%}",
        f">= {t['detection_rate']:.0%}",
        r["detection_rate"] >= t["detection_rate"],
    )
    fa = r["false_alerts_per_owner_week"]
    line(
        "false alerts per owner-week",
        f"{fa:.2f}",
        f"<= {t['false_alerts_per_owner_week']:g}",
        fa <= t["false_alerts_per_owner_week"],
    )
    sm = r["spike_mttd_intervals"]
    line(
        "spike MTTD (intervals)",
        f"{sm:.2f}" if sm is not None else "-",
        f"<= {t['spike_mttd_intervals']:g}",
        sm is None or sm <= t["spike_mttd_intervals"],
    )
    if r.get("spike_delays_intervals"):
        delays = ", ".join(f"{d:g}" for d in r["spike_delays_intervals"])
        click.echo(
            f"{'spike delays (intervals)':<32} {delays} (median {r['spike_delay_median_intervals']:g})"
        )
    click.echo(f"{'MTTD, all kinds (intervals)':<32} {r['mttd_intervals']:.1f}")
    fm = r["forecast_mape"]
    line(
        "forecast MAPE (7-day, seasonal)", f"{fm:.1%}", f"< {t['forecast_mape']:.0%}", fm < t["forecast_mape"]
    )
    for kind, v in r["by_kind"].items():
        click.echo(f"  {kind:<20} {v['detected']}/{v['injected']}")
    click.echo("targets met" if r["meets_targets"] else "targets MISSED")
