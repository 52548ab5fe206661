"""Render results as a table (rich), JSON (money as decimal strings) or CSV."""

from __future__ import annotations

import csv
import io
import json
import sys
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from aifinops.core.jsonable import jsonable
from aifinops.core.money import format_money

__all__ = ["emit", "FORMATS", "format_money"]

FORMATS = ("table", "json", "csv")


def _cell(name: str, value: Any) -> str:
    if name == "cost" or name.endswith("_cost"):
        return format_money(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    text = jsonable(value)
    return "" if text is None else str(text)


def emit(data: Any, fmt: str, *, columns: list[str] | None = None, title: str | None = None) -> None:
    """Print rows (a list of dicts) or one object in the chosen format."""
    if fmt == "json":
        sys.stdout.write(json.dumps(jsonable(data), indent=2) + "\n")
        return
    rows = data if isinstance(data, list) else [data]
    if fmt == "csv":
        names = columns_all(rows)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=names, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(v) for k, v in jsonable(row).items()})
        sys.stdout.write(buf.getvalue())
        return
    names = columns or columns_all(rows)
    table = Table(title=title, show_lines=False)
    for name in names:
        numeric = bool(rows) and isinstance(rows[0].get(name), int | float | Decimal)
        table.add_column(name, justify="right" if numeric or name.endswith("cost") else "left")
    for row in rows:
        table.add_row(*(_cell(n, row.get(n)) for n in names))
    Console(width=max(120, Console().width)).print(table)


def _csv_value(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict | list) else value


def columns_all(rows: list[dict[str, Any]]) -> list[str]:
    """Every key in row order of first appearance."""
    names: list[str] = []
    for row in rows:
        for key in row:
            if key not in names:
                names.append(key)
    return names
