"""Shared pieces of the provider emulators: config, per-request overrides, token plan, ids."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

DEFAULT_MODELS: tuple[str, ...] = (
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5.4",
    "gpt-5.4-mini",
    "o3",
    "o4-mini",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "claude-opus-4-6",
    "claude-sonnet-4-6",
    "claude-haiku-4-5",
)


@dataclass(frozen=True)
class EmulatorConfig:
    """Defaults of the emulator; every number can be overridden per request (headers or directive)."""

    latency_ms: float = 0.0
    """Delay before the first byte of every response."""
    chunk_delay_ms: float = 0.0
    """Delay between two streamed events."""
    api_keys: Collection[str] | None = None
    """When set, only these keys are accepted (401 in the provider's shape otherwise)."""
    models: tuple[str, ...] = DEFAULT_MODELS
    output_tokens: int = 16
    """Output tokens when the request sets no lower max_tokens and no override."""
    chunk_tokens: int = 1
    """Tokens (words) per streamed text delta."""
    embedding_dimensions: int = 1536
    strict_models: bool = False
    """When true, a model not in ``models`` gets a 404 in the provider's shape."""
    system_fingerprint: str = "fp_e0a1b2c3d4"
    word: str = "tok"


class BadRequest(Exception):
    """The request is malformed; answered with a 400 in the provider's shape."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


# --------------------------------------------------------------------------- overrides

_INT_KEYS = (
    "prompt_tokens",
    "output_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "status",
    "cut_after",
    "chunk_size",
)
_FLOAT_KEYS = ("latency_ms", "chunk_delay_ms")
OVERRIDE_KEYS = frozenset(_INT_KEYS + _FLOAT_KEYS)
HEADER_PREFIX = b"x-emulator-"
_HEADER_KEYS = {k.replace("_", "-").encode(): k for k in OVERRIDE_KEYS}
_DIRECTIVE_RE = re.compile(r"\[emulator\b([^\]]*)\]")
_PAIR_RE = re.compile(r"([A-Za-z_0-9]+)\s*=\s*([^\s,\]]+)")


class Overrides:
    """Per-request overrides; ``None`` means "use the default"."""

    __slots__ = tuple(sorted(OVERRIDE_KEYS))

    def __init__(self) -> None:
        for key in OVERRIDE_KEYS:
            setattr(self, key, None)

    def set(self, key: str, raw: str) -> None:
        """Set one override from its text form; raises BadRequest on an unknown key or bad value."""
        if key not in OVERRIDE_KEYS:
            raise BadRequest(f"unknown emulator override {key!r}")
        try:
            value: float = float(raw) if key in _FLOAT_KEYS else int(raw)
        except ValueError:
            raise BadRequest(f"emulator override {key}={raw!r} is not a number") from None
        if value < 0:
            raise BadRequest(f"emulator override {key} must be >= 0")
        setattr(self, key, value)

    def set_header(self, suffix: bytes, raw: bytes) -> None:
        """Set from an ``x-emulator-<suffix>`` request header."""
        key = _HEADER_KEYS.get(suffix)
        if key is None:
            raise BadRequest(f"unknown emulator header x-emulator-{suffix.decode('latin-1')}")
        self.set(key, raw.decode("latin-1").strip())

    def apply_directive(self, text: str) -> None:
        """Apply ``[emulator key=value ...]`` found in ``text``; keys already set (by headers) win."""
        if "[emulator" not in text:
            return
        preset = {k for k in OVERRIDE_KEYS if getattr(self, k) is not None}
        for match in _DIRECTIVE_RE.finditer(text):
            for key, raw in _PAIR_RE.findall(match.group(1)):
                if key not in preset:
                    self.set(key, raw)


def apply_headers(ov: Overrides, headers: Iterable[tuple[bytes, bytes]]) -> None:
    """Set the overrides given as ``x-emulator-*`` request headers."""
    for name, value in headers:
        if name.startswith(HEADER_PREFIX):
            ov.set_header(name[len(HEADER_PREFIX) :], value)


# --------------------------------------------------------------------------- text and tokens


def text_chars(content: Any) -> int:
    """Characters of text in a message ``content`` (string, or list of parts/blocks)."""
    if isinstance(content, str):
        return len(content)
    total = 0
    if isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                total += len(part)
            elif isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    total += len(text)
                elif "content" in part:
                    total += text_chars(part["content"])
    return total


def text_of(content: Any) -> str:
    """The text of a message ``content`` joined (only used to look for a directive)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p if isinstance(p, str) else p.get("text") for p in content if isinstance(p, str | dict)]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


def scan_messages(messages: Any, *extra: Any) -> tuple[int, str]:
    """(characters of all text, text of the last user message) of a message list plus extra contents."""
    chars = sum(text_chars(x) for x in extra if x is not None)
    last_user: Any = None
    if isinstance(messages, str):
        return chars + len(messages), messages
    if isinstance(messages, list):
        for msg in messages:
            if isinstance(msg, dict):
                content = msg.get("content")
                chars += text_chars(content)
                if msg.get("role") == "user":
                    last_user = content
            elif isinstance(msg, str):
                chars += len(msg)
    return chars, text_of(last_user)


def estimate_tokens(chars: int) -> int:
    """Default token estimate: ceil(characters / 4), at least 1."""
    return max(1, math.ceil(chars / 4))


class Plan:
    """The deterministic outcome of one generation request."""

    __slots__ = (
        "prompt",
        "cached",
        "write_5m",
        "write_1h",
        "output",
        "reasoning",
        "visible",
        "truncated",
        "latency",
        "chunk_delay",
        "status",
        "cut_after",
        "chunk",
    )

    @property
    def writes(self) -> int:
        return self.write_5m + self.write_1h


def make_plan(cfg: EmulatorConfig, ov: Overrides, chars: int, limit: int | None) -> Plan:
    """Resolve defaults and overrides into the numbers one request will report."""
    p = Plan()
    cached = ov.cached_tokens or 0
    w5 = ov.cache_write_tokens or 0
    w1h = ov.cache_write_1h_tokens or 0
    if ov.prompt_tokens is not None:
        prompt = ov.prompt_tokens
    else:
        prompt = max(estimate_tokens(chars), cached + w5 + w1h)
    p.prompt = prompt
    p.cached = min(cached, prompt)
    p.write_5m = min(w5, prompt - p.cached)
    p.write_1h = min(w1h, prompt - p.cached - p.write_5m)
    if (
        ov.output_tokens is not None
    ):  # what the model would write; a provider never passes the request's limit
        out = ov.output_tokens if limit is None else min(limit, ov.output_tokens)
    else:
        out = cfg.output_tokens if limit is None else min(limit, cfg.output_tokens)
    p.output = out
    p.reasoning = min(ov.reasoning_tokens or 0, out)
    p.visible = out - p.reasoning
    p.truncated = limit is not None and out >= limit
    p.latency = (cfg.latency_ms if ov.latency_ms is None else ov.latency_ms) / 1000.0
    p.chunk_delay = (cfg.chunk_delay_ms if ov.chunk_delay_ms is None else ov.chunk_delay_ms) / 1000.0
    p.status = ov.status if ov.status is not None and ov.status >= 400 else None
    p.cut_after = ov.cut_after
    p.chunk = max(1, ov.chunk_size or cfg.chunk_tokens)
    return p


def words(cfg: EmulatorConfig, n: int) -> str:
    """The visible completion text: ``n`` words."""
    return " ".join([cfg.word] * n)


def deltas(cfg: EmulatorConfig, n: int, per_chunk: int) -> list[str]:
    """The streamed text deltas whose concatenation is ``words(cfg, n)``."""
    out: list[str] = []
    w = cfg.word
    for start in range(0, n, per_chunk):
        k = min(per_chunk, n - start)
        text = " ".join([w] * k)
        out.append(text if start == 0 else " " + text)
    return out


# --------------------------------------------------------------------------- ids

_ALNUM = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_B58 = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ALNUM_TABLE = bytes(_ALNUM[i % len(_ALNUM)] for i in range(256))
_B58_TABLE = bytes(_B58[i % len(_B58)] for i in range(256))


def rand_id(prefix: str, n: int = 24, base58: bool = False) -> str:
    """A random id like the providers' (``chatcmpl-…``, ``msg_01…``)."""
    return prefix + os.urandom(n).translate(_B58_TABLE if base58 else _ALNUM_TABLE).decode()
