"""Savings recommendations (pure): token rows, GPU rows and config in, ranked :class:`Recommendation` out.

Every saving is computed with the real price catalog on the traffic that was actually seen (exact
``Decimal``), then scaled to a 30-day month from the days it was seen.
"""

from __future__ import annotations

from aifinops.recommend.caching import prompt_caching, response_caching
from aifinops.recommend.capacity import gpu, provisioned
from aifinops.recommend.llm import batch, max_tokens, retire, rightsizing
from aifinops.recommend.model import KINDS, Recommendation, monthly, rank, recommendation_id
from aifinops.recommend.tokens import cost_on, paid

__all__ = [
    "KINDS",
    "Recommendation",
    "batch",
    "cost_on",
    "gpu",
    "max_tokens",
    "monthly",
    "paid",
    "prompt_caching",
    "provisioned",
    "rank",
    "recommendation_id",
    "response_caching",
    "retire",
    "rightsizing",
]
