"""Exact-match response cache (opt-in per model or route, with a TTL): identical requests are answered
without calling upstream, and recorded as cache hits with the cost they avoided."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import orjson

from aifinops.core.settings import CacheSettings

__all__ = ["ResponseCache", "CachedResponse"]


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A stored upstream answer."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    usage: Any
    served_model: str | None
    service_tier: str | None
    expires: float


class ResponseCache:
    """An LRU of non-streaming 2xx responses keyed by route, model and the canonical request body."""

    def __init__(self, settings: CacheSettings) -> None:
        self.settings = settings
        self._items: OrderedDict[str, CachedResponse] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def enabled_for(self, route: str, model: str) -> bool:
        """Whether caching is on for this route and model."""
        return route in self.settings.routes or any(fnmatchcase(model, p) for p in self.settings.models)

    @staticmethod
    def key(route: str, body: dict[str, Any], scope: str) -> str:
        """The cache key: route, a caller scope (the key or team) and the sorted request body."""
        canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(route.encode() + b"\0" + scope.encode() + b"\0" + canonical).hexdigest()

    def get(self, key: str) -> CachedResponse | None:
        """A fresh entry, or None."""
        item = self._items.get(key)
        if item is None or item.expires < time.monotonic():
            if item is not None:
                del self._items[key]
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return item

    def put(self, key: str, response: CachedResponse) -> None:
        """Store a response, evicting the least recently used past ``max_entries``."""
        self._items[key] = response
        self._items.move_to_end(key)
        while len(self._items) > self.settings.max_entries:
            self._items.popitem(last=False)

    def expiry(self) -> float:
        """When an entry stored now expires (monotonic clock)."""
        return time.monotonic() + self.settings.ttl_seconds
