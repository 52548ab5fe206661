"""Canonical token usage: the disjoint token classes every provider's usage is normalized into.

Normalizers for each provider's wire shape live in :mod:`aifinops.core.normalize`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TokenUsage"]


@dataclass(slots=True)
class TokenUsage:
    """Token counts in aifinops' disjoint classes (see :mod:`aifinops.core.records`).

    ``input_tokens`` excludes cache reads and cache writes; ``output_tokens`` includes reasoning;
    ``reasoning_tokens`` is the reasoning part of ``output_tokens``. ``total_input`` is what the
    provider processed as prompt, ``context_tokens`` decides long-context price tiers.
    """

    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    web_search_requests: int = 0

    @property
    def total_input(self) -> int:
        """All prompt tokens: uncached + cache reads + cache writes."""
        return (
            self.input_tokens
            + self.cached_input_tokens
            + self.cache_write_5m_tokens
            + self.cache_write_1h_tokens
        )

    @property
    def total(self) -> int:
        """All tokens, input and output."""
        return self.total_input + self.output_tokens

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input_tokens + other.input_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.cache_write_5m_tokens + other.cache_write_5m_tokens,
            self.cache_write_1h_tokens + other.cache_write_1h_tokens,
            self.output_tokens + other.output_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.web_search_requests + other.web_search_requests,
        )
