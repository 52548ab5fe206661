"""Prometheus metrics for `/metrics`: cost, tokens and requests by team, model and provider; latency."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from aifinops.core.records import UsageRecord

__all__ = ["GatewayMetrics", "CONTENT_TYPE_LATEST"]

_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class GatewayMetrics:
    """Counters and histograms in their own registry (several apps can live in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("team", "model", "provider")
        self.requests = Counter(
            "aifinops_gateway_requests",
            "Calls served by the gateway",
            (*labels, "status"),
            registry=self.registry,
        )
        self.cost = Counter(
            "aifinops_gateway_cost_usd",
            "Cost of calls served (USD; exact figures are in the ledger)",
            labels,
            registry=self.registry,
        )
        self.tokens = Counter(
            "aifinops_gateway_tokens", "Tokens by class", (*labels, "type"), registry=self.registry
        )
        self.unpriced = Counter(
            "aifinops_gateway_unpriced_requests",
            "Calls recorded without a price",
            labels,
            registry=self.registry,
        )
        self.latency = Histogram(
            "aifinops_gateway_latency_seconds",
            "Total time to serve a call",
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.overhead = Histogram(
            "aifinops_gateway_overhead_seconds",
            "Time the gateway added on top of the upstream call",
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self._children: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def observe(self, record: UsageRecord, total_s: float, overhead_s: float) -> None:
        """Account one served call."""
        key = (record.team or "", record.model or "", record.provider or "", record.status or "")
        children = self._children.get(key)
        if children is None:
            base = key[:3]
            children = (
                self.requests.labels(*key),
                self.cost.labels(*base),
                self.tokens.labels(*base, "input"),
                self.tokens.labels(*base, "cached_input"),
                self.tokens.labels(*base, "cache_write"),
                self.tokens.labels(*base, "output"),
                self.unpriced.labels(*base),
            )
            self._children[key] = children
        req, cost, t_in, t_cached, t_write, t_out, unpriced = children
        req.inc()
        if record.effective_cost is not None:
            cost.inc(float(record.effective_cost))
        else:
            unpriced.inc()
        t_in.inc(record.input_tokens)
        t_cached.inc(record.cached_input_tokens)
        t_write.inc(record.cache_write_5m_tokens + record.cache_write_1h_tokens)
        t_out.inc(record.output_tokens)
        self.latency.observe(total_s)
        self.overhead.observe(max(overhead_s, 0.0))

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
