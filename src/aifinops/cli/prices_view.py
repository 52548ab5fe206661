"""`aifinops prices show` as a readable table."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from aifinops.core.jsonable import jsonable

__all__ = ["print_price"]


def print_price(info: dict[str, Any]) -> None:
    """Print a model's entry: header facts, then one row per price (USD per 1M tokens unless noted)."""
    console = Console()
    data = jsonable(info)
    head = {k: v for k, v in data.items() if not isinstance(v, dict | list)}
    for key, value in head.items():
        console.print(f"[bold]{key}[/bold]: {value}")
    for key, value in data.items():
        if isinstance(value, dict) and value:
            table = Table(title=key)
            table.add_column("class")
            table.add_column("price", justify="right")
            for name, price in _flatten(value):
                table.add_row(name, "" if price is None else str(price))
            console.print(table)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            table = Table(title=key)
            names = list(value[0])
            for name in names:
                table.add_column(name)
            for row in value:
                table.add_row(*("" if row.get(n) is None else str(row.get(n)) for n in names))
            console.print(table)


def _flatten(value: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            out.extend(_flatten(item, name + "."))
        else:
            out.append((name, item))
    return out
