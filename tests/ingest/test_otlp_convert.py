"""OTLP GenAI spans to records and structure spans: attributes old and new, attribution, bad spans."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aifinops.core.records import make_record_id
from aifinops.ingest.otlp import RecentTraces, convert_traces
from aifinops.ingest.otlp_attrs import AttributeMap
from tests.factories import T0
from tests.ingest.otlp_helpers import SECOND, T0_NS, chat, new_span_id, new_trace, span, traces

AMAP = AttributeMap()


def one(attrs: dict, **kw: object):
    batch = convert_traces(traces([span(attrs=attrs, **kw)]), AMAP)
    assert batch.rejected == 0, batch.reasons
    assert len(batch.records) == 1
    return batch.records[0]


def test_a_chat_span_becomes_a_record_with_disjoint_tokens() -> None:
    trace, sid = new_trace(), new_span_id()
    attrs = chat(
        inp=1000,
        out=300,
        **{
            "gen_ai.usage.cache_read.input_tokens": 400,
            "gen_ai.usage.cache_creation.input_tokens": 100,
            "gen_ai.usage.reasoning.output_tokens": 50,
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        },
    )
    record = one(attrs, trace=trace, span_id=sid, start=T0_NS, duration=2 * SECOND)
    assert record.record_id == make_record_id("otlp", trace.hex() + sid.hex())
    assert record.source == "otlp"
    assert (record.input_tokens, record.cached_input_tokens, record.cache_write_5m_tokens) == (500, 400, 100)
    assert (record.output_tokens, record.reasoning_tokens, record.requests) == (300, 50, 1)
    assert record.model == "gpt-4o-mini-2024-07-18" and record.model_requested == "gpt-4o-mini"
    assert record.provider == "openai" and record.operation == "chat"
    assert record.charge_period_start == T0 and record.charge_period_end == T0 + timedelta(seconds=2)
    assert record.latency_ms == 2000.0
    assert record.trace_id == trace.hex() and record.span_id == sid.hex() and record.workflow == trace.hex()
    assert record.status == "ok" and record.cost_status == "unpriced"


def test_pre_1_28_attribute_names_and_gen_ai_system() -> None:
    record = one(
        {
            "gen_ai.system": "anthropic",
            "gen_ai.request.model": "claude-sonnet-4-5",
            "gen_ai.usage.prompt_tokens": 700,
            "gen_ai.usage.completion_tokens": 90,
        }
    )
    assert (record.provider, record.input_tokens, record.output_tokens) == ("anthropic", 700, 90)
    assert record.operation is None and record.category == "hosted_inference"


@pytest.mark.parametrize(
    ("spelling", "provider"),
    [
        ("openai", "openai"),
        ("anthropic", "anthropic"),
        ("gcp.vertex_ai", "google"),
        ("gcp.gemini", "google"),
        ("mistral_ai", "mistral"),
        ("deepseek", "deepseek"),
        ("azure.ai.openai", "azure"),
        ("az.ai.inference", "azure"),
        ("aws.bedrock", "bedrock"),
        ("groq", "groq"),
    ],
)
def test_provider_names_become_the_catalogs(spelling: str, provider: str) -> None:
    assert one(chat(provider=spelling)).provider == provider


def test_service_tier_sets_the_pricing_mode_and_an_unknown_tier_is_kept_as_a_tag() -> None:
    assert one(chat(**{"openai.response.service_tier": "flex"})).pricing_mode == "flex"
    assert one(chat(**{"gen_ai.openai.request.service_tier": "priority"})).pricing_mode == "priority"
    odd = one(chat(**{"openai.response.service_tier": "turbo"}))
    assert odd.pricing_mode == "on_demand" and odd.tags["service_tier"] == "turbo"


def test_embeddings_are_embedding_category() -> None:
    record = one({"gen_ai.operation.name": "embeddings", "gen_ai.request.model": "text-embedding-3-small"})
    assert record.category == "embedding" and record.input_tokens == 0


def test_errors_from_status_or_error_type() -> None:
    assert one(chat(), error=True).status == "error"
    failed = one(chat(**{"error.type": "RateLimitError"}))
    assert (failed.status, failed.error) == ("error", "RateLimitError")


def test_attribution_defaults_span_over_resource_and_the_configured_map() -> None:
    resource = {
        "service.name": "checkout",
        "deployment.environment.name": "prod",
        "deployment.environment": "old-name",
        "app.team": "payments",
        "app.cc": "cc-42",
    }
    amap = AttributeMap({"app.team": "team", "app.cc": "tag:cost_center"})
    spans = [span(attrs=chat()), span(attrs=chat(**{"app.team": "fraud", "aifinops.feature": "refunds"}))]
    first, second = convert_traces(traces(spans, resource), amap).records
    assert (first.project, first.environment, first.team, first.feature) == (
        "checkout",
        "prod",
        "payments",
        None,
    )
    assert first.tags["cost_center"] == "cc-42"
    assert (second.team, second.feature, second.project) == ("fraud", "refunds", "checkout")
    override = convert_traces(traces([span(attrs=chat())], resource), AttributeMap({"service.name": "team"}))
    assert override.records[0].team == "checkout" and override.records[0].project is None


def test_agent_and_tool_spans_are_structure_and_other_spans_follow_their_trace() -> None:
    trace = new_trace()
    root, agent, tool = new_span_id(), new_span_id(), new_span_id()
    spans = [
        span("POST /ask", {"http.method": "POST"}, trace=trace, span_id=root, kind=2),
        span(
            "invoke_agent planner",
            {**chat(), "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"},
            trace=trace,
            span_id=agent,
            parent=root,
            kind=1,
        ),
        span("chat gpt-4o-mini", chat(), trace=trace, parent=agent),
        span(
            "execute_tool search",
            {"gen_ai.operation.name": "execute_tool"},
            trace=trace,
            span_id=tool,
            parent=agent,
        ),
        span("GET /other", {"http.method": "GET"}),  # another trace, no GenAI: dropped
    ]
    batch = convert_traces(traces(spans), AMAP)
    assert len(batch.records) == 1  # an in-process agent's own usage is its calls': not counted twice
    structure = {row.span_id: row for row in batch.spans}
    assert set(structure) == {root.hex(), agent.hex(), tool.hex()}
    assert structure[agent.hex()].agent_name == "planner"
    assert structure[tool.hex()].tool_name == "search"  # from the span name
    assert structure[root.hex()].kind == "server" and structure[root.hex()].service == "shop"
    assert batch.dropped == 1 and batch.genai_traces == {trace.hex()}


def test_a_remote_agent_with_usage_is_a_record_and_a_structure_span() -> None:
    attrs = {**chat(), "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support"}
    batch = convert_traces(traces([span("invoke_agent support", attrs, kind=3)]), AMAP)
    assert len(batch.records) == 1 and len(batch.spans) == 1
    assert batch.spans[0].span_id == batch.records[0].span_id


def test_a_later_span_of_a_known_trace_is_kept() -> None:
    trace = new_trace()
    recent = RecentTraces(capacity=2)
    first = convert_traces(traces([span(attrs=chat(), trace=trace)]), AMAP, recent)
    recent.add(first.genai_traces)
    later = convert_traces(traces([span("POST /ask", {}, trace=trace, kind=2)]), AMAP, recent)
    assert len(later.spans) == 1 and later.dropped == 0
    recent.add([new_trace().hex(), new_trace().hex()])  # the oldest trace is forgotten
    assert trace.hex() not in recent and len(recent) == 2


def test_the_conversation_id_is_the_workflow_of_every_span_of_its_trace() -> None:
    trace, agent = new_trace(), new_span_id()
    spans = [
        span(
            "invoke_agent a",
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": "conv-1"},
            trace=trace,
            span_id=agent,
            kind=1,
        ),
        span(attrs=chat(), trace=trace, parent=agent),
    ]
    batch = convert_traces(traces(spans), AMAP)
    assert batch.records[0].workflow == "conv-1"
    assert batch.spans[0].conversation_id == "conv-1"


def test_request_hash_tells_identical_requests_apart_from_an_agent_loop() -> None:
    same = [one(chat(inp=500)).tags["request_hash"] for _ in range(2)]
    grown = one(chat(inp=900)).tags["request_hash"]
    assert same[0] == same[1] != grown


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"trace": b"\x01" * 5}, "trace_id"),
        ({"trace": b"\x00" * 16}, "trace_id"),
        ({"span_id": b""}, "span_id"),
        ({"parent": b"\x01\x02"}, "parent_span_id"),
        ({"start": 0}, "start_time"),
        ({"duration": -5}, "end_time"),
        ({"attrs": chat(inp=-3)}, "negative"),
        ({"attrs": chat(out="lots")}, "not a number"),
    ],
)
def test_a_bad_span_is_rejected_alone_with_its_reason(change: dict, reason: str) -> None:
    attrs = change.pop("attrs", chat())
    batch = convert_traces(
        traces([span(attrs=chat()), span(attrs=attrs, **change), span(attrs=chat())]), AMAP
    )
    assert len(batch.records) == 2 and batch.rejected == 1
    assert reason in batch.reasons[0]
