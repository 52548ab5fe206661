"""Facade part: The KPI engine and showback/chargeback statements (issue 6).

``kpis`` computes every KPI of :mod:`aifinops.kpis.registry` per group and period; ``statement`` assembles a
month's showback statement for one owner (a team, or any owner dimension), rendered as JSON, CSV or HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aifinops.core.errors import InputError, NotFound
from aifinops.core.money import ZERO
from aifinops.core.records import OWNER_FIELDS
from aifinops.core.timeutil import parse_month

__all__ = ["KpiMixin", "render_statement", "STATEMENT_FORMATS"]

STATEMENT_FORMATS = ("json", "csv", "html")
_TREND_MONTHS = 6
#: Budget scope keys that name a record column of another spelling.
_SCOPE_COLUMNS = {"key": "api_key"}


class KpiMixin:
    """The KPI engine and showback/chargeback statements (issue 6)."""

    def kpi_definitions(self) -> list[dict[str, str]]:
        """Every KPI: name, title, unit, formula and when it is null."""
        from aifinops.kpis import definitions

        return definitions()

    def kpis(
        self,
        *,
        by: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        where: dict[str, Any] | None = None,
        grain: str | None = None,
        names: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Every KPI (or ``names``) per group of ``by`` (and ``period`` with a grain), most expensive first.

        Each row: the dimensions, ``period`` (with a grain), ``cost``, one column per KPI and ``notes`` (why
        each null KPI is null).
        """
        from aifinops.facade.kpis_data import gather
        from aifinops.kpis import KPIS, compute_kpis

        known = [k.name for k in KPIS]
        if names:
            unknown = [n for n in names if n not in known]
            if unknown:
                raise InputError(f"unknown KPI(s) {', '.join(unknown)}; choose from {', '.join(known)}")
        dims = list(dict.fromkeys(by))
        if grain is not None and grain not in ("hour", "day", "week", "month"):
            raise InputError(f"grain must be one of hour, day, week, month, got {grain!r}")
        groups = gather(self, dims, since, until, dict(where or {}), grain)  # type: ignore[arg-type]
        rows = []
        for key, inputs in groups.items():
            values, notes = compute_kpis(inputs, list(names) if names else None)
            row: dict[str, Any] = dict(zip(dims, key, strict=False))
            if grain:
                row["period"] = key[-1]
            rows.append({**row, "cost": inputs.cost, **values, "notes": notes})
        rows.sort(key=lambda r: (str(r.get("period", "")), -(r["cost"] or ZERO)))
        return rows

    # -- statements ---------------------------------------------------------------------------------
    def statement(self, owner: str, month: str, dimension: str = "team") -> dict[str, Any]:
        """One owner's showback statement for one month (``YYYY-MM``): spend by category, model and feature,
        the previous month and a six-month trend, budgets vs actual (pro-rated to the month) and KPIs."""
        if dimension not in OWNER_FIELDS:
            raise InputError(f"dimension must be one of {', '.join(OWNER_FIELDS)}, got {dimension!r}")
        if not owner:
            raise InputError("owner must not be empty")
        try:
            start, end = parse_month(month)
        except ValueError:  # year 0 or past 9999
            start = end = None
        if start is None or not 1000 <= start.year <= 9998:
            raise InputError(f"month: {month!r} is out of range")
        where = {dimension: owner}
        seen = self.ledger.query(f'SELECT count(*) AS n FROM records WHERE "{dimension}" = ?', [owner])[0][
            "n"
        ]
        budgets = self._owner_budgets(dimension, owner)
        spend = self.allocated_costs  # type: ignore[attr-defined]
        first = _month_start(start, -(_TREND_MONTHS - 1))
        # allocated rows come one per allocation label (direct, shared:POOL ...): always sum them
        by_month = _sum_by(spend(where=where, since=first, until=end, grain="month"), "period")
        trend = []
        for i in range(_TREND_MONTHS):
            month_start = _month_start(first, i)
            trend.append({"month": month_start.strftime("%Y-%m"), "cost": by_month.get(month_start, ZERO)})
        if not seen and not budgets and not by_month:
            raise NotFound(f"no spend and no budget for {dimension} {owner!r}")
        total, previous = trend[-1]["cost"], trend[-2]["cost"]
        # one allocation pass for the month: every section below is a sum over these rows
        totals = spend(by=["category", "model", "feature", "allocation"], where=where, since=start, until=end)
        unpriced = sum(r.get("unpriced_records") or 0 for r in totals)
        data: dict[str, Any] = {
            "owner": owner,
            "dimension": dimension,
            "month": start.strftime("%Y-%m"),
            "start": start,
            "end": end,
            "currency": self.settings.currency,  # type: ignore[attr-defined]
            "total_cost": total,
            "previous_month_cost": previous,
            "change_cost": total - previous,
            "change": float((total - previous) / previous) if previous else None,
            "trend": trend,
            "unpriced_records": unpriced,
        }
        for section in ("category", "model", "feature"):
            sums = _sum_by(totals, section)
            data[f"by_{section}"] = [
                {section: name, "cost": cost, "share": float(cost / total) if total else None}
                for name, cost in sorted(sums.items(), key=lambda item: (-item[1], str(item[0])))
            ]
        shares = _sum_by(totals, "allocation")
        data["by_allocation"] = [  # shared-pool shares and unallocated spend, when allocation provides them
            {"allocation": label, "cost": cost}
            for label, cost in shares.items()
            if label not in (None, "direct")
        ]
        data["budgets"] = [self._budget_line(b, start, end) for b in budgets]
        current = self.kpis(where=where, since=start, until=end)
        before = self.kpis(where=where, since=_month_start(start, -1), until=start)
        data["kpis"] = _kpi_items(
            current[0] if current else None, before[0] if before else None, self.kpi_definitions()
        )
        data["notes"] = _statement_notes(data)
        return data

    def statement_document(self, owner: str, month: str, dimension: str = "team", fmt: str = "json") -> str:
        """The statement as a JSON, CSV or printable HTML document."""
        from aifinops.core.jsonable import jsonable

        if fmt not in STATEMENT_FORMATS:
            raise InputError(f"format must be one of {', '.join(STATEMENT_FORMATS)}, got {fmt!r}")
        return render_statement(jsonable(self.statement(owner, month, dimension)), fmt)

    def _owner_budgets(self, dimension: str, owner: str) -> list[Any]:
        from aifinops.budgets.scope import compile_scope

        out = []
        for budget in self.settings.budgets:  # type: ignore[attr-defined]
            key = next((k for k in budget.scope if _SCOPE_COLUMNS.get(k, k) == dimension), None)
            if key is not None and compile_scope({key: budget.scope[key]})({key: owner}):
                out.append(budget)
        return out

    def _budget_line(self, budget: Any, start: datetime, end: datetime) -> dict[str, Any]:
        from aifinops.kpis.statement import prorate

        amount = prorate(budget.amount, budget.period, start, end, budget.start, budget.end)
        where = {_SCOPE_COLUMNS.get(k, k): v for k, v in budget.scope.items()}
        rows = self.allocated_costs(where=where, since=start, until=end)  # type: ignore[attr-defined]
        actual = sum((r["cost"] or ZERO for r in rows), ZERO)
        note = None
        if budget.per is not None:
            note = f"the amount applies to each {budget.per}; actual is the whole scope's spend"
        if budget.period != "month":
            note = (
                note + "; " if note else ""
            ) + f"{budget.period} budget of {budget.amount}, pro-rated to the month"
        return {
            "name": budget.name,
            "scope": dict(budget.scope),
            "period": budget.period,
            "amount": budget.amount,
            "budget_cost": amount,
            "actual_cost": actual,
            "remaining_cost": amount - actual,
            "used": float(actual / amount) if amount else None,
            "hard": budget.hard,
            "note": note,
        }


def _sum_by(rows: list[dict[str, Any]], key: str) -> dict[Any, Any]:
    """Cost per value of ``key``, summed over the rows (allocation labels, split groups)."""
    sums: dict[Any, Any] = {}
    for row in rows:
        sums[row.get(key)] = sums.get(row.get(key), ZERO) + (row["cost"] or ZERO)
    return sums


def _month_start(month: datetime, offset: int) -> datetime:
    index = month.year * 12 + month.month - 1 + offset
    return month.replace(year=index // 12, month=index % 12 + 1, day=1)


def _kpi_items(
    row: dict[str, Any] | None, previous: dict[str, Any] | None, definitions: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """The statement's KPIs: this month's value (or why it is null) next to the previous month's."""
    items = []
    for d in definitions:
        value = row.get(d["name"]) if row else None
        note = (row["notes"].get(d["name"]) if row else "no spend in the month") if value is None else None
        items.append(
            {
                "name": d["name"],
                "title": d["title"],
                "unit": d["unit"],
                "value": value,
                "previous_value": previous.get(d["name"]) if previous else None,
                "note": note,
            }
        )
    return items


def _statement_notes(data: dict[str, Any]) -> list[str]:
    notes = []
    if data["unpriced_records"]:
        notes.append(f"{data['unpriced_records']} record(s) have no price yet and are not in the totals")
    if not data["budgets"]:
        notes.append(f"no budget in aifinops.yaml has a scope on {data['dimension']} {data['owner']!r}")
    return notes


def render_statement(data: dict[str, Any], fmt: str) -> str:
    """Render a statement's JSON form (``jsonable(app.statement(...))``) as json, csv or html text."""
    import json

    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    if fmt == "csv":
        from aifinops.kpis.statement import statement_csv

        return statement_csv(data)
    if fmt == "html":
        from importlib.resources import files

        from aifinops.kpis.render import statement_html

        template = files("aifinops.web").joinpath("templates/statement.html").read_text(encoding="utf-8")
        return statement_html(data, template)
    raise InputError(f"format must be one of {', '.join(STATEMENT_FORMATS)}, got {fmt!r}")
