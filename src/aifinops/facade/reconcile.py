"""Facade part: metered vs provider-reported cost reconciliation (issue 6)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from aifinops.core.errors import InputError
from aifinops.reconcile import COST_SOURCES, METERED_SOURCES, USAGE_SOURCES, Tolerance, reconcile, summarize

__all__ = ["ReconcileMixin"]

_SOURCES = (*METERED_SOURCES, *USAGE_SOURCES, *COST_SOURCES)


class ReconcileMixin:
    """Metered cost (gateway, OTLP) against provider-reported cost (usage and cost imports)."""

    def reconciliation(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        provider: str | None = None,
        tolerance_amount: Decimal | None = None,
        tolerance_percent: Decimal | None = None,
        flagged_only: bool = False,
    ) -> dict[str, Any]:
        """Per provider, model and day: metered vs reported cost, flagged differences and their likely cause.

        Returns ``{"summary": [per provider], "rows": [...], "tolerance": {...}}``. The tolerances default to
        ``reporting.reconcile`` in aifinops.yaml.
        """
        settings = self.settings.reporting.reconcile  # type: ignore[attr-defined]
        amount = settings.tolerance_amount if tolerance_amount is None else tolerance_amount
        percent = settings.tolerance_percent if tolerance_percent is None else tolerance_percent
        if amount < 0 or percent < 0:
            raise InputError("tolerances must not be negative")
        ledger = self.ledger  # type: ignore[attr-defined]
        cost = ledger.cost_column
        clauses = [f"source IN ({', '.join('?' for _ in _SOURCES)})"]
        params: list[Any] = list(_SOURCES)
        for sql, value in (
            ("charge_period_start >= ?", since),
            ("charge_period_start < ?", until),
            ("provider = ?", provider),
        ):
            if value is not None:
                clauses.append(sql)
                params.append(value)
        rows = ledger.query(
            "SELECT provider, model, CAST(charge_period_start AS DATE) AS day, source, "
            f"coalesce(sum({cost}), 0) AS cost, "
            "sum(input_tokens + cached_input_tokens + cache_write_5m_tokens + cache_write_1h_tokens "
            "+ output_tokens) AS tokens, sum(requests) AS requests, count(*) AS records, "
            "count(*) FILTER (WHERE cost_status = 'unpriced') AS unpriced_records, "
            "count(*) FILTER (WHERE tags['usage_estimated'] = 'true') AS estimated_records "
            f"FROM records WHERE {' AND '.join(clauses)} GROUP BY ALL",
            params,
        )
        priority = [s for s in ledger.source_priority if s in METERED_SOURCES]
        priority += [s for s in METERED_SOURCES if s not in priority]
        out = reconcile(rows, tolerance=Tolerance(amount, percent), metered_priority=priority)
        summary = summarize(out)
        return {
            "tolerance": {"amount": amount, "percent": percent},
            "summary": summary,
            "rows": [r for r in out if r["status"] == "flagged"] if flagged_only else out,
        }
