"""The printable HTML statement: a rendering of the statement's JSON form into a ``string.Template`` page."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from string import Template
from typing import Any

from aifinops.core.money import cents, format_money

__all__ = ["statement_html"]


def _m(value: Any) -> str:
    return "–" if value is None else format_money(cents(Decimal(str(value))))


def _pct(value: Any) -> str:
    return "–" if value is None else f"{float(value) * 100:.1f}%"


def _kpi_value(value: Any, unit: str) -> str:
    if value is None:
        return "–"
    if unit.startswith("USD"):
        amount = Decimal(str(value))
        return format_money(amount) if abs(amount) >= 1 else f"${amount:.6g}"
    if unit.startswith("fraction"):
        return _pct(value)
    return f"{float(value):,.2f}"


def _table(head: list[tuple[str, bool]], rows: list[list[str]]) -> str:
    cols = "".join(f'<th class="num">{escape(h)}</th>' if num else f"<th>{escape(h)}</th>" for h, num in head)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{c}</td>' if num else f"<td>{c}</td>"
            for c, (_, num) in zip(row, head, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{cols}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _breakdown(data: dict[str, Any], section: str, label: str) -> str:
    rows = data[f"by_{section}"]
    if not rows:
        return f"<h2>By {label}</h2><p class='note'>No spend.</p>"
    top = max((Decimal(str(r["cost"])) for r in rows), default=Decimal(0)) or Decimal(1)
    lines = []
    for r in rows:
        width = max(float(Decimal(str(r["cost"])) / top * 100), 0.0)
        name = "(none)" if r[section] is None else str(r[section])
        lines.append(
            [
                escape(name),
                _m(r["cost"]),
                _pct(r["share"]),
                f'<div class="bar" style="width:{width:.1f}%"></div>',
            ]
        )
    head = [(label.capitalize(), False), ("Cost", True), ("Share", True), ("", False)]
    return f"<h2>By {label}</h2>" + _table(head, lines)


def _cards(data: dict[str, Any]) -> str:
    change = data["change"]
    cls = "over" if change is not None and change > 0 else "under"
    return (
        '<div class="cards">'
        f'<div class="card"><div class="label">Total spend</div><div class="figure">{_m(data["total_cost"])}</div></div>'
        f'<div class="card"><div class="label">Previous month</div>'
        f'<div class="figure">{_m(data["previous_month_cost"])}</div></div>'
        f'<div class="card"><div class="label">Change</div><div class="figure {cls}">{_m(data["change_cost"])}'
        f' <span class="muted">({_pct(change)})</span></div></div>'
        "</div>"
    )


def _trend(data: dict[str, Any]) -> str:
    top = max((Decimal(str(r["cost"])) for r in data["trend"]), default=Decimal(0)) or Decimal(1)
    rows = [
        [
            escape(r["month"]),
            _m(r["cost"]),
            f'<div class="bar" style="width:{float(Decimal(str(r["cost"])) / top * 100):.1f}%"></div>',
        ]
        for r in data["trend"]
    ]
    return "<h2>Trend (last six months)</h2>" + _table([("Month", False), ("Cost", True), ("", False)], rows)


def _allocation(data: dict[str, Any]) -> str:
    rows = [[escape(str(r["allocation"])), _m(r["cost"])] for r in data.get("by_allocation", [])]
    if not rows:
        return ""
    return "<h2>Shared and unallocated</h2>" + _table([("Allocation", False), ("Cost", True)], rows)


def _budgets(data: dict[str, Any]) -> str:
    if not data["budgets"]:
        return "<h2>Budget vs actual</h2><p class='note'>No budget applies to this owner.</p>"
    rows = []
    for b in data["budgets"]:
        used = b["used"]
        cls = "over" if used is not None and used > 1 else "under"
        rows.append(
            [
                escape(b["name"]) + (f'<div class="note">{escape(b["note"])}</div>' if b["note"] else ""),
                escape(b["period"]),
                _m(b["budget_cost"]),
                _m(b["actual_cost"]),
                _m(b["remaining_cost"]),
                f'<span class="{cls}">{_pct(used)}</span>',
            ]
        )
    head = [("Budget", False), ("Period", False), ("Budget (month)", True), ("Actual", True)]
    head += [("Remaining", True), ("Used", True)]
    return "<h2>Budget vs actual</h2>" + _table(head, rows)


def _kpis(data: dict[str, Any]) -> str:
    rows = [
        [
            escape(k["title"]),
            _kpi_value(k["value"], k["unit"]),
            _kpi_value(k.get("previous_value"), k["unit"]),
            escape(k["unit"]),
            f'<span class="note">{escape(k["note"] or "")}</span>',
        ]
        for k in data["kpis"]
    ]
    head = [("KPI", False), ("Value", True), ("Previous month", True), ("Unit", False), ("Note", False)]
    return "<h2>KPIs</h2>" + _table(head, rows)


def statement_html(data: dict[str, Any], template: str) -> str:
    """A printable page for a statement (its JSON form); ``template`` is ``web/templates/statement.html``."""
    owner = f"{data['dimension']} {data['owner']}"
    parts = [
        _cards(data),
        _trend(data),
        _breakdown(data, "category", "category"),
        _breakdown(data, "model", "model"),
        _breakdown(data, "feature", "feature"),
        _allocation(data),
        _budgets(data),
        _kpis(data),
    ]
    if data["notes"]:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in data["notes"]) + "</ul>")
    return Template(template).substitute(
        title=escape(f"AI spend statement: {owner}, {data['month']}"),
        heading=escape(f"AI spend statement: {owner}"),
        period=escape(f"{data['month']} ({data['start'][:10]} to {data['end'][:10]}, exclusive)"),
        currency=escape(data["currency"]),
        body="\n".join(parts),
    )
