"""The fast pricing path gives exactly what the full breakdown gives."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from aifinops.pricing import explain_cost, load_catalog, price_record
from tests.factories import rec

CATALOG = load_catalog(
    [{"provider": "acme", "model": "acme-1", "input": 1.5, "output": 4}],
    [{"provider": "anthropic", "percent": 12.5, "effective_from": "2020-01-01"}],
)
MODELS = [
    "gpt-4o",
    "gpt-4o-mini",
    "claude-sonnet-4-6",
    "claude-sonnet-4-5",
    "gemini-2.5-pro",
    "acme-1",
    "o4-mini",
    "nope-1",
]
tokens = st.integers(min_value=0, max_value=3_000_000)


@settings(max_examples=300, deadline=None)
@given(
    model=st.sampled_from(MODELS),
    mode=st.sampled_from(["on_demand", "batch", "priority", "flex"]),
    counts=st.tuples(tokens, tokens, tokens, tokens, tokens),
    requests=st.sampled_from([0, 1, 5]),
    window=st.sampled_from([None, "0-200k", "200k-1M"]),
)
def test_fast_path_equals_breakdown(model, mode, counts, requests, window) -> None:
    record = rec(
        1,
        model=model,
        provider=None,
        pricing_mode=mode,
        requests=requests,
        cost_status="unpriced",
        list_cost=None,
        effective_cost=None,
        billed_cost=None,
        input_tokens=counts[0],
        cached_input_tokens=counts[1],
        cache_write_5m_tokens=counts[2],
        cache_write_1h_tokens=counts[3],
        output_tokens=counts[4],
        tags={"context_window": window} if window else {},
    )
    expected = explain_cost(dataclasses.replace(record, tags=dict(record.tags)), CATALOG)
    price_record(record, CATALOG)
    if expected.status == "priced":
        assert record.cost_status == "priced"
        assert (record.list_cost, record.effective_cost, record.price_id) == (
            expected.list_cost,
            expected.effective_cost,
            expected.price_id,
        )
    else:
        assert record.cost_status == "unpriced" and record.effective_cost is None
