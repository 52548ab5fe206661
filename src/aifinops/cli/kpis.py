"""Commands: The KPI engine and showback/chargeback statements (issue 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

__all__ = ["register"]

_STATEMENT_FORMATS = ("table", "json", "csv", "html", "pdf")
#: KPI columns of ``report kpis --by ... --format table`` unless --kpis names others (json/csv carry all).
_TABLE_KPIS = (
    "cost_per_inference",
    "cost_per_token",
    "cost_per_training_run",
    "gpu_utilization_rate",
    "model_fit_score",
    "ai_roi",
    "cost_per_outcome",
)
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _kpis_command() -> click.Command:
    from aifinops.cli.main import _format_option

    @click.command("kpis")
    @click.option("--by", default="", help="comma-separated dimensions or tag keys, e.g. team,feature")
    @click.option("--since", default="30d", show_default=True, help="30d, 12h, 2026-01-01 or an ISO time")
    @click.option("--until", default=None, help="end (exclusive)")
    @click.option("--where", multiple=True, help="KEY=VALUE filter (repeatable)")
    @click.option("--grain", type=click.Choice(["hour", "day", "week", "month"]), default=None)
    @click.option("--kpis", "names", default="", help="comma-separated KPI names (default: all)")
    @click.option("--definitions", is_flag=True, help="list every KPI with its unit and formula instead")
    @_format_option
    @click.pass_obj
    def report_kpis(
        obj: Any,
        by: str,
        since: str,
        until: str | None,
        where: tuple[str, ...],
        grain: str | None,
        names: str,
        definitions: bool,
        fmt: str,
    ) -> None:
        """KPIs per group, e.g. `aifinops report kpis --by team --since 30d` (see docs/kpis.md)."""
        from aifinops.cli.output import emit
        from aifinops.core.jsonable import jsonable
        from aifinops.core.timeutil import parse_time, parse_where

        if definitions:
            rows = obj.run(lambda app: app.kpi_definitions(), "/api/v1/kpis/definitions")
            emit(rows, fmt, columns=["name", "unit", "formula"], title="KPIs")
            return
        params = {
            "by": by,
            "since": since,
            "until": until,
            "where": list(where),
            "grain": grain,
            "kpis": names,
        }
        rows = obj.run(
            lambda app: jsonable(
                app.kpis(
                    by=_split(by),
                    since=parse_time(since, name="since") if since else None,
                    until=parse_time(until, name="until") if until else None,
                    where=parse_where(list(where)),
                    grain=grain,
                    names=_split(names) or None,
                )
            ),
            "/api/v1/kpis",
            params=params,
        )
        dims = _split(by) + (["period"] if grain else [])
        if fmt == "table" and len(rows) == 1 and not dims:
            _kpi_table(rows[0], obj)
            return
        if fmt == "csv":
            import json

            rows = [{**r, "notes": json.dumps(r.get("notes") or {})} for r in rows]
        columns = None
        if fmt == "table":  # one line per group: the dimensions, cost and a readable set of KPIs
            shown = _split(names) or [k for k in _TABLE_KPIS if not rows or k in rows[0]]
            columns = [*dims, "cost", *shown]
        emit(
            rows, fmt, columns=columns, title=f"AI KPIs since {since} (--format json for every KPI and note)"
        )

    return report_kpis


def _kpi_table(row: dict[str, Any], obj: Any) -> None:
    """One group: a KPI per line (value, unit, note) instead of one very wide line."""
    from aifinops.cli.output import emit
    from aifinops.kpis import definitions

    notes = row.get("notes") or {}
    lines = [{"kpi": "cost", "value": row["cost"], "unit": "USD", "note": ""}]
    for d in definitions():
        if d["name"] in row:
            value = row[d["name"]]
            lines.append(
                {"kpi": d["name"], "value": value, "unit": d["unit"], "note": notes.get(d["name"], "")}
            )
    emit(lines, "table", columns=["kpi", "value", "unit", "note"], title="AI KPIs")


def _statement_command() -> click.Command:
    @click.command("statement")
    @click.option("--team", "--owner", "owner", required=True, help="the owner (a team, or see --dimension)")
    @click.option("--month", required=True, help="YYYY-MM")
    @click.option(
        "--dimension",
        default="team",
        show_default=True,
        type=click.Choice(
            ["team", "project", "product", "feature", "customer", "environment", "use_case", "user"]
        ),
        help="which owner dimension --team/--owner names",
    )
    @click.option(
        "--format", "fmt", type=click.Choice(_STATEMENT_FORMATS), default="table", show_default=True
    )
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="write the document to FILE")
    @click.pass_obj
    def report_statement(
        obj: Any, owner: str, month: str, dimension: str, fmt: str, out: Path | None
    ) -> None:
        """A month's showback statement, e.g. `aifinops report statement --team search --month 2026-03`."""
        from urllib.parse import quote

        from aifinops.core.jsonable import jsonable
        from aifinops.facade.kpis import render_statement

        data = obj.run(
            lambda app: jsonable(app.statement(owner, month, dimension)),
            f"/api/v1/statements/{quote(owner, safe='')}/{quote(month, safe='')}",
            params={"dimension": dimension, "format": "json"},
        )
        if fmt == "pdf":
            if out is None:
                raise click.UsageError("--format pdf needs --out FILE")
            _write_pdf(render_statement(data, "html"), out)
            click.echo(f"statement written to {out}", err=True)
            return
        text = _statement_table(data) if fmt == "table" else render_statement(data, fmt)
        if out is not None:
            out.write_text(text, encoding="utf-8")
            click.echo(f"statement written to {out}", err=True)
        else:
            click.echo(text, nl=False)

    return report_statement


def _write_pdf(html: str, out: Path) -> None:
    """Print the HTML statement to PDF with a headless Chromium/Chrome ($AIFINOPS_BROWSER or on PATH)."""
    import os
    import shutil
    import subprocess
    import tempfile

    from aifinops.core.errors import InputError

    browser = os.environ.get("AIFINOPS_BROWSER") or next(filter(None, map(shutil.which, _BROWSERS)), None)
    if not browser:
        raise InputError(
            "PDF needs Chromium or Chrome (on PATH or in $AIFINOPS_BROWSER); "
            "or use --format html and print the page to PDF from a browser"
        )
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "statement.html"
        page.write_text(html, encoding="utf-8")
        target = out.resolve()
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer"]
        command += [f"--user-data-dir={tmp}/profile", f"--print-to-pdf={target}", page.as_uri()]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            raise InputError(f"printing the statement to PDF with {browser} failed: {exc}") from None
    if not target.is_file() or target.stat().st_size == 0:
        raise InputError(f"{browser} wrote no PDF to {target}")


def _statement_table(data: dict[str, Any]) -> str:
    """The statement as plain text for a terminal (the figures of the CSV, grouped)."""
    from aifinops.kpis.statement import statement_lines

    lines = [
        f"AI spend statement: {data['dimension']} {data['owner']}, {data['month']} ({data['currency']})",
        "",
    ]
    section = None
    for line in statement_lines(data):
        if line["section"] != section:
            section = line["section"]
            lines.append(f"[{section}]")
        figure = line.get("cost") or line.get("value") or ""
        extra = []
        if line.get("budget_cost"):
            extra.append(f"budget {line['budget_cost']}")
        if line.get("share"):
            extra.append(f"{float(line['share']) * 100:.1f}%")
        if line.get("unit"):
            extra.append(line["unit"])
        if line.get("previous_value"):
            extra.append(f"(previous month {line['previous_value']})")
        if line.get("note"):
            extra.append(line["note"])
        lines.append(f"  {line['item']:<34} {figure:>16}  {'  '.join(extra)}".rstrip())
    for note in data["notes"]:
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"


def register(cli: click.Group, report: click.Group) -> None:
    """Add this area's commands to the ``aifinops`` group and its ``report`` group."""
    report.add_command(_kpis_command())
    report.add_command(_statement_command())
