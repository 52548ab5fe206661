"""Export the ledger as FOCUS 1.2 CostAndUsage (CSV or Parquet) that the official validator passes.

One FOCUS row per ledger record, reversals included; the 57 FOCUS 1.2 columns in the specification's
order, then our ``x_`` columns (:data:`~aifinops.export.focus_columns.X_COLUMNS`, named after the record
fields so :mod:`aifinops.ingest.focus` reads an export back). Written batch by batch: memory stays flat.

Mapping decisions (REFERENCE §1; the rule ids are the validator's, model 1.2.0.1):

- **Costs.** ``EffectiveCost`` = effective_cost, ``BilledCost`` = billed_cost (else effective_cost),
  ``ListCost`` = list_cost (else BilledCost, as FOCUS asks of charges without a unit price),
  ``ContractedCost`` = EffectiveCost (our discounts are negotiated discounts; there is no commitment
  amortization in the ledger). FOCUS forbids null costs, so an **unpriced** record (null costs in the
  ledger) exports 0 in all four, with ``x_CostStatus = "unpriced"``, no SkuPriceId and a ChargeDescription
  that says it is unpriced: 0 there means "not known yet", and the ``x_`` column says so on every row.
  The sum of EffectiveCost equals the ledger's sum of effective_cost exactly (Decimal(38, 12)).
- **Quantities.** ConsumedQuantity/ConsumedUnit and PricingQuantity/PricingUnit carry what the record
  was priced on: tokens (``Tokens``; pricing in ``1000000 Tokens``, the unit price lists use, so
  PricingQuantity = tokens / 10^6, exact), else GPU time (``GPU-Hours``), else the record's own
  quantity/unit, else requests. Token classes have different prices, so a row's cost is not one unit
  price times one quantity: a blended price would be invented and inexact. **ListUnitPrice and
  ContractedUnitPrice are therefore null on token rows** (both columns are Conditional and the validator
  accepts the nulls). GPU rows, priced at one per-GPU-hour rate, carry that rate when
  ``rate × GPU-hours`` reproduces the cost exactly (``ListUnitPrice × PricingQuantity = ListCost``).
  Reversals keep their negative quantities (PricingQuantity < 0, unit prices stay non-negative).
- **ChargeClass** stays null: FOCUS reserves ``"Correction"`` for corrections of a *previously invoiced*
  billing period, and aifinops issues no invoices, so a reversal is a correction within its billing
  period: a Usage row with negative amounts, ``x_Corrects`` naming the original.
- **InvoiceId** is null: aifinops meters and prices, it does not invoice, and an invented id would break
  "BilledCost summed per InvoiceId equals the invoice". The validator (2.2.1, model 1.2.0.1) checks the two
  halves of the InvoiceId nullability rule without their conditions, so every non-empty file fails one of
  them: with null ids, ``InvoiceId-C-005-C`` (with ids, ``C-004-C``; with the column left out, seven
  rules). That one failure is the validator's, not the data's; every other rule passes.
- **Periods.** ChargePeriodStart/End: the record's period widened to whole seconds (start floored, end
  ceiled: FOCUS times have no fractions). BillingPeriodStart/End: the UTC calendar month of the start.
  Parquet stores them as UTC timestamps; CSV as ``YYYY-MM-DDTHH:mm:ssZ``.
- **Who.** ProviderName = PublisherName = InvoiceIssuerName = the provider's display name.
  BillingAccountId/Name = ``billing_account``. ServiceName/Category/Subcategory: GPU records are
  ``Compute`` / ``Virtual Machines`` under the cloud's compute service (Amazon EC2...); other records are
  ``AI and Machine Learning`` / ``Generative AI`` under ``service`` or the provider's API (OpenAI API...),
  training ``Machine Learning``, storage ``Storage`` (derived names carry a suffix so that no ServiceName
  maps to two categories).
- **Pricing.** ChargeCategory from charge_category; ChargeFrequency ``Usage-Based`` for usage, else
  ``One-Time``; PricingCategory: on demand, batch, flex, priority ``Standard``; spot ``Dynamic``;
  reserved, provisioned ``Committed``. SkuPriceId = ``price_id#pricing_mode`` (the catalog entry and the
  rate column it was priced at), SkuId = price_id without its date; SkuPriceDetails is null.
  PricingCurrency = BillingCurrency (we price and bill in one currency).
- **Resources.** ResourceId: an imported ``resource_id`` tag, else ``instance_id`` (ResourceType
  ``GPU Instance``), else the ``endpoint`` tag (``PROVIDER/endpoint/NAME``, ResourceType
  ``Inference Endpoint``, ResourceName the endpoint).
  RegionId = region. SubAccountId/Name: imported ``sub_account_*`` tags only.
- **Allocation.** ``x_Allocation`` says what allocation does with the row (``direct``, ``shared:POOL`` for a
  shared pool's spend that allocated reports split among its consumers, or the unallocated label) and
  ``x_AllocatedOwner`` is its owner after the ``allocation:`` owner rules (:mod:`aifinops.allocation.labels`).
- **Tags** (KeyValueFormat JSON, keys sorted, null when empty): owner fields team, project, product,
  feature, customer, environment, use_case, then the free tags (an owner field wins a clash; empty
  values become ``true``). Bookkeeping tags (``request_hash``, ``prefix_hash``, ``prefix_tokens`` and the imported ``resource_id``,
  ``sub_account_*``, ``charge_class``) are left out.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from aifinops.core.errors import InputError
from aifinops.export.focus_columns import ALLOCATION_COLUMNS, DECIMAL, FOCUS_COLUMNS, FOCUS_VERSION, X_COLUMNS
from aifinops.export.focus_rows import derive
from aifinops.ledger.schema import RECORD_SCHEMA

__all__ = ["export_focus", "focus_table", "focus_schema", "focus_metadata", "FORMATS", "Labeller"]

#: ``batch -> (allocation labels, owners)``, one of each per record.
Labeller = Callable[[pa.RecordBatch], tuple[list[str], list[Any]]]

FORMATS = ("csv", "parquet")
_TS = pa.timestamp("s", tz="UTC")
_TYPES = {"string": pa.string(), "decimal": DECIMAL, "datetime": _TS, "json": pa.string()}
_ZERO = pa.scalar(Decimal(0), DECIMAL)
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def focus_schema() -> pa.Schema:
    """The Arrow schema of an export (Parquet types; CSV writes decimals and times as text)."""
    fields = [pa.field(name, _TYPES[kind]) for name, kind in FOCUS_COLUMNS]
    fields += [pa.field(name, typ) for name, _, typ in X_COLUMNS]
    fields += [pa.field(name, typ) for name, typ in ALLOCATION_COLUMNS]
    return pa.schema(fields)


def _fmt(out: Path, fmt: str | None) -> str:
    if fmt is None:
        suffix = out.suffix.lower()
        fmt = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(suffix)
        if fmt is None:
            raise InputError(f"{out}: cannot tell the format from the suffix; use .csv or .parquet")
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise InputError(f"unknown FOCUS export format {fmt!r}; use csv or parquet")
    return fmt


def export_focus(
    batches: Iterable[pa.Table],
    out: Path,
    *,
    fmt: str | None = None,
    billing_account: str = "aifinops",
    currency: str = "USD",
    now: datetime | None = None,
    metadata: bool = False,
    labeller: Labeller | None = None,
) -> dict[str, Any]:
    """Write ledger record batches (``RECORD_SCHEMA`` tables) to ``out`` as FOCUS 1.2 CostAndUsage.

    The format comes from ``fmt`` or the suffix (``.csv``, ``.parquet``). Batches are converted and written
    one at a time into a temporary file renamed over ``out`` at the end, so a failed export leaves no
    partial file. A record in another currency than ``currency`` is an error (one billing currency per
    file). ``metadata=True`` also writes the FOCUS schema metadata to ``<out>.metadata.json``.
    Returns ``{"path", "format", "focus_version", "batches", "rows", "unpriced", "reversals",
    "effective_cost", "currency", "created_at"}`` (+ ``"metadata_path"``); ``effective_cost`` is the exact
    Decimal sum of the EffectiveCost column.
    """
    out = Path(out)
    kind = _fmt(out, fmt)
    if not billing_account.strip():
        raise InputError("billing_account must not be empty (it is the FOCUS BillingAccountId)")
    created = (now or datetime.now(UTC)).astimezone(UTC)
    schema = focus_schema()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    counts = {"batches": 0, "rows": 0, "unpriced": 0, "reversals": 0}
    total = Decimal(0)
    writer: Any = None
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            writer = pq.ParquetWriter(tmp, schema, compression="zstd")
        else:
            import pyarrow.csv as pcsv

            writer = pcsv.CSVWriter(tmp, _csv_schema(schema))
        for batch in batches:
            if batch.num_rows == 0:
                continue
            table = focus_table(batch, billing_account=billing_account, currency=currency, labeller=labeller)
            counts["batches"] += 1
            counts["rows"] += table.num_rows
            counts["unpriced"] += pc.sum(pc.equal(table["x_CostStatus"], "unpriced")).as_py() or 0
            counts["reversals"] += table.num_rows - table["x_Corrects"].null_count
            total += pc.sum(table["EffectiveCost"]).as_py() or Decimal(0)
            writer.write_table(table if kind == "parquet" else _for_csv(table))
        writer.close()
        writer = None
        os.replace(tmp, out)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    result: dict[str, Any] = {
        "path": str(out),
        "format": kind,
        "focus_version": FOCUS_VERSION,
        **counts,
        "effective_cost": total,
        "currency": currency.upper(),
        "created_at": created,
    }
    if metadata:
        meta_path = out.with_name(out.name + ".metadata.json")
        meta_path.write_text(json.dumps(focus_metadata(created), indent=2) + "\n", encoding="utf-8")
        result["metadata_path"] = str(meta_path)
    return result


def focus_table(
    batch: pa.Table,
    *,
    billing_account: str = "aifinops",
    currency: str = "USD",
    labeller: Labeller | None = None,
) -> pa.Table:
    """One batch of ledger records (``RECORD_SCHEMA``) as FOCUS rows, in :func:`focus_schema`.

    ``labeller(batch)`` returns ``(allocation labels, owners)`` for ``x_Allocation`` / ``x_AllocatedOwner``
    (null without one).
    """
    missing = sorted(set(RECORD_SCHEMA.names) - set(batch.schema.names))
    if missing:
        raise InputError(f"not a ledger record batch: missing columns {', '.join(missing)}")
    schema = focus_schema()
    if batch.num_rows == 0:
        return schema.empty_table()
    rb = batch.combine_chunks().to_batches()[0]
    col = rb.column
    n = rb.num_rows
    effective = pc.coalesce(col("effective_cost"), _ZERO)
    billed = pc.coalesce(col("billed_cost"), col("effective_cost"), _ZERO)
    start = col("charge_period_start")
    values: dict[str, Any] = {
        "BilledCost": billed,
        "BillingAccountId": pa.repeat(pa.scalar(billing_account), n),
        "BillingAccountName": pa.repeat(pa.scalar(billing_account), n),
        "BillingCurrency": col("currency"),
        "BillingPeriodEnd": pc.ceil_temporal(start, unit="month", ceil_is_strictly_greater=True),
        "BillingPeriodStart": pc.floor_temporal(start, unit="month"),
        "ChargePeriodEnd": pc.ceil_temporal(col("charge_period_end"), unit="second"),
        "ChargePeriodStart": pc.floor_temporal(start, unit="second"),
        "ContractedCost": effective,
        "EffectiveCost": effective,
        "ListCost": pc.coalesce(col("list_cost"), billed),
        "PricingCurrency": col("currency"),
        "PricingCurrencyEffectiveCost": effective,
        **derive(rb, currency.upper()),
    }
    values["PricingCurrencyListUnitPrice"] = values["ListUnitPrice"]
    values["PricingCurrencyContractedUnitPrice"] = values["ContractedUnitPrice"]
    for name, field, _ in X_COLUMNS:
        values[name] = col(field)
    if labeller is not None:
        labels, owners = labeller(rb)
        values["x_Allocation"], values["x_AllocatedOwner"] = (
            pa.array(labels, pa.string()),
            pa.array(owners, pa.string()),
        )
    arrays = []
    for field in schema:
        value = values.get(field.name)
        if value is None:
            arrays.append(pa.nulls(n, field.type))
        else:
            arrays.append(value if value.type == field.type else pc.cast(value, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    """Decimals and times become text in CSV (plain decimals, ``YYYY-MM-DDTHH:mm:ssZ``)."""
    return pa.schema([pa.field(f.name, pa.string()) if f.type in (DECIMAL, _TS) else f for f in schema])


def _decimal_csv(array: pa.Array) -> pa.Array:
    """Decimals as plain text with a decimal point: ``0.00000025`` (not ``2.5E-7``), ``1460.0``.

    Arrow writes small decimals in E notation (``0E-12``): zero is rewritten, the rare others go through
    Python. The point keeps CSV readers (the validator's among them) from typing a column as integer.
    """
    text = pc.cast(array, pa.string())
    zero = pc.equal(array, _ZERO)
    text = pc.if_else(zero, pa.scalar("0.0"), text)
    exponent = pc.fill_null(pc.match_substring(text, "E"), False)
    if pc.any(exponent).as_py():
        fixed = [format(v, "f") for v in pc.filter(array, exponent).to_pylist()]
        text = pc.replace_with_mask(text, exponent, pa.array(fixed, pa.string()))
    text = pc.utf8_rtrim(text, characters="0")  # every value has a point: only decimals are trimmed
    return pc.if_else(pc.ends_with(text, "."), pc.binary_join_element_wise(text, "0", ""), text)


def _for_csv(table: pa.Table) -> pa.Table:
    arrays = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if field.type == DECIMAL:
            column = _decimal_csv(column.combine_chunks())
        elif field.type == _TS:  # Arrow casts to "YYYY-MM-DD HH:MM:SSZ" (much faster than strftime)
            column = pc.replace_substring(pc.cast(column, pa.string()), " ", "T")
        arrays.append(column)
    return pa.Table.from_arrays(arrays, schema=_csv_schema(table.schema))


def focus_metadata(created: datetime) -> dict[str, Any]:
    """FOCUS schema metadata for an export: version, generator, and one definition per column."""
    from aifinops import __version__

    kinds = {"string": "STRING", "decimal": "DECIMAL", "datetime": "DATETIME", "json": "JSON"}
    columns: list[dict[str, Any]] = []
    for field in focus_schema():
        if field.type == DECIMAL:
            entry = {"DataType": "DECIMAL", "NumericPrecision": 38, "NumberScale": DECIMAL.scale}
        elif field.type == _TS:
            entry = {"DataType": "DATETIME"}
        elif pa.types.is_string(field.type):
            kind = dict(FOCUS_COLUMNS).get(field.name, "string")
            entry = {"DataType": kinds[kind], "StringEncoding": "UTF-8"}
        elif pa.types.is_integer(field.type):
            entry = {"DataType": "DECIMAL", "NumericPrecision": 19, "NumberScale": 0}
        elif pa.types.is_boolean(field.type):
            entry = {"DataType": "BOOLEAN"}
        else:
            entry = {"DataType": "DECIMAL"}
        columns.append({"ColumnName": field.name, **entry})
    return {
        "DataGenerator": {"DataGenerator": "aifinops"},
        "Schemas": [
            {
                "SchemaId": f"aifinops-{__version__}-focus-{FOCUS_VERSION}",
                "FocusVersion": FOCUS_VERSION,
                "CreationDate": created.strftime(_TIME_FORMAT),
                "DataGeneratorVersion": __version__,
                "ColumnDefinition": columns,
            }
        ],
    }
