"""The FOCUS 1.2 CostAndUsage columns, our ``x_`` columns, and the lookup tables the export maps records with.

Kept apart from :mod:`aifinops.export.focus` so the mapping's vocabulary (display names, service names,
categories) reads as data. See that module's docstring for the mapping itself.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pyarrow as pa

from aifinops.core.money import MONEY_SCALE

__all__ = [
    "FOCUS_VERSION",
    "FOCUS_COLUMNS",
    "X_COLUMNS",
    "COLUMN_NAMES",
    "DECIMAL",
    "CHARGE_CATEGORIES",
    "PRICING_CATEGORIES",
    "provider_name",
    "region_name",
    "service_of",
    "sku_id",
]

FOCUS_VERSION = "1.2"
DECIMAL = pa.decimal128(38, MONEY_SCALE)
_S, _D, _T, _J = "string", "decimal", "datetime", "json"

#: The 57 FOCUS 1.2 CostAndUsage columns, in the specification's order, with their FOCUS data type.
FOCUS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("AvailabilityZone", _S),
    ("BilledCost", _D),
    ("BillingAccountId", _S),
    ("BillingAccountName", _S),
    ("BillingAccountType", _S),
    ("BillingCurrency", _S),
    ("BillingPeriodEnd", _T),
    ("BillingPeriodStart", _T),
    ("CapacityReservationId", _S),
    ("CapacityReservationStatus", _S),
    ("ChargeCategory", _S),
    ("ChargeClass", _S),
    ("ChargeDescription", _S),
    ("ChargeFrequency", _S),
    ("ChargePeriodEnd", _T),
    ("ChargePeriodStart", _T),
    ("CommitmentDiscountCategory", _S),
    ("CommitmentDiscountId", _S),
    ("CommitmentDiscountName", _S),
    ("CommitmentDiscountQuantity", _D),
    ("CommitmentDiscountStatus", _S),
    ("CommitmentDiscountType", _S),
    ("CommitmentDiscountUnit", _S),
    ("ConsumedQuantity", _D),
    ("ConsumedUnit", _S),
    ("ContractedCost", _D),
    ("ContractedUnitPrice", _D),
    ("EffectiveCost", _D),
    ("InvoiceId", _S),
    ("InvoiceIssuerName", _S),
    ("ListCost", _D),
    ("ListUnitPrice", _D),
    ("PricingCategory", _S),
    ("PricingCurrency", _S),
    ("PricingCurrencyContractedUnitPrice", _D),
    ("PricingCurrencyEffectiveCost", _D),
    ("PricingCurrencyListUnitPrice", _D),
    ("PricingQuantity", _D),
    ("PricingUnit", _S),
    ("ProviderName", _S),
    ("PublisherName", _S),
    ("RegionId", _S),
    ("RegionName", _S),
    ("ResourceId", _S),
    ("ResourceName", _S),
    ("ResourceType", _S),
    ("ServiceCategory", _S),
    ("ServiceName", _S),
    ("ServiceSubcategory", _S),
    ("SkuId", _S),
    ("SkuMeter", _S),
    ("SkuPriceDetails", _J),
    ("SkuPriceId", _S),
    ("SubAccountId", _S),
    ("SubAccountName", _S),
    ("SubAccountType", _S),
    ("Tags", _J),
)
assert len(FOCUS_COLUMNS) == 57

#: Our columns after the FOCUS ones: ``(column, record field, Arrow type)``. The names follow the record
#: fields, so :mod:`aifinops.ingest.focus` reads an export back into the same fields.
X_COLUMNS: tuple[tuple[str, str, pa.DataType], ...] = (
    ("x_Source", "source", pa.string()),
    ("x_RecordId", "record_id", pa.string()),
    ("x_Corrects", "corrects", pa.string()),
    ("x_CostStatus", "cost_status", pa.string()),
    ("x_PriceId", "price_id", pa.string()),
    ("x_Category", "category", pa.string()),
    ("x_Operation", "operation", pa.string()),
    ("x_PricingMode", "pricing_mode", pa.string()),
    ("x_Model", "model", pa.string()),
    ("x_ModelRequested", "model_requested", pa.string()),
    ("x_InputTokens", "input_tokens", pa.int64()),
    ("x_CachedInputTokens", "cached_input_tokens", pa.int64()),
    ("x_CacheWrite5mTokens", "cache_write_5m_tokens", pa.int64()),
    ("x_CacheWrite1hTokens", "cache_write_1h_tokens", pa.int64()),
    ("x_OutputTokens", "output_tokens", pa.int64()),
    ("x_ReasoningTokens", "reasoning_tokens", pa.int64()),
    ("x_Requests", "requests", pa.int64()),
    ("x_GpuSeconds", "gpu_seconds", DECIMAL),
    ("x_GpuType", "gpu_type", pa.string()),
    ("x_GpuCount", "gpu_count", pa.int32()),
    ("x_Quantity", "quantity", DECIMAL),
    ("x_Unit", "unit", pa.string()),
    ("x_Team", "team", pa.string()),
    ("x_Project", "project", pa.string()),
    ("x_Product", "product", pa.string()),
    ("x_Feature", "feature", pa.string()),
    ("x_Customer", "customer", pa.string()),
    ("x_Environment", "environment", pa.string()),
    ("x_UseCase", "use_case", pa.string()),
    ("x_User", "user", pa.string()),
    ("x_ApiKey", "api_key", pa.string()),
    ("x_TraceId", "trace_id", pa.string()),
    ("x_SpanId", "span_id", pa.string()),
    ("x_ParentSpanId", "parent_span_id", pa.string()),
    ("x_Workflow", "workflow", pa.string()),
    ("x_Attempt", "attempt", pa.int32()),
    ("x_CacheHit", "cache_hit", pa.bool_()),
    ("x_Status", "status", pa.string()),
    ("x_LatencyMs", "latency_ms", pa.float64()),
)
#: Allocation of each row (``aifinops.allocation.labels``): how allocation treats it and its owner after rules.
ALLOCATION_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("x_Allocation", pa.string()),
    ("x_AllocatedOwner", pa.string()),
)
COLUMN_NAMES: tuple[str, ...] = (
    *(name for name, _ in FOCUS_COLUMNS),
    *(name for name, _, _ in X_COLUMNS),
    *(name for name, _ in ALLOCATION_COLUMNS),
)

#: Ledger ``charge_category`` -> FOCUS ChargeCategory.
CHARGE_CATEGORIES = {
    "usage": "Usage",
    "purchase": "Purchase",
    "tax": "Tax",
    "credit": "Credit",
    "adjustment": "Adjustment",
}
#: Ledger ``pricing_mode`` -> FOCUS PricingCategory. Batch, flex and priority are published, predetermined
#: rates (Standard); spot prices move with the market (Dynamic); reserved and provisioned capacity is
#: usage under a commitment (Committed).
PRICING_CATEGORIES = {
    "on_demand": "Standard",
    "batch": "Standard",
    "flex": "Standard",
    "priority": "Standard",
    "spot": "Dynamic",
    "reserved": "Committed",
    "provisioned": "Committed",
}

_PROVIDERS = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "google": "Google",
    "gcp": "Google Cloud",
    "aws": "AWS",
    "azure": "Microsoft",
    "oracle": "Oracle",
    "mistral": "Mistral AI",
    "deepseek": "DeepSeek",
    "xai": "xAI",
    "cohere": "Cohere",
    "groq": "Groq",
    "together": "Together AI",
    "fireworks": "Fireworks AI",
    "openrouter": "OpenRouter",
    "self-hosted": "Self-hosted",
}
#: The API a provider's hosted models are sold under (records without a ``service``).
_APIS = {
    "openai": "OpenAI API",
    "anthropic": "Claude API",
    "google": "Gemini API",
    "gcp": "Vertex AI",
    "aws": "Amazon Bedrock",
    "azure": "Azure OpenAI",
    "mistral": "Mistral AI API",
    "deepseek": "DeepSeek API",
}
#: The compute service GPU instances are billed under.
_COMPUTE = {
    "aws": "Amazon EC2",
    "gcp": "Compute Engine",
    "google": "Compute Engine",
    "azure": "Virtual Machines",
    "oracle": "OCI Compute",
}
_REGIONS = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "Europe (Ireland)",
    "eu-central-1": "Europe (Frankfurt)",
    "us-central1": "Iowa",
    "us-east4": "Northern Virginia",
    "europe-west4": "Netherlands",
    "eastus": "East US",
    "eastus2": "East US 2",
    "westeurope": "West Europe",
    "swedencentral": "Sweden Central",
}
_DATED = re.compile(r"@\d{4}-\d{2}-\d{2}(?:T[0-9:]+Z?)?$")


def provider_name(provider: str | None) -> str:
    """ProviderName / PublisherName / InvoiceIssuerName of a record's provider (never null)."""
    if not provider:
        return "Unknown"
    return _PROVIDERS.get(provider.lower(), provider)


def region_name(region: str) -> str:
    """A display name for a region id (the id itself when we know no better name)."""
    return _REGIONS.get(region, region)


@lru_cache(maxsize=4096)
def service_of(provider: str | None, service: str | None, category: str, gpu: bool) -> tuple[str, str, str]:
    """``(ServiceName, ServiceCategory, ServiceSubcategory)``; each ServiceName has one category.

    GPU records are compute (``Compute`` / ``Virtual Machines``): their ``service`` is an instance type, not a
    service. Other records are AI services, named by ``service`` or by the provider's API.
    """
    key = (provider or "").lower()
    if gpu:
        return _COMPUTE.get(key, f"{provider_name(provider)} GPU Compute"), "Compute", "Virtual Machines"
    base = service or _APIS.get(key, f"{provider_name(provider)} API")
    if category == "storage_transfer":
        return (service or f"{base} Storage"), "Storage", "Other (Storage)"
    if category == "training":
        return (service or f"{base} Fine-tuning"), "AI and Machine Learning", "Machine Learning"
    if category == "labelling":
        return (service or f"{base} Labelling"), "AI and Machine Learning", "Other (AI and Machine Learning)"
    return base, "AI and Machine Learning", "Generative AI"


@lru_cache(maxsize=4096)
def sku_id(
    price_id: str | None, provider: str | None, model: str | None, service: str | None, gpu_type: str | None
) -> str:
    """SkuId: the catalog entry without its effective date (one parent per SkuPriceId), else provider/what."""
    if price_id:
        return _DATED.sub("", price_id)
    what = (gpu_type and (service or gpu_type)) or model or service or "usage"
    return f"{(provider or 'unknown').lower()}/{what}"
