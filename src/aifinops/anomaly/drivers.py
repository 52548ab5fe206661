"""What drove a spend anomaly: the features and models whose spend rose most against their usual spend.

Pure: the caller gives the spend per key (a feature, a model) in the anomaly's window and the usual spend
of those keys over the same hours of earlier weeks; this ranks the keys by excess and words it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["top_drivers", "describe_drivers"]


def top_drivers(
    current: Mapping[str, float], usual: Mapping[str, float], *, limit: int = 3, min_share: float = 0.1
) -> list[dict[str, Any]]:
    """The keys with the largest excess (``current - usual``), best first.

    Only keys carrying at least ``min_share`` of the total positive excess are kept (a long tail of tiny
    increases explains nothing). Each row: ``key``, ``observed``, ``usual``, ``excess`` and ``share`` (of
    the total positive excess, 0-1).
    """
    keys = set(current) | set(usual)
    rows = [
        {"key": k, "observed": float(current.get(k, 0.0)), "usual": float(usual.get(k, 0.0))} for k in keys
    ]
    for r in rows:
        r["excess"] = r["observed"] - r["usual"]
    total = sum(r["excess"] for r in rows if r["excess"] > 0)
    if total <= 0:
        return []
    for r in rows:
        r["share"] = r["excess"] / total
    ranked = sorted((r for r in rows if r["share"] >= min_share), key=lambda r: (-r["excess"], r["key"]))
    return [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in ranked[:limit]]


def describe_drivers(label: str, drivers: list[dict[str, Any]]) -> str:
    """``"driven by feature search-answers (+812.40, 86% of the excess)"``; empty without drivers."""
    if not drivers:
        return ""
    parts = [f"{label} {d['key']} ({d['excess']:+,.2f}, {d['share']:.0%} of the excess)" for d in drivers]
    return "driven by " + ", ".join(parts)
