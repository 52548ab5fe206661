"""The FOCUS columns derived from several record fields at once, computed column-wise with Arrow.

:func:`derive` maps a ledger record batch to quantities and units, descriptions, services, SKUs,
resources and tags. Lookups run once per distinct value (``_lookup``), strings are assembled with Arrow
kernels, and only GPU rows (one per instance-hour) go through Python ``Decimal`` arithmetic, so an
export runs at Arrow speed. The mapping is documented in :mod:`aifinops.export.focus`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aifinops.core.errors import InputError
from aifinops.core.money import MONEY_SCALE
from aifinops.export.focus_columns import (
    CHARGE_CATEGORIES,
    DECIMAL,
    PRICING_CATEGORIES,
    provider_name,
    region_name,
    service_of,
    sku_id,
)

__all__ = ["derive", "TAG_OWNER_FIELDS", "DROPPED_TAGS"]

#: Owner fields written into Tags (user and api_key stay in their x_ columns only).
TAG_OWNER_FIELDS = ("team", "project", "product", "feature", "customer", "environment", "use_case")
#: Record tags that are bookkeeping, not tags: never exported in Tags.
DROPPED_TAGS = frozenset(
    {
        "request_hash",
        "prefix_hash",
        "prefix_tokens",
        "resource_id",
        "resource_type",
        "sub_account_id",
        "sub_account_name",
        "charge_class",
    }
)
_CLASSES = (
    ("input_tokens", "input"),
    ("cached_input_tokens", "cached input"),
    ("cache_write_5m_tokens", "cache write 5m"),
    ("cache_write_1h_tokens", "cache write 1h"),
    ("output_tokens", "output"),
)
_NULL = "\x00"  # stands for null inside lookup keys
_SEP = "\x1f"
_STR = pa.string()
_NO_STR = pa.scalar(None, _STR)
_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)
_HOUR = Decimal(3600)


def _s(value: str) -> pa.Scalar:
    return pa.scalar(value, _STR)


def _join(*parts: Any) -> pa.Array:
    """Concatenate strings element-wise; a null part makes the result null."""
    return pc.binary_join_element_wise(*parts, "")


def _text(array: Any) -> pa.Array:
    """A column as strings, nulls and empty strings both null."""
    array = pc.cast(array, _STR)
    return pc.if_else(pc.equal(array, ""), _NO_STR, array)


def _key(*arrays: Any) -> pa.Array:
    """One string per row joining several columns (nulls kept apart from empty strings)."""
    parts = [pc.fill_null(pc.cast(a, _STR), _NULL) for a in arrays]
    return parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, _SEP)


def _lookup(
    columns: Sequence[pa.Array],
    fn: Callable[..., tuple[Any, ...]],
    types: Sequence[pa.DataType],
    key: Any = None,
) -> list[pa.Array]:
    """Apply ``fn`` once per distinct combination of ``columns`` and spread its results to every row.

    ``fn`` gets the first such row's values and returns one value per output type. ``key`` (default: the
    columns joined) groups the rows.
    """
    encoded = pc.dictionary_encode(_key(*columns) if key is None else key)
    _, first = np.unique(encoded.indices.to_numpy(zero_copy_only=False), return_index=True)
    firsts = pa.array(first)
    rows = zip(*(pc.take(c, firsts).to_pylist() for c in columns), strict=True)
    results = [fn(*values) for values in rows]
    outputs = list(zip(*results, strict=True)) if results else [()] * len(types)
    return [pc.take(pa.array(list(v), t), encoded.indices) for v, t in zip(outputs, types, strict=True)]


def _scaled_down(integers: pa.Array, digits: int) -> pa.Array:
    """``integers / 10**digits`` exactly, as DECIMAL (the unscaled value read at a smaller scale)."""
    unscaled = pc.cast(integers, pa.decimal128(38, 0))
    view = pa.Array.from_buffers(
        pa.decimal128(38, digits), len(unscaled), unscaled.buffers(), unscaled.null_count, unscaled.offset
    )
    return pc.cast(view, DECIMAL)


def _exact_rate(cost: Decimal | None, quantity: Decimal) -> Decimal | None:
    """``|cost / quantity|`` when it has at most 12 decimals and reproduces ``cost`` exactly, else None."""
    if cost is None or not quantity:
        return None
    with localcontext() as ctx:
        ctx.prec = 60
        rate = abs(cost / quantity)
        if rate != rate.quantize(_QUANTUM) or rate * abs(quantity) != abs(cost):
            return None
    return rate.quantize(_QUANTUM)


def _decimal_text(array: pa.Array) -> pa.Array:
    """DECIMAL as short text (``8``, ``0.5``); Arrow's own E notation is kept for the tiniest values."""
    text = pc.utf8_rtrim(pc.cast(array, _STR), characters="0")
    text = pc.utf8_rtrim(text, characters=".")
    return pc.if_else(pc.equal(array, pa.scalar(Decimal(0), DECIMAL)), _s("0"), text)


def _tags_json(batch: pa.RecordBatch) -> pa.Array:
    """Tags as KeyValueFormat JSON: owner fields and free tags, one ``json.dumps`` per distinct combination."""
    tags = batch.column("tags")
    keys = pc.binary_join(pa.ListArray.from_arrays(tags.offsets, tags.keys), _SEP)
    items = pc.binary_join(pa.ListArray.from_arrays(tags.offsets, pc.fill_null(tags.items, _NULL)), _SEP)
    owners = [batch.column(name) for name in TAG_OWNER_FIELDS]

    def build(pairs: list[tuple[str, str]] | None, *owner_values: str | None) -> tuple[str | None]:
        out: dict[str, Any] = {k: (v if v != "" else True) for k, v in pairs or () if k not in DROPPED_TAGS}
        out.update((name, v) for name, v in zip(TAG_OWNER_FIELDS, owner_values, strict=True) if v)
        return (json.dumps(out, ensure_ascii=False, separators=(",", ":"), sort_keys=True) if out else None,)

    return _lookup([tags, *owners], build, [_STR], key=_key(keys, items, *owners))[0]


def derive(batch: pa.RecordBatch, currency: str) -> dict[str, pa.Array]:
    """The derived FOCUS columns of a ledger record batch, keyed by column name."""
    col = batch.column
    n = batch.num_rows
    other = pc.unique(pc.filter(col("currency"), pc.not_equal(col("currency"), currency)))
    if len(other):
        raise InputError(
            f"records in {', '.join(other.to_pylist())} cannot go in a {currency} FOCUS export "
            "(one billing currency per file): export each currency on its own"
        )
    (charge,) = _lookup([col("charge_category")], lambda c: (CHARGE_CATEGORIES.get(c or ""),), [_STR])
    if charge.null_count:
        bad = pc.unique(pc.filter(col("charge_category"), pc.is_null(charge))).to_pylist()
        raise InputError(f"charge_category {bad} has no FOCUS ChargeCategory")
    usage = pc.equal(charge, "Usage")
    priced = pc.is_in(charge, pa.array(["Usage", "Purchase"]))
    gpu = pc.is_valid(col("gpu_seconds"))
    out: dict[str, pa.Array] = {"ChargeCategory": charge}
    out["ChargeFrequency"] = pc.if_else(usage, _s("Usage-Based"), _s("One-Time"))
    (provider,) = _lookup([col("provider")], lambda p: (provider_name(p),), [_STR])
    out["ProviderName"] = out["PublisherName"] = out["InvoiceIssuerName"] = provider
    out["ServiceName"], out["ServiceCategory"], out["ServiceSubcategory"] = _lookup(
        [col("provider"), col("service"), col("category"), gpu],
        lambda p, s, c, g: service_of(p, s, c or "", bool(g)),
        [_STR] * 3,
    )
    (sku,) = _lookup(
        [col("price_id"), col("provider"), col("model"), col("service"), col("gpu_type")],
        lambda *parts: (sku_id(*parts),),
        [_STR],
    )
    out["SkuId"] = pc.if_else(pc.equal(charge, "Tax"), _NO_STR, sku)
    sku_price = pc.binary_join_element_wise(col("price_id"), col("pricing_mode"), "#")
    out["SkuPriceId"] = pc.if_else(priced, sku_price, _NO_STR)
    (category,) = _lookup(
        [col("pricing_mode")], lambda m: (PRICING_CATEGORIES.get(m or "", "Other"),), [_STR]
    )
    out["PricingCategory"] = pc.if_else(priced, category, _NO_STR)
    region = _text(col("region"))
    out["RegionId"] = region
    out["RegionName"] = _lookup([region], lambda r: (region_name(r) if r else None,), [_STR])[0]
    out.update(_resources(batch))
    out.update(_measures(batch, gpu, usage, priced))
    out["SkuMeter"] = pc.if_else(pc.is_valid(out["SkuId"]), out.pop("_kind"), _NO_STR)
    out["Tags"] = _tags_json(batch)
    assert all(len(a) == n for a in out.values())
    return out


def _resources(batch: pa.RecordBatch) -> dict[str, pa.Array]:
    tags = batch.column("tags")

    def tag(key: str) -> pa.Array:
        return _text(pc.map_lookup(tags, pa.scalar(key), "first"))

    imported, instance, endpoint = tag("resource_id"), tag("instance_id"), tag("endpoint")
    provider = pc.utf8_lower(pc.fill_null(batch.column("provider"), "unknown"))
    endpoint_id = _join(provider, _s("/endpoint/"), endpoint)
    has_imported, has_instance = pc.is_valid(imported), pc.is_valid(instance)
    resource_type = pc.if_else(
        has_imported,
        pc.coalesce(tag("resource_type"), _s("Resource")),
        pc.if_else(
            has_instance,
            _s("GPU Instance"),
            pc.if_else(pc.is_valid(endpoint), _s("Inference Endpoint"), _NO_STR),
        ),
    )
    sub_account = tag("sub_account_id")
    return {
        "ResourceId": pc.coalesce(imported, instance, endpoint_id),
        "ResourceName": pc.if_else(pc.or_(has_imported, has_instance), _NO_STR, endpoint),
        "ResourceType": resource_type,
        "SubAccountId": sub_account,
        "SubAccountName": pc.if_else(
            pc.is_valid(sub_account), pc.coalesce(tag("sub_account_name"), sub_account), _NO_STR
        ),
    }


def _measures(batch: pa.RecordBatch, gpu: pa.Array, usage: pa.Array, priced: pa.Array) -> dict[str, pa.Array]:
    """Consumed and pricing quantities and units, unit prices, the description (and ``_kind``, the meter)."""
    col = batch.column
    n = batch.num_rows
    total = col(_CLASSES[0][0])
    for name, _ in _CLASSES[1:]:
        total = pc.add(total, col(name))
    has_tokens = pc.not_equal(col(_CLASSES[0][0]), 0)
    for name, _ in _CLASSES[1:]:
        has_tokens = pc.or_(has_tokens, pc.not_equal(col(name), 0))
    tokens = pc.and_(pc.invert(gpu), has_tokens)
    has_quantity = pc.and_(pc.invert(pc.or_(gpu, tokens)), pc.is_valid(col("quantity")))
    other_unit = pc.coalesce(_text(col("unit")), _s("Units"))
    kind = pc.if_else(
        gpu,
        _s("GPU Hours"),
        pc.if_else(tokens, _s("Tokens"), pc.if_else(has_quantity, other_unit, _s("Requests"))),
    )
    consumed_unit = pc.if_else(gpu, _s("GPU-Hours"), pc.if_else(tokens, _s("Tokens"), kind))
    pricing_unit = pc.if_else(tokens, _s("1000000 Tokens"), consumed_unit)
    requests = pc.cast(col("requests"), DECIMAL)
    consumed = pc.if_else(
        tokens, pc.cast(total, DECIMAL), pc.if_else(has_quantity, col("quantity"), requests)
    )
    pricing = pc.if_else(tokens, _scaled_down(total, 6), consumed)
    list_rate = contracted_rate = pa.nulls(n, DECIMAL)
    if pc.any(gpu).as_py():
        hours, list_rate, contracted_rate = _gpu_rows(batch, gpu, priced)
        consumed = pc.replace_with_mask(consumed, gpu, hours)
        pricing = pc.replace_with_mask(pricing, gpu, hours)
    return {
        "_kind": kind,
        "ConsumedQuantity": pc.if_else(usage, consumed, pa.scalar(None, DECIMAL)),
        "ConsumedUnit": pc.if_else(usage, consumed_unit, _NO_STR),
        "PricingQuantity": pc.if_else(priced, pricing, pa.scalar(None, DECIMAL)),
        "PricingUnit": pc.if_else(priced, pricing_unit, _NO_STR),
        "ListUnitPrice": list_rate,
        "ContractedUnitPrice": contracted_rate,
        "ChargeDescription": _description(batch, gpu, tokens, total, consumed, consumed_unit),
    }


def _gpu_rows(batch: pa.RecordBatch, gpu: pa.Array, priced: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """GPU-hours of the GPU rows and, when a single rate reproduces the cost exactly, their unit prices."""
    rows = batch.filter(gpu)
    rated = pc.and_(pc.filter(priced, gpu), pc.equal(rows.column("cost_status"), "priced")).to_pylist()
    hours, list_rates, contracted_rates = [], [], []
    for seconds, listed, effective, ok in zip(
        rows.column("gpu_seconds").to_pylist(),
        rows.column("list_cost").to_pylist(),
        rows.column("effective_cost").to_pylist(),
        rated,
        strict=True,
    ):
        h = (seconds / _HOUR).quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)
        hours.append(h)
        list_rates.append(_exact_rate(listed, h) if ok else None)
        contracted_rates.append(_exact_rate(effective, h) if ok else None)
    nulls = pa.nulls(batch.num_rows, DECIMAL)
    return (
        pa.array(hours, DECIMAL),
        pc.replace_with_mask(nulls, gpu, pa.array(list_rates, DECIMAL)),
        pc.replace_with_mask(nulls, gpu, pa.array(contracted_rates, DECIMAL)),
    )


def _description(
    batch: pa.RecordBatch,
    gpu: pa.Array,
    tokens: pa.Array,
    total: pa.Array,
    consumed: pa.Array,
    unit: pa.Array,
) -> pa.Array:
    col = batch.column
    mode = pc.fill_null(col("pricing_mode"), "")
    what = pc.coalesce(_text(col("model")), _text(col("service")), col("category"))
    head = _join(what, _s(" "), pc.coalesce(_text(col("operation")), _s("usage")), _s(", "), mode, _s(": "))
    parts = []  # ", N label" or "" per class (binary_join's null skipping drops rows in pyarrow 26)
    for name, label in _CLASSES:
        value = col(name)
        part = _join(_s(", "), pc.cast(value, _STR), _s(f" {label}"))
        if name == "output_tokens":
            reasoning = col("reasoning_tokens")
            extra = _join(_s(" incl. "), pc.cast(reasoning, _STR), _s(" reasoning"))
            part = _join(part, pc.if_else(pc.not_equal(reasoning, 0), extra, _s("")))
        parts.append(pc.if_else(pc.not_equal(value, 0), part, _s("")))
    classes = pc.utf8_ltrim(_join(*parts), characters=", ")
    token_text = _join(head, pc.cast(total, _STR), _s(" tokens ("), classes, _s(")"))
    gpus = pc.coalesce(_join(pc.cast(col("gpu_count"), _STR), _s(" x ")), _s(""))
    on = pc.coalesce(_join(_s(" on "), _text(col("service"))), _s(""))
    gpu_text = _join(
        gpus, pc.coalesce(_text(col("gpu_type")), _s("GPU")), on, _s(", "), mode, _s(", "),
        col("category"), _s(": "), _decimal_text(consumed), _s(" GPU-hours"),
    )  # fmt: skip
    other_text = _join(head, _decimal_text(consumed), _s(" "), unit)
    text = pc.if_else(gpu, gpu_text, pc.if_else(tokens, token_text, other_text))
    corrects = col("corrects")
    text = pc.if_else(pc.is_valid(corrects), _join(_s("Reversal of record "), corrects, _s(": "), text), text)
    cost_in = pc.map_lookup(col("tags"), pa.scalar("cost_in"), "first")
    suffix = pc.if_else(
        pc.equal(col("cost_status"), "unpriced"),
        _s(" [UNPRICED: no price known yet; the cost columns are 0 until it is re-rated]"),
        pc.if_else(
            pc.fill_null(pc.equal(cost_in, "gpu"), False),
            _s(" [cost carried by the GPU instance rows]"),
            _s(""),
        ),
    )
    return _join(text, suffix)
