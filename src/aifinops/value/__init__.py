"""The value ledger (pure): ROI, cost per outcome, zombies, maturity and realized savings."""

from __future__ import annotations

from aifinops.value.maturity import assess
from aifinops.value.roi import ratio, summarize, trend_of
from aifinops.value.savings import realized
from aifinops.value.zombies import find_zombies

__all__ = ["assess", "find_zombies", "ratio", "realized", "summarize", "trend_of"]
