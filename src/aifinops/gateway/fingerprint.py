"""Hashes of a request, never its content (DESIGN §7), for duplicate and prompt-prefix analysis.

- ``request_hash``: the request body as sent (identical requests, which an exact response cache would serve);
- ``prefix_hash`` and ``prefix_tokens``: the part of the prompt a provider's prompt cache could reuse, i.e. the
  system prompt / instructions, the tools and every message but the last, with its size estimated at four bytes
  a token. Stamped only when that prefix is at least :data:`MIN_PREFIX_TOKENS` long (below it providers do not
  cache).

The savings recommendations (``aifinops recommend``) read these tags.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

__all__ = ["MIN_PREFIX_TOKENS", "fingerprint"]

#: OpenAI and Anthropic cache prompt prefixes from 1,024 tokens.
MIN_PREFIX_TOKENS = 1024
_BYTES_PER_TOKEN = 4
# the fields that lead a prompt, per route, and the list whose last element is the new turn
_LEADING = ("system", "instructions", "tools")
_TURNS = {"chat": "messages", "messages": "messages", "responses": "input"}


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def fingerprint(route: str, body: dict[str, Any], raw: bytes) -> dict[str, str]:
    """The tags of one request: ``request_hash`` always; ``prefix_hash``/``prefix_tokens`` for a long prefix."""
    tags = {"request_hash": _digest(raw)}
    turns_key = _TURNS.get(route)
    if turns_key is None:
        return tags
    turns = body.get(turns_key)
    prefix: dict[str, Any] = {k: body[k] for k in _LEADING if body.get(k)}
    if isinstance(turns, list) and len(turns) > 1:
        prefix["turns"] = turns[:-1]
    if not prefix:
        return tags
    try:
        data = orjson.dumps(prefix, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # not JSON-shaped (never from a parsed body): no prefix tag
        return tags
    tokens = len(data) // _BYTES_PER_TOKEN
    if tokens >= MIN_PREFIX_TOKENS:
        tags["prefix_hash"] = _digest(body.get("model", "").encode() + b"\0" + data)
        tags["prefix_tokens"] = str(tokens)
    return tags
