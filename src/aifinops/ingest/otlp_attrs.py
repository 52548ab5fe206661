"""OTLP attributes: protobuf ``KeyValue`` lists to dicts, attribution from them, GenAI provider and model.

Attribution (who owns a span's cost) comes from the span's attributes, then its resource's, through an
:class:`AttributeMap`: the defaults below plus the ``otlp.attribute_map`` setting, which adds to them and
overrides them attribute by attribute.

========================================  ===========================================
attribute                                 record field
========================================  ===========================================
``aifinops.team``, ``aifinops.project``,  that field (like the gateway's ``x-aifinops-*`` headers)
... (every owner field)
``service.name``                          ``project`` (a service is what a project ships)
``deployment.environment.name``           ``environment`` (new name, then the pre-1.27 one)
``deployment.environment``
``user.id``, ``enduser.id``               ``user``
========================================  ===========================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aifinops.core.normalize import pricing_mode
from aifinops.pricing import canonical_provider

__all__ = [
    "attributes",
    "any_value",
    "AttributeMap",
    "OWNER_TARGETS",
    "provider_of",
    "model_of",
    "mode_of",
]

OWNER_TARGETS = ("team", "project", "product", "feature", "customer", "environment", "use_case", "user")
_DEFAULTS: tuple[tuple[str, str], ...] = (
    *((f"aifinops.{name}", name) for name in OWNER_TARGETS),
    ("service.name", "project"),
    ("deployment.environment.name", "environment"),
    ("deployment.environment", "environment"),
    ("user.id", "user"),
    ("enduser.id", "user"),
)
_MISSING = object()
_PROVIDERS: dict[str, str | None] = {}  # provider attribute value -> catalog name (memoized)
_SERVICE_TIERS = (
    "openai.response.service_tier",
    "openai.request.service_tier",
    "gen_ai.openai.response.service_tier",
    "gen_ai.openai.request.service_tier",
)


def any_value(value: Any) -> Any:
    """One ``AnyValue`` as a Python value (arrays as lists, key-value lists as dicts, bytes as hex)."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, which)


def attributes(kvs: Iterable[Any], *, deep: bool = True) -> dict[str, Any]:
    """A ``repeated KeyValue`` as a dict (a repeated key keeps its last value; empty values are skipped).

    With ``deep=False`` (the span hot path) arrays, key-value lists and bytes are kept as their protobuf
    encoding: opaque, but enough to tell values apart (request hashes) and cheaper to read.
    """
    out: dict[str, Any] = {}
    for kv in kvs:
        value = kv.value
        which = value.WhichOneof("value")
        if which == "string_value":
            out[kv.key] = value.string_value
        elif which == "int_value":
            out[kv.key] = value.int_value
        elif which == "double_value" or which == "bool_value":
            out[kv.key] = getattr(value, which)
        elif which is None:
            continue
        elif deep:
            out[kv.key] = any_value(value)
        else:
            out[kv.key] = value.SerializeToString()
    return out


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list | bytes):
        return None
    text = str(value).strip()
    return text[:256] or None


class AttributeMap:
    """Compiled attribute -> field (or ``tag:KEY``) rules; see the module docstring."""

    def __init__(self, mapping: Mapping[str, str] | None = None) -> None:
        rules: dict[str, str] = dict(mapping or {})
        for attribute, target in _DEFAULTS:
            rules.setdefault(attribute, target)
        # per target, its attributes in priority order (configured ones first, then the defaults)
        self._targets: dict[str, list[str]] = {}
        for attribute, target in rules.items():
            self._targets.setdefault(target, []).append(attribute)
        self.keys = frozenset(rules)

    def resolve(
        self, span: Mapping[str, Any], resource: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """``(fields, tags)`` for one span: a span attribute wins over a resource attribute."""
        fields: dict[str, str] = {}
        tags: dict[str, str] = {}
        for target, names in self._targets.items():
            value = None
            for source in (span, resource):
                for name in names:
                    value = _text(source.get(name))
                    if value is not None:
                        break
                if value is not None:
                    break
            if value is None:
                continue
            if target.startswith("tag:"):
                tags[target[4:]] = value
            else:
                fields[target] = value
        return fields, tags

    def touches(self, span: Mapping[str, Any]) -> bool:
        """Whether any attribute of ``span`` takes part in attribution (else the resource's result holds)."""
        return not self.keys.isdisjoint(span)


def provider_of(attrs: Mapping[str, Any]) -> str | None:
    """The catalog's provider name from ``gen_ai.provider.name`` (or the older ``gen_ai.system``;
    ``az.ai.*`` is the pre-1.37 spelling of ``azure.ai.*``)."""
    raw = attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system")
    if raw is None:
        return None
    found = _PROVIDERS.get(raw, _MISSING)
    if found is _MISSING:
        name = _text(raw)
        if name is not None and name.startswith("az.ai."):
            name = "azure.ai." + name[6:]
        found = canonical_provider(name)
        if len(_PROVIDERS) < 10_000 and isinstance(raw, str):
            _PROVIDERS[raw] = found
    return found


def model_of(attrs: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(model, model_requested)``: the served model when reported, else the requested one."""
    requested = _text(attrs.get("gen_ai.request.model"))
    return _text(attrs.get("gen_ai.response.model")) or requested, requested


def mode_of(provider: str | None, attrs: Mapping[str, Any]) -> tuple[str, str | None]:
    """``(pricing_mode, service_tier)`` from the OpenAI service tier attributes (new names, then old)."""
    tier = None
    for name in _SERVICE_TIERS:
        if name in attrs:
            tier = _text(attrs[name])
            if tier is not None:
                break
    return pricing_mode(provider or "", tier), tier
