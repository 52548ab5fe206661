"""Gateway virtual keys (stored hashed) and request attribution from keys, headers and bodies."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aifinops.core.errors import ConfigError, InputError
from aifinops.core.settings import KeySettings, resolve_secret

__all__ = ["KeyRing", "Attribution", "hash_key", "attribution_from_headers", "HEADER_FIELDS"]

#: ``x-aifinops-<name>`` headers and the record field each one sets.
HEADER_FIELDS = {
    "team": "team",
    "project": "project",
    "product": "product",
    "feature": "feature",
    "customer": "customer",
    "environment": "environment",
    "use-case": "use_case",
    "user": "user",
    "trace-id": "trace_id",
    "parent-id": "parent_span_id",
    "span-id": "span_id",
    "workflow": "workflow",
}
_OWNER = ("team", "project", "product", "feature", "customer", "environment", "use_case", "user")
_MAX_VALUE = 256
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(slots=True)
class Attribution:
    """Who a request belongs to."""

    key_name: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class KeyRing:
    """Virtual keys by hash. Keys whose ``${ENV}`` is unset are skipped and listed in ``problems``."""

    def __init__(self, keys: list[KeySettings]) -> None:
        self._by_hash: dict[str, KeySettings] = {}
        self.problems: list[str] = []
        for entry in keys:
            if entry.key.startswith("sha256:"):
                digest = entry.key[7:].lower()
            else:
                try:
                    secret = resolve_secret(entry.key)
                except ConfigError as exc:
                    self.problems.append(f"key {entry.name}: {exc.message}")
                    continue
                digest = hash_key(secret or "")
            self._by_hash[digest] = entry

    def __len__(self) -> int:
        return len(self._by_hash)

    def lookup(self, presented: str | None) -> KeySettings | None:
        """The key entry for a presented key, or ``None``."""
        if not presented:
            return None
        return self._by_hash.get(hash_key(presented))


def _clean(name: str, value: str) -> str:
    if len(value) > _MAX_VALUE:
        raise InputError(f"header {name} is longer than {_MAX_VALUE} characters")
    if _BAD_CHARS.search(value):
        raise InputError(f"header {name} contains control characters")
    return value.strip()


def attribution_from_headers(
    headers: Mapping[str, str], key: KeySettings | None, body: Mapping[str, Any] | None
) -> Attribution:
    """Attribution for a request: the key's own fields win over headers unless the key allows overrides."""
    attr = Attribution(key_name=key.name if key else None)
    for suffix, field_name in HEADER_FIELDS.items():
        value = headers.get(f"x-aifinops-{suffix}")
        if value:
            attr.fields[field_name] = _clean(f"x-aifinops-{suffix}", value)
    tags = headers.get("x-aifinops-tags")
    if tags:
        for part in _clean("x-aifinops-tags", tags).split(","):
            k, sep, v = part.partition("=")
            if not sep or not k.strip():
                raise InputError("header x-aifinops-tags must be k=v pairs separated by commas")
            attr.tags[k.strip()] = v.strip()
    if body:
        user = body.get("user")
        metadata = body.get("metadata")
        if not user and isinstance(metadata, dict):
            user = metadata.get("user_id")
        if isinstance(user, str) and user and "user" not in attr.fields:
            attr.fields["user"] = user[:_MAX_VALUE]
    if key is not None:
        for name in _OWNER:
            value = getattr(key, name)
            if value is not None and (not key.allow_overrides or name not in attr.fields):
                attr.fields[name] = value
        for k, v in key.tags.items():
            if not key.allow_overrides or k not in attr.tags:
                attr.tags[k] = v
    return attr
