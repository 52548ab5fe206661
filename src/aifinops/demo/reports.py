"""The providers' own daily usage reports of the demo company, for reconciliation against the gateway.

OpenAI and Anthropic each report tokens and requests per day and model (``openai-usage``,
``anthropic-usage``). The demo builds them from its gateway traffic, as the providers would see it, with two
things the gateway cannot see, so that ``aifinops report reconcile`` has something true to find:

- :data:`NOTEBOOK`: a data scientist calls OpenAI directly from a notebook with the company's key on a few
  weekdays (traffic that bypassed the gateway);
- the current, unfinished UTC day is not reported yet (provider reports lag).

A report row aggregates many requests, so it carries Anthropic's ``context_window`` tag to keep long-context
requests at their own rate when the catalog prices the row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from aifinops.core.records import TOKEN_FIELDS, UsageRecord, make_record_id

__all__ = ["NOTEBOOK", "Notebook", "ProviderReports"]

_SOURCES = {"openai": "openai-usage", "anthropic": "anthropic-usage"}
_LONG_CONTEXT = 200_000
_COUNTS = (*TOKEN_FIELDS, "requests")


@dataclass(frozen=True, slots=True)
class Notebook:
    """Direct calls that bypass the gateway: ``requests`` a day of ``model``, on ``days_before_end``."""

    provider: str
    model: str
    days_before_end: tuple[int, ...]
    requests: int
    input_tokens: int
    output_tokens: int


NOTEBOOK = Notebook("openai", "gpt-4o", (3, 6, 10, 13), 400, 6_000, 900)


class ProviderReports:
    """Accumulates gateway records (fed batch by batch) into the providers' daily usage report rows."""

    def __init__(self, end: datetime, scale: float = 1.0, notebook: Notebook | None = NOTEBOOK) -> None:
        self.end = end
        self.scale = scale
        self.notebook = notebook
        self._rows: dict[tuple[str, str, str, date, str], dict[str, int]] = {}

    def add(self, records: Iterable[UsageRecord]) -> None:
        """Count a batch's gateway calls to the hosted providers."""
        rows = self._rows
        for r in records:
            if r.source != "gateway" or r.provider not in _SOURCES or not r.model:
                continue
            prompt = (
                r.input_tokens + r.cached_input_tokens + r.cache_write_5m_tokens + r.cache_write_1h_tokens
            )
            window = "200k-1M" if r.requests <= 1 and prompt > _LONG_CONTEXT else "0-200k"
            key = (r.provider, r.model, r.pricing_mode, r.charge_period_start.date(), window)
            row = rows.get(key)
            if row is None:
                row = rows[key] = dict.fromkeys(_COUNTS, 0)
            for name in _COUNTS:
                row[name] += getattr(r, name)

    def records(self) -> list[UsageRecord]:
        """The report rows of every finished UTC day (unpriced: the catalog prices them on load)."""
        today = self.end.date()  # the unfinished day (or, at midnight, the day not yet begun)
        rows = {k: dict(v) for k, v in self._rows.items()}
        if self.notebook is not None:
            nb = self.notebook
            anchor = self.end.date()
            for back in nb.days_before_end:
                day = anchor - timedelta(days=back)
                key = (nb.provider, nb.model, "on_demand", day, "0-200k")
                if not any(k[3] == day for k in rows):
                    continue  # outside the window
                row = rows.setdefault(key, dict.fromkeys(_COUNTS, 0))
                n = max(1, round(nb.requests * self.scale))
                row["requests"] += n
                row["input_tokens"] += n * nb.input_tokens
                row["output_tokens"] += n * nb.output_tokens
        out = []
        for (provider, model, mode, day, window), counts in sorted(rows.items()):
            if day >= today:
                continue
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            source = _SOURCES[provider]
            out.append(
                UsageRecord(
                    record_id=make_record_id(source, f"{provider}|{model}|{mode}|{day}|{window}"),
                    source=source,
                    charge_period_start=start,
                    charge_period_end=start + timedelta(days=1),
                    provider=provider,
                    model=model,
                    operation="chat",
                    category="hosted_inference",
                    pricing_mode=mode,
                    tags={"context_window": window},
                    cost_status="unpriced",
                    **counts,
                )
            )
        return out
