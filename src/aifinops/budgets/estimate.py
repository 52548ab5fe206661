"""Worst-case cost of a request before it is sent: the amount a hard budget reserves.

Input tokens are bounded from the request body (at most one token per 2 bytes of JSON, plus a fixed allowance
per image), output tokens by the request's own limit, the policy's ceiling, or a default. Every input token is
priced at the dearest input class the model has (a cache write can cost more than plain input), and a request
over a long-context threshold at the long-context rates. The reservation is an upper bound of the recorded
cost whenever the provider honours ``max_tokens``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aifinops.core.money import MILLION

__all__ = ["input_token_bound", "output_token_limit", "worst_case_cost", "IMAGE_TOKENS"]

IMAGE_TOKENS = 2_000
_OUTPUT_FIELDS = ("max_completion_tokens", "max_tokens", "max_output_tokens")


def input_token_bound(raw: bytes, body: dict[str, Any]) -> int:
    """An upper bound of the prompt tokens of a request body."""
    images = (
        raw.count(b'"image_url"')
        + raw.count(b'"input_image"')
        + raw.count(b'"type":"image"')
        + raw.count(b'"type": "image"')
    )
    return (len(raw) + 1) // 2 + images * IMAGE_TOKENS


def output_token_limit(body: dict[str, Any]) -> int | None:
    """The output limit the request itself sets, if any."""
    for name in _OUTPUT_FIELDS:
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def worst_case_cost(entry: Any, mode: str, input_tokens: int, output_tokens: int) -> Decimal | None:
    """The most a call can cost at ``entry``'s prices, or None when the model has no price."""
    if entry is None:
        return None
    threshold = entry.long_context_threshold
    table = (
        entry.long_context
        if threshold is not None and input_tokens > threshold and entry.long_context
        else entry.rates
    )
    rates = table.get(mode) or table.get("on_demand")
    if rates is None:
        return None
    input_prices = [
        p
        for p in (rates.input, rates.cached_input, rates.cache_write_5m, rates.cache_write_1h)
        if p is not None
    ]
    if not input_prices or rates.output is None and output_tokens:
        return None
    output_price = rates.output or Decimal(0)
    return (input_tokens * max(input_prices) + output_tokens * output_price) / MILLION
