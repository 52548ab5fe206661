"""One served call becomes one record: tokens in the disjoint classes, cost from the catalog, attribution."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aifinops.core.normalize import pricing_mode
from aifinops.core.records import UsageRecord, make_record_id
from aifinops.core.usage import TokenUsage
from aifinops.gateway.keys import Attribution
from aifinops.gateway.routing import Target
from aifinops.pricing import price_record

__all__ = ["CallContext", "build_record", "estimate_usage", "ZERO"]

ZERO = Decimal(0)
_OPERATIONS = {"chat": "chat", "responses": "responses", "embeddings": "embeddings", "messages": "chat"}


@dataclass(slots=True)
class CallContext:
    """What the gateway knows about one call while serving it."""

    protocol: str
    route: str
    model_requested: str
    attribution: Attribution
    api_key_name: str | None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    request_id: str = field(default_factory=lambda: os.urandom(16).hex())
    stream: bool = False
    prompt_chars: int = 0
    max_tokens: int | None = None
    record: Any = None  # the call's record, once emitted
    fingerprint: dict[str, str] | None = None  # request/prefix hashes (gateway.fingerprint)


def estimate_usage(ctx: CallContext, output_chunks: int) -> TokenUsage:
    """Usage for a stream cut off before the provider reported it: ~4 characters a token, a chunk a token."""
    return TokenUsage(input_tokens=max(1, ctx.prompt_chars // 4), output_tokens=output_chunks)


def build_record(
    ctx: CallContext,
    catalog: Any,
    *,
    target: Target | None,
    usage: TokenUsage | None,
    served_model: str | None,
    service_tier: str | None,
    status: str,
    http_status: int,
    latency_ms: float,
    error: str | None = None,
    cache_hit: bool = False,
    estimated: bool = False,
    extra_tags: dict[str, str] | None = None,
) -> UsageRecord:
    """The record of one call, priced (or zero for failures and cache hits, or unpriced when unknown)."""
    attr = ctx.attribution.fields
    upstream = target.upstream if target else None
    provider = upstream.pricing_provider if upstream else None
    tags = dict(ctx.attribution.tags)
    if ctx.fingerprint:
        tags.update(ctx.fingerprint)
    tags["http_status"] = str(http_status)
    if upstream is not None:
        tags["upstream"] = upstream.name
    if extra_tags:
        tags.update(extra_tags)
    if estimated:
        tags["usage_estimated"] = "true"
    end = ctx.started_at + timedelta(milliseconds=latency_ms)
    usage = usage or TokenUsage()
    record = UsageRecord(
        record_id=make_record_id("gateway", ctx.request_id),
        source="gateway",
        charge_period_start=ctx.started_at,
        charge_period_end=end,
        provider=provider,
        service=upstream.name if upstream else None,
        model=served_model or (target.model if target else ctx.model_requested),
        model_requested=ctx.model_requested,
        operation=_OPERATIONS.get(ctx.route, ctx.route),
        category="embedding"
        if ctx.route == "embeddings"
        else (
            "self_hosted_inference" if upstream is not None and upstream.self_hosted else "hosted_inference"
        ),
        pricing_mode=pricing_mode(ctx.protocol if provider is None else provider, service_tier),
        input_tokens=usage.input_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        cache_write_5m_tokens=usage.cache_write_5m_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
        output_tokens=usage.output_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        requests=1,
        api_key=ctx.api_key_name,
        tags=tags,
        trace_id=attr.get("trace_id"),
        span_id=attr.get("span_id") or ctx.request_id[:16],
        parent_span_id=attr.get("parent_span_id"),
        workflow=attr.get("workflow"),
        cache_hit=cache_hit,
        status=status,
        error=error,
        latency_ms=round(latency_ms, 3),
        **{
            k: attr.get(k)
            for k in ("team", "project", "product", "feature", "customer", "environment", "use_case", "user")
        },
    )
    if cache_hit:
        price_record(record, catalog)  # what the call would have cost: the saving
        if record.effective_cost is not None:
            record.tags["avoided_cost"] = str(record.effective_cost)
    if cache_hit or status in ("error", "upstream_unavailable", "rejected"):
        # true cost: a cache hit or a failed call costs nothing upstream
        record.list_cost = record.effective_cost = record.billed_cost = ZERO
        record.cost_status = "priced"
    elif upstream is not None and upstream.self_hosted:
        record.list_cost = record.effective_cost = record.billed_cost = ZERO
        record.cost_status = "reported"
        record.tags["cost_in"] = "gpu"
    else:
        price_record(record, catalog)
    return record
