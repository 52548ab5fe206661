"""Allocation labels on exported rows: owner after rules, shared pool lines, unallocated."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from aifinops.allocation.labels import record_labels
from aifinops.allocation.rules import compile_plan
from aifinops.app import App
from aifinops.core.settings import parse_settings
from tests.factories import rec

CONFIG = """
allocation:
  normalize: {team: {search: [Search, search-team]}}
  owners:
    - {match: {api_key: "support-*"}, set: {team: support}}
  shared:
    - {name: vector-db, match: {service: pinecone}, split_by: tokens, owner: platform}
"""


def test_labels_follow_the_rules_once_per_combination() -> None:
    plan = compile_plan(parse_settings(CONFIG).allocation)
    columns = {
        "team": ["Search", None, None, None, "search-team"],
        "api_key": [None, "support-prod", None, None, None],
        "service": [None, None, "pinecone", None, None],
    }
    owners, labels = record_labels(plan, columns, 5)
    assert owners == ["search", "support", None, None, "search"]
    assert labels == ["direct", "direct", "shared:vector-db", "unallocated", "direct"]


def test_the_focus_export_carries_them(tmp_path: Path) -> None:
    app = App(parse_settings(CONFIG), None)
    app.append(
        [
            rec(1, team="Search"),
            rec(2, api_key="support-prod"),
            rec(3, service="pinecone", tags={"endpoint": "x"}),
            rec(4),
        ]
    )
    out = tmp_path / "focus.csv"
    result = app.export_focus(out)
    rows = {r["x_RecordId"]: r for r in csv.DictReader(out.open())}
    assert result["rows"] == 4 and result["effective_cost"] == 4 * Decimal("0.00045")
    got = sorted((r["x_Team"], r["x_AllocatedOwner"], r["x_Allocation"]) for r in rows.values())
    assert got == sorted(
        [
            ("Search", "search", "direct"),
            ("", "support", "direct"),
            ("", "", "shared:vector-db"),
            ("", "", "unallocated"),
        ]
    )
