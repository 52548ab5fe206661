"""Allocation (pure domain): owner rules, shared-cost splits, idle capacity, tag coverage.

Rows in (ledger rollups), rows out: no I/O here. See :mod:`aifinops.allocation.engine` for the order of
work and :mod:`aifinops.allocation.split` for the conservation guarantee.
"""

from __future__ import annotations

from aifinops.allocation.coverage import coverage
from aifinops.allocation.engine import ADDITIVE, aggregate, allocate, bucket
from aifinops.allocation.rules import Matcher, Plan, compile_plan
from aifinops.allocation.split import split

__all__ = [
    "ADDITIVE",
    "Matcher",
    "Plan",
    "aggregate",
    "allocate",
    "bucket",
    "compile_plan",
    "coverage",
    "split",
]
