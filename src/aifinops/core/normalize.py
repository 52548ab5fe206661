"""The one place where each provider's token convention becomes aifinops' disjoint token classes.

Every wire shape is described by a :class:`_Shape` row (where its counts live and whether its input
count already includes cache reads and writes); :func:`_normalize` applies the same rules to all:

- OpenAI (chat, responses, usage API) and OpenTelemetry report input *including* cache reads and
  writes, so the uncached part is ``input - cached - cache_write``; Anthropic reports it *excluding*.
- Output always includes reasoning; reasoning is kept as the informational part of output.
- Cache writes without a TTL split are 5-minute (default TTL) writes; a split that sums to less than
  the total puts the remainder in the 5-minute class.
- Missing fields and ``None`` detail objects count 0. Negative or fractional counts, and counts that
  would make a class negative, raise ``ValueError`` naming the fields.

Streaming accumulators live in :mod:`aifinops.core.normalize_stream` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Literal

from aifinops.core.usage import TokenUsage

if TYPE_CHECKING:
    from aifinops.core.normalize_stream import (
        AnthropicStream,
        OpenAIChatStream,
        OpenAIResponsesStream,
    )

__all__ = [
    "from_openai_chat",
    "from_openai_responses",
    "from_openai_usage_result",
    "from_anthropic",
    "from_anthropic_usage_result",
    "from_otel",
    "from_otel_metric",
    "from_openai_batch_line",
    "from_anthropic_batch_line",
    "pricing_mode",
    "is_known_service_tier",
    "OpenAIChatStream",
    "OpenAIResponsesStream",
    "AnthropicStream",
]

Path = tuple[str, ...]


def _p(dotted: str) -> Path:
    """A nested path: ``"a.b"`` looks up ``data["a"]["b"]``."""
    return tuple(dotted.split("."))


@dataclass(frozen=True, slots=True)
class _Shape:
    """Where one wire shape keeps each count. Several paths: the first one present wins."""

    input: tuple[Path, ...]
    #: "included": input counts cache reads and writes; "excluded": it does not;
    #: "auto": included unless the cache counts exceed it (mislabelled instrumentations).
    cache_in_input: Literal["included", "excluded", "auto"]
    uncached: Path | None = None  # an explicit uncached count, preferred when present
    cache_read: Path | None = None
    cache_write: Path | None = None  # total writes (no TTL split)
    cache_write_5m: Path | None = None
    cache_write_1h: Path | None = None
    output: tuple[Path, ...] = ()
    reasoning: Path | None = None
    web_search: Path | None = None


OPENAI_CHAT = _Shape(
    input=(_p("prompt_tokens"),),
    cache_in_input="included",
    cache_read=_p("prompt_tokens_details.cached_tokens"),
    cache_write=_p("prompt_tokens_details.cache_write_tokens"),
    output=(_p("completion_tokens"),),
    reasoning=_p("completion_tokens_details.reasoning_tokens"),
)
OPENAI_RESPONSES = _Shape(
    input=(_p("input_tokens"),),
    cache_in_input="included",
    cache_read=_p("input_tokens_details.cached_tokens"),
    cache_write=_p("input_tokens_details.cache_write_tokens"),
    output=(_p("output_tokens"),),
    reasoning=_p("output_tokens_details.reasoning_tokens"),
)
OPENAI_USAGE_RESULT = _Shape(
    input=(_p("input_tokens"),),
    cache_in_input="included",
    uncached=_p("input_uncached_tokens"),
    cache_read=_p("input_cached_tokens"),
    cache_write=_p("input_cache_write_tokens"),
    output=(_p("output_tokens"),),
)
ANTHROPIC_MESSAGES = _Shape(
    input=(_p("input_tokens"),),
    cache_in_input="excluded",
    cache_read=_p("cache_read_input_tokens"),
    cache_write=_p("cache_creation_input_tokens"),
    cache_write_5m=_p("cache_creation.ephemeral_5m_input_tokens"),
    cache_write_1h=_p("cache_creation.ephemeral_1h_input_tokens"),
    output=(_p("output_tokens"),),
    reasoning=_p("output_tokens_details.thinking_tokens"),
    web_search=_p("server_tool_use.web_search_requests"),
)
ANTHROPIC_USAGE_RESULT = _Shape(
    input=(_p("uncached_input_tokens"),),
    cache_in_input="excluded",
    cache_read=_p("cache_read_input_tokens"),
    cache_write_5m=_p("cache_creation.ephemeral_5m_input_tokens"),
    cache_write_1h=_p("cache_creation.ephemeral_1h_input_tokens"),
    output=(_p("output_tokens"),),
    web_search=_p("server_tool_use.web_search_requests"),
)
# OTel attribute names contain dots but are flat keys: one-element paths. New names before old.
OTEL = _Shape(
    input=(("gen_ai.usage.input_tokens",), ("gen_ai.usage.prompt_tokens",)),
    cache_in_input="auto",
    cache_read=("gen_ai.usage.cache_read.input_tokens",),
    cache_write=("gen_ai.usage.cache_creation.input_tokens",),
    output=(("gen_ai.usage.output_tokens",), ("gen_ai.usage.completion_tokens",)),
    reasoning=("gen_ai.usage.reasoning.output_tokens",),
)


def _count(value: object, field: str) -> int:
    """A non-negative whole token count from an int, an integral float, or a decimal string."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"{field}: expected a token count, got a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{field}: {value!r} is not a whole number of tokens")
        number = int(value)
    elif isinstance(value, str | Decimal):
        try:
            exact = Decimal(value.strip()) if isinstance(value, str) else value
        except InvalidOperation:
            raise ValueError(f"{field}: {value!r} is not a number") from None
        if not exact.is_finite() or exact != exact.to_integral_value():
            raise ValueError(f"{field}: {value!r} is not a whole number of tokens")
        number = int(exact)
    else:
        raise ValueError(f"{field}: expected a token count, got {type(value).__name__}")
    if number < 0:
        raise ValueError(f"{field}: negative token count {value!r}")
    return number


def _mapping(value: object, field: str) -> Mapping:
    """``value`` as a mapping: ``None`` is empty; SDK models are dumped; anything else is an error."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return value
    dump = getattr(value, "model_dump", None)  # openai / anthropic SDK (pydantic) objects
    if callable(dump):
        dumped = dump()
        if isinstance(dumped, Mapping):
            return dumped
    raise ValueError(f"{field}: expected an object, got {type(value).__name__}")


def _lookup(data: Mapping, path: Path | None) -> object:
    """The value at ``path``, or ``None`` when any step is missing or ``None``."""
    if path is None:
        return None
    node: object = data
    for depth, key in enumerate(path):
        if node is None:
            return None
        node = _mapping(node, ".".join(path[:depth]))
        node = node.get(key)
    return node


def _first(data: Mapping, paths: tuple[Path, ...]) -> tuple[int | None, str]:
    """The count at the first present path (``None`` if none is), and that path's name."""
    for path in paths:
        value = _lookup(data, path)
        if value is not None:
            return _count(value, ".".join(path)), ".".join(path)
    return None, ".".join(paths[0]) if paths else "?"


def _get(data: Mapping, path: Path | None) -> int | None:
    value = _lookup(data, path)
    return None if value is None else _count(value, ".".join(path or ()))


def _name(path: Path | None) -> str:
    return ".".join(path or ())


def _normalize(data: Mapping, shape: _Shape) -> TokenUsage:
    """Apply one shape's table to one usage object (see the module docstring for the rules)."""
    raw_input, input_name = _first(data, shape.input)
    raw_input = raw_input or 0
    cached = _get(data, shape.cache_read) or 0

    # cache writes, split by TTL
    write_total = _get(data, shape.cache_write)
    split_5m = _get(data, shape.cache_write_5m)
    split_1h = _get(data, shape.cache_write_1h)
    if split_5m is None and split_1h is None:
        write_5m, write_1h = write_total or 0, 0
    else:
        split_sum = (split_5m or 0) + (split_1h or 0)
        if write_total is None:
            write_total = split_sum
        elif split_sum > write_total:
            raise ValueError(
                f"{_name(shape.cache_write_5m)} + {_name(shape.cache_write_1h)} ({split_sum}) "
                f"exceed {_name(shape.cache_write)} ({write_total})"
            )
        write_1h = split_1h or 0
        write_5m = write_total - write_1h  # the unsplit remainder is a default (5m) write
    writes = write_5m + write_1h

    uncached = _get(data, shape.uncached)
    if uncached is not None:
        input_tokens = uncached
    elif shape.cache_in_input == "excluded":
        input_tokens = raw_input
    elif cached + writes <= raw_input:
        input_tokens = raw_input - cached - writes
    elif shape.cache_in_input == "auto":
        input_tokens = raw_input  # the source reported input excluding cache
    else:
        raise ValueError(
            f"{_name(shape.cache_read)} ({cached}) + {_name(shape.cache_write)} ({writes}) "
            f"exceed {input_name} ({raw_input})"
        )

    output, output_name = _first(data, shape.output)
    output = output or 0
    reasoning = _get(data, shape.reasoning) or 0
    if reasoning > output:
        if shape.cache_in_input != "auto":
            raise ValueError(f"{_name(shape.reasoning)} ({reasoning}) exceeds {output_name} ({output})")
        output += reasoning  # the source reported output excluding reasoning
    return TokenUsage(
        input_tokens=input_tokens,
        cached_input_tokens=cached,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        output_tokens=output,
        reasoning_tokens=reasoning,
        web_search_requests=_get(data, shape.web_search) or 0,
    )


def from_openai_chat(usage: Mapping | None) -> TokenUsage:
    """OpenAI ``CompletionUsage`` (chat, legacy completions, embeddings ``{prompt_tokens, total_tokens}``).

    ``prompt_tokens`` includes cached and cache-write tokens; ``completion_tokens`` includes reasoning
    and rejected prediction tokens (both billed).
    """
    return _normalize(_mapping(usage, "usage"), OPENAI_CHAT)


def from_openai_responses(usage: Mapping | None) -> TokenUsage:
    """OpenAI Responses API ``ResponseUsage`` (input includes cached, output includes reasoning)."""
    return _normalize(_mapping(usage, "usage"), OPENAI_RESPONSES)


_OPENAI_TOKEN_RESULTS = frozenset(
    {
        "organization.usage.completions.result",
        "organization.usage.embeddings.result",
        "organization.usage.moderations.result",
    }
)


def from_openai_usage_result(result: Mapping) -> TokenUsage:
    """One result row of the OpenAI Organization Usage API (completions, embeddings, moderations).

    ``input_uncached_tokens`` is used when present, else ``input - cached - cache_write``.
    The usage API gives no reasoning split. Results without tokens (images, audio...) are rejected.
    """
    data = _mapping(result, "result")
    kind = data.get("object")
    if kind is not None and kind not in _OPENAI_TOKEN_RESULTS:
        raise ValueError(f"object: {kind!r} results carry no token usage")
    return _normalize(data, OPENAI_USAGE_RESULT)


def from_anthropic(usage: Mapping | None) -> TokenUsage:
    """Anthropic Messages ``usage`` (also a ``message_delta`` usage): ``input_tokens`` excludes cache."""
    return _normalize(_mapping(usage, "usage"), ANTHROPIC_MESSAGES)


def from_anthropic_usage_result(result: Mapping) -> TokenUsage:
    """One result row of the Anthropic Admin usage report (``/usage_report/messages``)."""
    return _normalize(_mapping(result, "result"), ANTHROPIC_USAGE_RESULT)


def from_otel(attributes: Mapping[str, object]) -> TokenUsage:
    """OpenTelemetry GenAI ``gen_ai.usage.*`` span attributes, new and pre-1.28 names.

    Per the spec input includes cache reads and writes; a source whose cache counts exceed its
    input count is taken to report input excluding cache. Likewise for reasoning and output.
    """
    return _normalize(_mapping(attributes, "attributes"), OTEL)


def from_otel_metric(attributes: Mapping[str, object], value: object) -> TokenUsage:
    """One token-metric data point: its attributes say which class ``value`` counts.

    ``gen_ai.token.type`` (``input``, ``output``, old ``completion``/``prompt``), refined by
    ``gen_ai.token.cache`` (``none``/``read``/``creation``) or ``gen_ai.token.phase``
    (``response``/``reasoning``). Without a cache attribute an input count is all uncached.
    """
    attrs = _mapping(attributes, "attributes")
    tokens = _count(value, "value")
    kind = str(attrs.get("gen_ai.token.type") or "").lower()
    cache = str(attrs.get("gen_ai.token.cache") or "none").lower()
    phase = str(attrs.get("gen_ai.token.phase") or "response").lower()
    if kind in ("input", "prompt"):
        if cache == "read":
            return TokenUsage(cached_input_tokens=tokens)
        if cache in ("creation", "write"):
            return TokenUsage(cache_write_5m_tokens=tokens)
        return TokenUsage(input_tokens=tokens)
    if kind in ("output", "completion"):
        return TokenUsage(output_tokens=tokens, reasoning_tokens=tokens if phase == "reasoning" else 0)
    raise ValueError(f"gen_ai.token.type: unknown token type {attrs.get('gen_ai.token.type')!r}")


def from_openai_batch_line(line: Mapping) -> tuple[TokenUsage, str | None] | None:
    """One line of an OpenAI Batch output file: ``(usage, model)``, or ``None`` for a failed request.

    The body may be a chat completion, a Responses API response or an embeddings list.
    """
    data = _mapping(line, "line")
    response = data.get("response")
    if data.get("error") is not None or response is None:
        return None
    response = _mapping(response, "response")
    status = response.get("status_code")
    if status is not None and not 200 <= _count(status, "response.status_code") < 300:
        return None
    body = response.get("body")
    if body is None:
        raise ValueError("response.body: missing on a successful batch line")
    body = _mapping(body, "response.body")
    if body.get("error") is not None:
        return None
    usage = _mapping(body.get("usage"), "response.body.usage")
    is_responses = body.get("object") == "response" or (
        "input_tokens" in usage and "prompt_tokens" not in usage
    )
    tokens = from_openai_responses(usage) if is_responses else from_openai_chat(usage)
    model = body.get("model")
    return tokens, str(model) if model else None


def from_anthropic_batch_line(line: Mapping) -> tuple[TokenUsage, str | None] | None:
    """One line of an Anthropic Message Batches results file: ``(usage, model)``, or ``None``
    for ``errored``/``canceled``/``expired`` results (they carry no usage)."""
    result = _mapping(_mapping(line, "line").get("result"), "result")
    if result.get("type") != "succeeded":
        return None
    message = result.get("message")
    if message is None:
        raise ValueError("result.message: missing on a succeeded result")
    message = _mapping(message, "result.message")
    model = message.get("model")
    return from_anthropic(message.get("usage")), str(model) if model else None


_OPENAI_TIERS = {
    "default": "on_demand",
    "auto": "on_demand",
    "flex": "flex",
    "priority": "priority",
    "scale": "provisioned",
    "batch": "batch",
}
_ANTHROPIC_TIERS = {"standard": "on_demand", "priority": "priority", "batch": "batch"}
_TIERS_BY_PROVIDER = {
    "openai": _OPENAI_TIERS,
    "azure": _OPENAI_TIERS,
    "azure.ai.openai": _OPENAI_TIERS,
    "anthropic": _ANTHROPIC_TIERS,
}
_ANY_TIERS = {**_OPENAI_TIERS, **_ANTHROPIC_TIERS}  # providers we have no table for


def _tiers(provider: str) -> dict[str, str]:
    return _TIERS_BY_PROVIDER.get((provider or "").strip().lower(), _ANY_TIERS)


def pricing_mode(provider: str, service_tier: str | None, *, batch: bool = False) -> str:
    """The pricing mode (see ``records.PRICING_MODES``) of a provider's service tier.

    ``batch=True`` wins. No tier and unknown tiers are ``on_demand``; use
    :func:`is_known_service_tier` to tell an unknown tier apart (keep the raw tier as a tag).
    """
    if batch:
        return "batch"
    if service_tier is None:
        return "on_demand"
    return _tiers(provider).get(str(service_tier).strip().lower(), "on_demand")


def is_known_service_tier(provider: str, service_tier: str | None) -> bool:
    """Whether :func:`pricing_mode` knows ``service_tier`` (``None`` counts as known: the default)."""
    return service_tier is None or str(service_tier).strip().lower() in _tiers(provider)


_STREAM_CLASSES = ("OpenAIChatStream", "OpenAIResponsesStream", "AnthropicStream")


def __getattr__(name: str) -> object:
    # The stream accumulators build on this module, so they are imported lazily (no import cycle).
    if name in _STREAM_CLASSES:
        from aifinops.core import normalize_stream

        return getattr(normalize_stream, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
