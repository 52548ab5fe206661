"""``aifinops prices show MODEL``: a model's resolved entry, every class price, its source and dated history."""

from __future__ import annotations

import difflib
from datetime import datetime
from decimal import Decimal
from typing import Any

from aifinops.core.errors import NotFound
from aifinops.pricing.catalog import Catalog
from aifinops.pricing.entries import ModelPrice, Rates
from aifinops.pricing.names import split_model

__all__ = ["describe", "suggest"]


def _s(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _rates(rates: Rates) -> dict[str, str]:
    return {cls: format(price, "f") for cls, price in rates.as_dict().items()}


def _entry(entry: ModelPrice) -> dict[str, Any]:
    long_context = None
    if entry.long_context_threshold is not None:
        long_context = {
            "threshold": entry.long_context_threshold,
            "prices": {mode: _rates(r) for mode, r in entry.long_context.items()},
        }
    return {
        "price_id": entry.price_id,
        "provider": entry.provider,
        "model": entry.model,
        "kind": entry.kind,
        "aliases": list(entry.aliases),
        "effective_from": entry.effective_from.isoformat(),
        "effective_to": entry.effective_to.isoformat() if entry.effective_to else None,
        "unit": "USD per 1M tokens",
        "prices": {mode: _rates(r) for mode, r in entry.rates.items()},
        "long_context": long_context,
        "web_search_per_request": _s(entry.web_search),
        "source": entry.source,
        "as_of": entry.as_of.isoformat() if entry.as_of else None,
        "checked": entry.checked,
        "note": entry.note,
        "origin": entry.origin,
    }


def suggest(model: str, catalog: Catalog, n: int = 5) -> list[str]:
    """Known model names close to ``model`` (for "did you mean")."""
    _, name = split_model(model)
    names = catalog.names()
    close = difflib.get_close_matches(name, names, n=n, cutoff=0.6)
    if len(close) < n:
        close += [x for x in names if name and name in x and x not in close][: n - len(close)]
    return close


def describe(
    model: str, catalog: Catalog, at: datetime | None = None, provider: str | None = None
) -> dict[str, Any]:
    """Everything the catalog knows about ``model`` at ``at`` (default now), money as exact decimal strings.

    Raises :class:`NotFound` with close-match suggestions for an unknown model.
    """
    entry = catalog.resolve(model, provider, at)
    if entry is None:
        hints = suggest(model, catalog)
        tail = f"; did you mean: {', '.join(hints)}?" if hints else ""
        raise NotFound(f"no price for model {model!r}{tail}", details=hints)
    out = {"query": model, **_entry(entry)}
    history = catalog.history(model, provider)
    out["history"] = []
    for i, item in enumerate(history):
        data = _entry(item)
        later = [e for e in history[i + 1 :] if e.origin == item.origin]
        data["superseded_at"] = later[0].effective_from.isoformat() if later else None
        data["in_force"] = item is entry
        out["history"].append(data)
    found = catalog.discount_for(entry.provider, (entry.model, model), at)
    out["discount"] = (
        {"discount_id": found.discount_id, "percent": _s(found.percent), "note": found.note}
        if found
        else None
    )
    return out
