"""Pricing: the effective-dated price catalog (shipped list prices + user prices and discounts) and exact costs.

Typical use::

    catalog = load_catalog(settings.prices, settings.discounts)   # the aifinops.yaml sections, plain lists
    catalog.resolve("claude-sonnet-4-5-20250929", at=when)        # -> ModelPrice | None
    price_records(records, catalog)                               # fills list/effective/billed cost, price_id

Data files live in ``pricing/data/*.yaml`` (USD per 1M tokens, per request, per instance-hour), each entry with its
``source``, ``as_of`` and ``checked``. See :mod:`aifinops.pricing.entries` for the ``price_id`` format.
"""

from __future__ import annotations

from aifinops.pricing.catalog import DATA_DIR, Catalog, load_catalog, shipped_catalog
from aifinops.pricing.cost import CostBreakdown, CostLine, explain_cost, price_record, price_records
from aifinops.pricing.describe import describe, suggest
from aifinops.pricing.entries import Discount, GpuPrice, ModelPrice, Rates
from aifinops.pricing.gpu import normalize_gpu_type
from aifinops.pricing.names import canonical_cloud, canonical_provider

__all__ = [
    "DATA_DIR",
    "Catalog",
    "CostBreakdown",
    "CostLine",
    "Discount",
    "GpuPrice",
    "ModelPrice",
    "Rates",
    "canonical_cloud",
    "canonical_provider",
    "describe",
    "explain_cost",
    "load_catalog",
    "normalize_gpu_type",
    "price_record",
    "price_records",
    "shipped_catalog",
    "suggest",
]
