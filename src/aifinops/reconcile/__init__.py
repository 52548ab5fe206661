"""Reconciliation: what aifinops metered against what the provider reported, per provider, model and day.

Pure domain: aggregated rows in (one per provider, model, day and source), comparisons out. No I/O.

Three kinds of source see the same provider spend (DESIGN §3):

- **metered**: the gateway and OpenTelemetry (``gateway``, ``otlp``, ``otlp-metrics``): every call, priced by
  aifinops' catalog. Per provider and day the first present in the priority order is read, never their sum.
- **usage reports** (``openai-usage``, ``anthropic-usage``): the provider's token counts, priced by the catalog.
- **cost reports** (``openai-costs``, ``anthropic-costs``, a ``focus`` bill): the provider's own money.

The reported side of a comparison is the cost report when the provider-day has one, else the usage report.
A difference above the tolerance is flagged with its likely cause, in this order of evidence:

1. ``unpriced_model``: metered records of the model have no price (they count as $0 here until repriced).
2. ``missing_stream_usage``: metered calls whose usage the provider never sent (estimated by the gateway).
3. ``bypassed_gateway``: the provider counted more tokens (or requests) than aifinops metered.
4. ``report_incomplete``: aifinops metered more tokens than the provider reported (reports lag a day).
5. ``price_change``: the tokens agree but the provider's cost report does not: the catalog's rate is not the
   rate billed (a price change, or a negotiated discount missing from ``discounts:``). Against a usage report
   (priced here from daily totals) agreeing counts are a match: daily totals cannot show per-request tiers.
6. ``unexplained``: nothing above fits (for example a cost report with no usage report to compare tokens).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

__all__ = [
    "METERED_SOURCES",
    "USAGE_SOURCES",
    "COST_SOURCES",
    "CAUSES",
    "Tolerance",
    "reconcile",
    "summarize",
]

METERED_SOURCES = ("gateway", "otlp", "otlp-metrics")
USAGE_SOURCES = ("openai-usage", "anthropic-usage")
COST_SOURCES = ("openai-costs", "anthropic-costs", "focus")
CAUSES = (
    "unpriced_model",
    "missing_stream_usage",
    "bypassed_gateway",
    "report_incomplete",
    "price_change",
    "unexplained",
)
_ZERO = Decimal(0)
#: token counts within this share of each other are "the same traffic"
TOKEN_MATCH = 0.01


@dataclass(frozen=True, slots=True)
class Tolerance:
    """A difference is flagged when it exceeds both ``amount`` and ``percent`` of the larger side."""

    amount: Decimal = Decimal("0.01")
    percent: Decimal = Decimal("1")

    def exceeded(self, difference: Decimal, metered: Decimal, reported: Decimal) -> bool:
        """Whether ``difference`` is beyond this tolerance."""
        gap = abs(difference)
        return gap > self.amount and gap * 100 > self.percent * max(abs(metered), abs(reported))


@dataclass(slots=True)
class _Side:
    cost: Decimal = _ZERO
    tokens: int = 0
    requests: int = 0
    records: int = 0
    unpriced: int = 0
    estimated: int = 0
    source: str | None = None

    def add(self, row: Mapping[str, Any]) -> None:
        self.cost += row.get("cost") or _ZERO
        self.tokens += int(row.get("tokens") or 0)
        self.requests += int(row.get("requests") or 0)
        self.records += int(row.get("records") or 0)
        self.unpriced += int(row.get("unpriced_records") or 0)
        self.estimated += int(row.get("estimated_records") or 0)
        self.source = self.source or row["source"]


@dataclass(slots=True)
class _Cell:
    metered: _Side = field(default_factory=_Side)
    usage: _Side = field(default_factory=_Side)
    costs: _Side = field(default_factory=_Side)


def _pick(present: Iterable[str], order: Sequence[str]) -> str | None:
    present = set(present)
    return next((s for s in order if s in present), None)


def reconcile(
    rows: Iterable[Mapping[str, Any]],
    *,
    tolerance: Tolerance | None = None,
    metered_priority: Sequence[str] = METERED_SOURCES,
) -> list[dict[str, Any]]:
    """Compare metered and reported spend per provider, model and day.

    ``rows`` carry ``provider``, ``model``, ``day`` (a date), ``source``, ``cost`` (Decimal), ``tokens``,
    ``requests``, ``records``, ``unpriced_records`` and ``estimated_records``. Only provider-days that have
    both a metered source and a provider report are compared; every model of such a day gets a row, even when
    one side never saw it. Rows come back ordered by the size of the difference.
    """
    tolerance = tolerance or Tolerance()
    by_day: dict[tuple[str, date], dict[str, list[Mapping[str, Any]]]] = {}
    for row in rows:
        key = (row.get("provider") or "", row["day"])
        by_day.setdefault(key, {}).setdefault(row["source"], []).append(row)
    out: list[dict[str, Any]] = []
    for (provider, day), sources in by_day.items():
        metered = _pick(sources, metered_priority)
        costs = _pick(sources, COST_SOURCES)
        usage = _pick(sources, USAGE_SOURCES)
        if metered is None or (costs is None and usage is None):
            continue
        # a cost report that names no model (unparsed line items) is compared per provider-day
        per_day = costs is not None and all(r.get("model") is None for r in sources[costs])
        cells: dict[str | None, _Cell] = {}
        for source, side in ((metered, "metered"), (usage, "usage"), (costs, "costs")):
            for row in sources.get(source, []) if source else []:
                model = None if per_day else row.get("model")
                getattr(cells.setdefault(model, _Cell()), side).add(row)
        for model, cell in cells.items():
            out.append(_compare(provider, model, day, cell, costs is not None, tolerance))
    out.sort(key=lambda r: (-abs(r["difference"]), r["day"], r["provider"], r["model"] or ""))
    return out


def _compare(
    provider: str, model: str | None, day: date, cell: _Cell, has_costs: bool, tolerance: Tolerance
) -> dict[str, Any]:
    reported = cell.costs if has_costs else cell.usage
    difference = reported.cost - cell.metered.cost
    flagged = tolerance.exceeded(difference, cell.metered.cost, reported.cost)
    note = None
    if flagged and not has_costs and _same_traffic(cell) and not cell.metered.unpriced:
        # a usage report is priced by our own catalog from daily totals: when the counts agree, a money gap is
        # a per-request rate (long-context tier) that daily totals cannot show, not a billing difference
        flagged = False
        note = "token and request counts agree; the daily usage report cannot show per-request rate tiers"
    cause, detail = _cause(cell, difference, has_costs) if flagged else (None, note)
    base = max(abs(cell.metered.cost), abs(reported.cost))
    return {
        "provider": provider or None,
        "model": model,
        "day": day,
        "metered_source": cell.metered.source,
        "reported_source": reported.source or (cell.costs.source if has_costs else cell.usage.source),
        "metered_cost": cell.metered.cost,
        "reported_cost": reported.cost,
        "difference": difference,
        "difference_percent": float(difference * 100 / base) if base else 0.0,
        "metered_tokens": cell.metered.tokens,
        "reported_tokens": cell.usage.tokens if cell.usage.source else None,
        "metered_requests": cell.metered.requests,
        "reported_requests": cell.usage.requests if cell.usage.source else None,
        "status": "flagged" if flagged else "ok",
        "cause": cause,
        "detail": detail,
    }


def _cause(cell: _Cell, difference: Decimal, has_costs: bool) -> tuple[str, str]:
    m, u = cell.metered, cell.usage
    if m.unpriced:
        return "unpriced_model", (
            f"{m.unpriced:,} metered record(s) have no price and count as $0 here: "
            "add the model under prices: and run `aifinops reprice`"
        )
    if m.estimated and difference > 0:
        return "missing_stream_usage", (
            f"{m.estimated:,} metered call(s) ended without usage from the provider (cut streams); "
            "their tokens were estimated"
        )
    if u.source:
        if _more(u.tokens, m.tokens) or (u.tokens == m.tokens and u.requests > m.requests):
            return "bypassed_gateway", (
                f"the provider counted {u.tokens - m.tokens:,} more tokens and {u.requests - m.requests:,} "
                "more requests than aifinops metered: traffic that bypassed the gateway (keys used directly?)"
            )
        if _more(m.tokens, u.tokens):
            return "report_incomplete", (
                f"aifinops metered {m.tokens - u.tokens:,} more tokens than the provider reported: the report "
                "may be incomplete (provider reports lag up to a day) or cover another project"
            )
        return "price_change", (
            "the token counts agree but the money does not: the catalog's rate is not the rate billed "
            "(a price change, or a negotiated discount missing from discounts:)"
        )
    if not m.records:
        return "bypassed_gateway", "the provider billed this model but aifinops metered no call of it"
    if not has_costs:
        return "unexplained", "no usage report to compare token counts with"
    return "unexplained", "no usage report for this day to compare token counts with the cost report"


def _same_traffic(cell: _Cell) -> bool:
    m, u = cell.metered, cell.usage
    return not _more(u.tokens, m.tokens) and not _more(m.tokens, u.tokens) and u.requests == m.requests


def _more(a: int, b: int) -> bool:
    """``a`` exceeds ``b`` by more than the token tolerance."""
    return a - b > TOKEN_MATCH * max(a, b, 1)


def summarize(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Totals per provider: metered, reported, difference, flagged rows, and the causes seen."""
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        t = totals.setdefault(
            row["provider"] or "",
            {
                "provider": row["provider"],
                "days": set(),
                "metered_cost": _ZERO,
                "reported_cost": _ZERO,
                "difference": _ZERO,
                "flagged": 0,
                "causes": {},
            },
        )
        t["days"].add(row["day"])
        t["metered_cost"] += row["metered_cost"]
        t["reported_cost"] += row["reported_cost"]
        t["difference"] += row["difference"]
        if row["status"] == "flagged":
            t["flagged"] += 1
            t["causes"][row["cause"]] = t["causes"].get(row["cause"], 0) + 1
    out = []
    for t in sorted(totals.values(), key=lambda t: -abs(t["difference"])):
        out.append({**t, "days": len(t["days"])})
    return out
