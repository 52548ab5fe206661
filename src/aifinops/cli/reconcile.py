"""Commands: metered vs provider-reported cost reconciliation (issue 6)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click

__all__ = ["register"]


def register(cli: click.Group, report: click.Group) -> None:
    """Add ``aifinops report reconcile``."""
    from aifinops.cli.main import _format_option

    @report.command("reconcile")
    @click.option("--since", default="30d", show_default=True, help="30d, 2026-01-01 or an ISO time")
    @click.option("--until", default=None, help="end (exclusive)")
    @click.option("--provider", default=None)
    @click.option("--tolerance-amount", type=click.FloatRange(0), default=None, help="dollars (default 0.01)")
    @click.option("--tolerance-percent", type=click.FloatRange(0), default=None, help="percent (default 1)")
    @click.option("--all", "show_all", is_flag=True, help="show matching rows too, not only flagged ones")
    @_format_option
    @click.pass_obj
    def report_reconcile(
        obj: Any,
        since: str,
        until: str | None,
        provider: str | None,
        tolerance_amount: float | None,
        tolerance_percent: float | None,
        show_all: bool,
        fmt: str,
    ) -> None:
        """Metered cost (gateway, OTLP) against provider reports, per provider, model and day.

        Differences above the tolerance are flagged with the likely cause: unpriced model, missing stream
        usage, traffic that bypassed the gateway, an incomplete report, or a price change.
        """
        from aifinops.core.timeutil import parse_time

        amount = None if tolerance_amount is None else Decimal(str(tolerance_amount))
        percent = None if tolerance_percent is None else Decimal(str(tolerance_percent))
        result = obj.run(
            lambda app: app.reconciliation(
                since=parse_time(since, name="since"),
                until=parse_time(until, name="until") if until else None,
                provider=provider,
                tolerance_amount=amount,
                tolerance_percent=percent,
                flagged_only=not show_all,
            ),
            "/api/v1/reconciliation",
            params={
                "since": since,
                "until": until,
                "provider": provider,
                "tolerance_amount": None if amount is None else str(amount),
                "tolerance_percent": None if percent is None else str(percent),
                "flagged_only": str(not show_all).lower(),
            },
        )
        _show(result, fmt)


def _show(result: dict[str, Any], fmt: str) -> None:
    from aifinops.cli.output import emit
    from aifinops.core.money import format_money

    if fmt == "json":
        emit(result, fmt)
        return
    if fmt == "csv":
        emit(result["rows"], fmt)
        return
    if not result["summary"]:
        click.echo(
            "nothing to reconcile: no provider-day has both metered records (gateway, OTLP) and a provider "
            "usage or cost report; import one with `aifinops ingest openai-costs FILE` (or usage)"
        )
        return
    emit(
        [
            {
                "provider": s["provider"],
                "days": s["days"],
                "metered": format_money(s["metered_cost"]),
                "reported": format_money(s["reported_cost"]),
                "difference": format_money(s["difference"]),
                "flagged": s["flagged"],
                "causes": ", ".join(f"{k} ({v})" for k, v in sorted(s["causes"].items())) or "-",
            }
            for s in result["summary"]
        ],
        fmt,
        title="reconciliation by provider",
    )
    if not result["rows"]:
        click.echo("no difference above the tolerance")
        return
    emit(
        [
            {
                "day": r["day"],
                "provider": r["provider"],
                "model": r["model"] or "(all)",
                "metered": format_money(r["metered_cost"]),
                "reported": format_money(r["reported_cost"]),
                "difference": format_money(r["difference"]),
                "cause": r["cause"] or "ok",
                "detail": r["detail"] or "",
            }
            for r in result["rows"]
        ],
        fmt,
        title="differences",
    )
