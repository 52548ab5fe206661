"""Commands: ``report coverage`` and the ``report costs --allocated`` helper (issue 6)."""

from __future__ import annotations

from typing import Any

import click

__all__ = ["register", "allocated_rows"]


def allocated_rows(
    obj: Any,
    *,
    by: str,
    since: str | None,
    until: str | None,
    where: list[str],
    grain: str | None,
    limit: int | None,
) -> list[dict[str, Any]]:
    """``report costs --allocated``: on the ledger file, or ``/api/v1/costs?allocated=true`` on a server."""
    from aifinops.core.timeutil import parse_time, parse_where

    def local(app: Any) -> list[dict[str, Any]]:
        return app.allocated_costs(
            by=[d.strip() for d in by.split(",") if d.strip()],
            since=parse_time(since, name="since") if since else None,
            until=parse_time(until, name="until") if until else None,
            where=parse_where(where),
            grain=grain,
            limit=limit,
        )

    params = {
        "by": by,
        "since": since,
        "until": until,
        "where": where,
        "grain": grain,
        "limit": limit,
        "allocated": "true",
    }
    return obj.run(local, "/api/v1/costs", params=params)


def register(cli: click.Group, report: click.Group) -> None:
    """Add ``report coverage`` to the ``report`` group."""
    from aifinops.cli.main import _format_option

    @report.command("coverage")
    @click.option("--by", default=None, help="owner dimension (default: allocation.dimension, i.e. team)")
    @click.option("--since", default="30d", show_default=True, help="30d, 12h, 2026-01-01 or an ISO time")
    @click.option("--until", default=None, help="end (exclusive)")
    @click.option("--where", multiple=True, help="KEY=VALUE filter (repeatable)")
    @click.option("--top", type=click.IntRange(0, 1000), default=10, show_default=True)
    @_format_option
    @click.pass_obj
    def report_coverage(
        obj: Any, by: str | None, since: str, until: str | None, where: tuple[str, ...], top: int, fmt: str
    ) -> None:
        """Tag coverage: the share of spend with an owner, per source, and the top untagged drivers."""
        from aifinops.cli.output import emit
        from aifinops.core.timeutil import parse_time, parse_where

        def local(app: Any) -> dict[str, Any]:
            return app.tag_coverage(
                by=by,
                since=parse_time(since, name="since") if since else None,
                until=parse_time(until, name="until") if until else None,
                where=parse_where(list(where)),
                top=top,
            )

        params = {"by": by, "since": since, "until": until, "where": list(where), "top": top}
        result = obj.run(local, "/api/v1/allocation/coverage", params=params)
        lines = [*result["sources"], result["total"]]
        if fmt != "table":
            emit(result if fmt == "json" else lines, fmt)
            return
        columns = ["source", "cost", "allocated_cost", "unallocated_cost", "allocated_share", "records"]
        shown = [{**r, "allocated_share": _percent(r["allocated_share"])} for r in lines]
        emit(shown, fmt, columns=columns, title=f"Spend with a {result['dimension']}, since {since}")
        if result["untagged"]:
            emit(result["untagged"], fmt, title=f"Top spend without a {result['dimension']}")


def _percent(share: Any) -> str:
    return "–" if share is None else f"{float(share):.1%}"
