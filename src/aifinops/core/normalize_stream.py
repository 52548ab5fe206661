"""Stateful usage accumulators for streamed responses: feed parsed events one at a time.

Each accumulator exposes, at any point, the usage known so far (``usage``), the model served
(``model``), the raw ``service_tier`` and whether the stream's terminal event arrived (``complete``).
A stream cut off mid-way still yields what was known: for Anthropic the ``message_start`` usage plus
the last ``message_delta``; for OpenAI chat nothing (``None``) if the usage chunk never came.
"""

from __future__ import annotations

from collections.abc import Mapping

from aifinops.core.normalize import (
    _mapping,
    from_anthropic,
    from_openai_chat,
    from_openai_responses,
)
from aifinops.core.usage import TokenUsage

__all__ = ["OpenAIChatStream", "OpenAIResponsesStream", "AnthropicStream"]


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


class _Stream:
    """State shared by the accumulators."""

    def __init__(self) -> None:
        self.usage: TokenUsage | None = None
        self.model: str | None = None
        self.service_tier: str | None = None
        self.response_id: str | None = None
        self.complete = False

    def _note(self, source: Mapping) -> None:
        """Record model, id and tier from an object that may carry them (later values win)."""
        self.model = _text(source.get("model")) or self.model
        self.response_id = _text(source.get("id")) or self.response_id
        self.service_tier = _text(source.get("service_tier")) or self.service_tier


class OpenAIChatStream(_Stream):
    """OpenAI Chat Completions chunks (``stream_options.include_usage``).

    Usage arrives on a final chunk with ``choices: []``; every other chunk has ``usage: null``.
    Servers that send running usage on every chunk are handled too (the last one wins).
    ``complete`` is set by that final usage chunk.
    """

    def feed(self, chunk: Mapping) -> None:
        """Take one parsed ``chat.completion.chunk``."""
        data = _mapping(chunk, "chunk")
        self._note(data)
        usage = data.get("usage")
        if usage is not None:
            self.usage = from_openai_chat(usage)
            if not data.get("choices"):
                self.complete = True


class OpenAIResponsesStream(_Stream):
    """OpenAI Responses API stream events.

    Usage is on the terminal event's ``response.usage``: ``response.completed``, or
    ``response.incomplete`` / ``response.failed``. Any terminal event sets ``complete``;
    ``status`` tells which one (``completed``, ``incomplete``, ``failed``).
    """

    TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})

    def __init__(self) -> None:
        super().__init__()
        self.status: str | None = None

    def feed(self, event: Mapping) -> None:
        """Take one parsed stream event (its ``type`` says which)."""
        data = _mapping(event, "event")
        response = data.get("response")
        if response is None:
            return
        response = _mapping(response, "event.response")
        self._note(response)
        usage = response.get("usage")
        if usage is not None:
            self.usage = from_openai_responses(usage)
        kind = data.get("type")
        if kind in self.TERMINAL:
            self.complete = True
            self.status = _text(response.get("status")) or str(kind).removeprefix("response.")


class AnthropicStream(_Stream):
    """Anthropic Messages SSE events.

    ``message_start`` carries the input and cache counts and a small initial ``output_tokens``;
    each ``message_delta`` carries *cumulative* counts (always output, sometimes input/cache/server
    tools): for every field the latest value seen wins, ``message_start`` supplies the rest.
    ``message_stop`` sets ``complete``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._start: dict[str, object] = {}
        self._latest: dict[str, object] = {}
        self.stop_reason: str | None = None

    def feed(self, event: Mapping) -> None:
        """Take one parsed SSE event (``ping`` and content events are ignored)."""
        data = _mapping(event, "event")
        kind = data.get("type")
        if kind == "message_start":
            message = _mapping(data.get("message"), "message")
            self._note(message)
            self._start = dict(_mapping(message.get("usage"), "message.usage"))
            self._latest = {}
            self._refresh()
        elif kind == "message_delta":
            delta = _mapping(data.get("delta"), "delta")
            self.stop_reason = _text(delta.get("stop_reason")) or self.stop_reason
            usage = _mapping(data.get("usage"), "usage")
            self._latest.update({key: value for key, value in usage.items() if value is not None})
            self._refresh()
        elif kind == "message_stop":
            self.complete = True

    def _refresh(self) -> None:
        merged = {**self._start, **self._latest}
        self.service_tier = _text(merged.get("service_tier")) or self.service_tier
        self.usage = from_anthropic(merged)
