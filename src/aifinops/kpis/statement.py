"""Showback statements, the pure parts: budget pro-rating and the statement as flat CSV lines.

A budget's amount is pro-rated to the statement's month by time overlap: ``amount x overlap(month, window) /
length(window)``, where ``window`` is each budget period (day, week, month, quarter, year, or the custom range)
that overlaps the month. A monthly budget counts in full; a daily one counts once per day of the month; a
quarterly one counts days-in-month / days-in-quarter of its amount; a weekly one by the days of each week
inside the month.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from aifinops.budgets.periods import period_window
from aifinops.core.money import ZERO, cents, quantize

__all__ = ["prorate", "statement_lines", "statement_csv", "CSV_COLUMNS"]

CSV_COLUMNS = ("section", "item", "cost", "budget_cost", "share", "value", "previous_value", "unit", "note")


def prorate(
    amount: Decimal,
    period: str,
    start: datetime,
    end: datetime,
    custom_start: datetime | None = None,
    custom_end: datetime | None = None,
) -> Decimal:
    """The part of a budget of ``amount`` per ``period`` that falls in ``[start, end)``."""
    total = ZERO
    at = start
    while at < end:
        lo, hi = period_window(period, at, custom_start, custom_end)
        overlap = (min(hi, end) - max(lo, start)).total_seconds()
        if overlap > 0:
            total += amount * Decimal(int(overlap)) / Decimal(int((hi - lo).total_seconds()))
        if period == "custom":
            break
        at = hi
    return quantize(total)


def _money(value: Any) -> str:
    return "" if value is None else str(cents(Decimal(str(value))))


def _share(value: Any) -> str:
    return "" if value is None else f"{float(value):.4f}"


def statement_lines(data: dict[str, Any]) -> Iterable[dict[str, str]]:
    """A statement (its JSON form or the facade's dict) as flat lines, money rounded to the cent."""
    yield {"section": "total", "item": "total", "cost": _money(data["total_cost"])}
    yield {"section": "total", "item": "previous_month", "cost": _money(data["previous_month_cost"])}
    yield {
        "section": "total",
        "item": "change",
        "cost": _money(data["change_cost"]),
        "share": _share(data["change"]),
    }
    for row in data["trend"]:
        yield {"section": "trend", "item": row["month"], "cost": _money(row["cost"])}
    for section in ("category", "model", "feature"):
        for row in data[f"by_{section}"]:
            yield {
                "section": section,
                "item": "(none)" if row[section] is None else str(row[section]),
                "cost": _money(row["cost"]),
                "share": _share(row["share"]),
            }
    for row in data.get("by_allocation", []):
        yield {"section": "allocation", "item": str(row["allocation"]), "cost": _money(row["cost"])}
    for row in data["budgets"]:
        yield {
            "section": "budget",
            "item": row["name"],
            "cost": _money(row["actual_cost"]),
            "budget_cost": _money(row["budget_cost"]),
            "share": _share(row["used"]),
            "note": row["note"] or "",
        }
    for item in data["kpis"]:
        value, previous = item["value"], item.get("previous_value")
        yield {
            "section": "kpi",
            "item": item["name"],
            "value": "" if value is None else str(value),
            "previous_value": "" if previous is None else str(previous),
            "unit": item["unit"],
            "note": item["note"] or "",
        }


def statement_csv(data: dict[str, Any]) -> str:
    """The statement as CSV text (one header, one line per figure)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for line in statement_lines(data):
        writer.writerow({c: line.get(c, "") for c in CSV_COLUMNS})
    return buf.getvalue()
