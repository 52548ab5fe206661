"""Exact cost of a usage record from the catalog.

Token records: ``list_cost = Σ tokens(class) × price(class, pricing_mode, tier) / 1e6`` over the disjoint classes.
The long-context tier applies to every token of a request whose input (uncached + cache reads + cache writes)
exceeds the model's threshold, known when the record is one request (``requests <= 1``) or when its
``context_window`` tag (Anthropic usage reports: ``0-200k`` / ``200k-1M``) starts at or above the threshold.
A class the record has but the entry has no price for leaves the record unpriced, with the reason in
:func:`explain_cost` (nothing is guessed). ``operation == "web_search"`` records price ``quantity`` (or
``requests``) searches at the entry's per-request price. GPU records price ``gpu_seconds / 3600`` GPU-hours at the
per-GPU rate of the pricing mode (on_demand, reserved, spot).

Then ``effective_cost = list_cost × (1 − percent / 100)`` with the most specific discount (no stacking) and
``billed_cost = effective_cost``. Money is quantized to 12 places once, at the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aifinops.core.money import MILLION, ZERO, quantize
from aifinops.core.records import UsageRecord
from aifinops.pricing.catalog import Catalog
from aifinops.pricing.entries import GPU_MODES, Discount, ModelPrice

__all__ = ["CostLine", "CostBreakdown", "explain_cost", "price_record", "price_records", "is_long_context"]

_CLASS_FIELDS = (
    ("input", "input_tokens"),
    ("cached_input", "cached_input_tokens"),
    ("cache_write_5m", "cache_write_5m_tokens"),
    ("cache_write_1h", "cache_write_1h_tokens"),
    ("output", "output_tokens"),
)
_SECONDS_PER_HOUR = Decimal(3600)
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([km]?)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class CostLine:
    """One priced quantity: ``cost = quantity × unit_price / per``."""

    item: str
    quantity: Decimal
    unit_price: Decimal
    unit: str
    cost: Decimal

    def to_dict(self) -> dict[str, str]:
        """JSON-ready (decimals as strings)."""
        return {
            "item": self.item,
            "quantity": _s(self.quantity),
            "unit_price": _s(self.unit_price),
            "unit": self.unit,
            "cost": _s(self.cost),
        }


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """How a record's cost was (or could not be) computed."""

    status: str  # "priced" | "unpriced"
    reason: str | None = None
    price_id: str | None = None
    pricing_mode: str | None = None
    tier: str | None = None  # "standard" | "long_context" for token prices
    lines: tuple[CostLine, ...] = field(default_factory=tuple)
    list_cost: Decimal | None = None
    discount_id: str | None = None
    discount_percent: Decimal | None = None
    effective_cost: Decimal | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (decimals as strings)."""
        return {
            "status": self.status,
            "reason": self.reason,
            "price_id": self.price_id,
            "pricing_mode": self.pricing_mode,
            "tier": self.tier,
            "lines": [line.to_dict() for line in self.lines],
            "list_cost": _s(self.list_cost),
            "discount_id": self.discount_id,
            "discount_percent": _s(self.discount_percent),
            "effective_cost": _s(self.effective_cost),
        }


def _s(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _unpriced(reason: str, price_id: str | None = None, mode: str | None = None) -> CostBreakdown:
    return CostBreakdown(status="unpriced", reason=reason, price_id=price_id, pricing_mode=mode)


def _window_start(window: str) -> int | None:
    match = _WINDOW.match(window)
    if not match:
        return None
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    return int(Decimal(match.group(1)) * scale)


def is_long_context(record: UsageRecord, entry: ModelPrice) -> bool:
    """Whether the record's tokens bill at the entry's long-context rates."""
    threshold = entry.long_context_threshold
    if threshold is None or not entry.long_context:
        return False
    window = record.tags.get("context_window") if record.tags else None
    if window:
        start = _window_start(window)
        if start is not None and start >= threshold:
            return True
    if record.requests <= 1:
        total_input = (
            record.input_tokens
            + record.cached_input_tokens
            + record.cache_write_5m_tokens
            + record.cache_write_1h_tokens
        )
        return abs(total_input) > threshold  # a reversing record mirrors its original's tier
    return False


def _finish(
    catalog: Catalog,
    provider: str,
    names: tuple[str | None, ...],
    record: UsageRecord,
    total: Decimal,
    lines: list[CostLine],
    price_id: str,
    mode: str,
    tier: str | None,
) -> CostBreakdown:
    found: Discount | None = catalog.discount_for(provider, names, record.charge_period_start)
    effective = total * found.factor() if found else total
    return CostBreakdown(
        status="priced",
        price_id=price_id,
        pricing_mode=mode,
        tier=tier,
        lines=tuple(lines),
        list_cost=quantize(total),
        discount_id=found.discount_id if found else None,
        discount_percent=found.percent if found else None,
        effective_cost=quantize(effective),
    )


def _explain_gpu(record: UsageRecord, catalog: Catalog, mode: str) -> CostBreakdown:
    if not record.gpu_type and not record.service:
        return _unpriced("GPU record has neither gpu_type nor an instance type in service", mode=mode)
    gpu = catalog.resolve_gpu(record.provider, record.gpu_type, record.service, record.charge_period_start)
    if gpu is None:
        what = record.service or record.gpu_type
        return _unpriced(f"no GPU price for {what!r} on provider {record.provider!r}", mode=mode)
    if mode not in GPU_MODES:
        return _unpriced(f"GPU prices have no {mode} rate (on_demand, reserved, spot)", gpu.price_id, mode)
    rate = gpu.per_gpu_hour(mode)
    if rate is None:
        return _unpriced(f"{gpu.price_id} has no {mode} rate", gpu.price_id, mode)
    seconds = record.gpu_seconds or ZERO
    cost = seconds * rate / _SECONDS_PER_HOUR
    line = CostLine("gpu_hours", seconds / _SECONDS_PER_HOUR, rate, "GPU-hour", quantize(cost))
    names = (gpu.instance_type, gpu.gpu_type)
    return _finish(catalog, gpu.provider, names, record, cost, [line], gpu.price_id, mode, None)


def explain_cost(record: UsageRecord, catalog: Catalog) -> CostBreakdown:
    """The per-class breakdown of a record's catalog cost (computed whatever the record's cost_status)."""
    mode = record.pricing_mode or "on_demand"
    if record.gpu_seconds is not None:
        return _explain_gpu(record, catalog, mode)
    if not record.model:
        return _unpriced("record has no model", mode=mode)
    entry = catalog.resolve(record.model, record.provider, record.charge_period_start)
    if entry is None:
        where = f" from provider {record.provider!r}" if record.provider else ""
        return _unpriced(f"no price for model {record.model!r}{where}", mode=mode)
    lines: list[CostLine] = []
    total = ZERO
    if (record.operation or "").lower() == "web_search":
        searches = record.quantity if record.quantity is not None else Decimal(record.requests)
        if searches:
            if entry.web_search is None:
                return _unpriced(f"{entry.price_id} has no web search price", entry.price_id, mode)
            cost = searches * entry.web_search
            lines.append(CostLine("web_search", searches, entry.web_search, "request", quantize(cost)))
            total += cost
    long = is_long_context(record, entry)
    tier = "long_context" if long else "standard"
    has_tokens = any(getattr(record, f) for _, f in _CLASS_FIELDS)
    if has_tokens:
        rates = (entry.long_context if long else entry.rates).get(mode)
        if rates is None:
            what = f"{mode} long-context" if long else mode
            return _unpriced(f"{entry.price_id} has no {what} price", entry.price_id, mode)
        for token_class, attr in _CLASS_FIELDS:
            tokens = getattr(record, attr)
            if not tokens:
                continue
            price = rates.get(token_class)
            if price is None:
                what = f"{mode} long-context" if long else mode
                return _unpriced(
                    f"{entry.price_id} has no {what} price for {token_class} tokens", entry.price_id, mode
                )
            cost = tokens * price / MILLION
            lines.append(CostLine(token_class, Decimal(tokens), price, "1M tokens", quantize(cost)))
            total += cost
    elif not lines and record.quantity is not None:
        return _unpriced(f"{entry.price_id} has no price for {record.unit or 'units'}", entry.price_id, mode)
    names = (entry.model, record.model)
    return _finish(catalog, entry.provider, names, record, total, lines, entry.price_id, mode, tier)


def _fast_total(record: UsageRecord, catalog: Catalog) -> tuple[Decimal, ModelPrice] | None:
    """The list cost of a plain token record without building its breakdown (the hot path of the gateway and
    of imports); None sends the record through :func:`explain_cost`, which handles every other case."""
    if record.gpu_seconds is not None or not record.model or record.quantity is not None:
        return None
    if record.operation is not None and record.operation.lower() == "web_search":
        return None
    entry = catalog.resolve(record.model, record.provider, record.charge_period_start)
    if entry is None:
        return None
    table = entry.long_context if is_long_context(record, entry) else entry.rates
    rates = table.get(record.pricing_mode or "on_demand")
    if rates is None:
        return None
    total = ZERO
    for token_class, attr in _CLASS_FIELDS:
        tokens = getattr(record, attr)
        if tokens:
            price = getattr(rates, token_class)
            if price is None:
                return None
            total += tokens * price
    return total / MILLION, entry


def price_record(record: UsageRecord, catalog: Catalog) -> None:
    """Price one record in place; ``reported`` records (a provider's own cost) are left alone."""
    if record.cost_status == "reported":
        return
    fast = _fast_total(record, catalog)
    if fast is not None:
        total, entry = fast
        found = catalog.discount_for(entry.provider, (entry.model, record.model), record.charge_period_start)
        record.list_cost = quantize(total)
        record.effective_cost = record.billed_cost = quantize(total * found.factor() if found else total)
        record.price_id = entry.price_id
        record.currency = "USD"
        record.cost_status = "priced"
        return
    result = explain_cost(record, catalog)
    if result.status == "priced":
        record.list_cost = result.list_cost
        record.effective_cost = result.effective_cost
        record.billed_cost = result.effective_cost
        record.price_id = result.price_id
        record.currency = "USD"
        record.cost_status = "priced"
    else:
        record.list_cost = record.effective_cost = record.billed_cost = None
        record.price_id = None
        record.cost_status = "unpriced"


def price_records(records: Iterable[UsageRecord], catalog: Catalog) -> int:
    """Price records in place; returns how many are priced from the catalog."""
    count = 0
    for record in records:
        price_record(record, catalog)
        if record.cost_status == "priced":
            count += 1
    return count
