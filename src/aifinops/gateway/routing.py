"""Which upstream serves a request: aliases, explicit ``upstream/model`` names, model patterns, the catalog's
provider for the model, then the protocol's default; plus configured fallbacks."""

from __future__ import annotations

import os
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from aifinops.core.settings import ProviderSettings, Settings, resolve_secret

__all__ = ["Upstream", "Target", "Router", "DEFAULT_UPSTREAMS"]

DEFAULT_UPSTREAMS = {
    "openai": ProviderSettings(base_url="https://api.openai.com/v1", api_key="${OPENAI_API_KEY}"),
    "anthropic": ProviderSettings(base_url="https://api.anthropic.com", api_key="${ANTHROPIC_API_KEY}"),
}
_PROTOCOL_TYPES = {"openai": ("openai", "azure"), "anthropic": ("anthropic",)}


@dataclass(frozen=True, slots=True)
class Upstream:
    """A configured provider endpoint, with its secret resolved."""

    name: str
    type: str
    base_url: str
    api_key: str | None
    api_version: str | None
    headers: tuple[tuple[str, str], ...]
    timeout: float
    self_hosted: bool
    pricing_provider: str
    models: tuple[str, ...]

    def url(self, suffix: str, model: str) -> str:
        """The full upstream URL for an OpenAI-style ``suffix`` such as ``/chat/completions``."""
        if self.type == "azure":
            version = self.api_version or "2024-10-21"
            return f"{self.base_url}/openai/deployments/{model}{suffix}?api-version={version}"
        if self.type == "anthropic":
            return f"{self.base_url}/v1{suffix}"
        return f"{self.base_url}{suffix}"


@dataclass(frozen=True, slots=True)
class Target:
    """One upstream and the model name to send it."""

    upstream: Upstream
    model: str


def _upstream(name: str, cfg: ProviderSettings) -> Upstream:
    kind = cfg.type or (name if name in ("openai", "anthropic", "azure") else "openai")
    key = cfg.api_key
    if key and key.startswith("${") and key[2:-1] not in os.environ:
        key = None  # unset: the client's own credential is passed through (local mode)
    else:
        key = resolve_secret(key)
    pricing = cfg.pricing_provider or ("azure" if kind == "azure" else name)
    return Upstream(
        name=name,
        type=kind,
        base_url=cfg.base_url,
        api_key=key,
        api_version=cfg.api_version,
        headers=tuple(cfg.headers.items()),
        timeout=cfg.timeout,
        self_hosted=cfg.self_hosted,
        pricing_provider=pricing,
        models=tuple(cfg.models),
    )


class Router:
    """Resolves (protocol, model) to an ordered list of targets."""

    def __init__(self, settings: Settings, catalog: Any | None = None) -> None:
        self.upstreams = {name: _upstream(name, cfg) for name, cfg in settings.providers.items()}
        for (
            name,
            cfg,
        ) in DEFAULT_UPSTREAMS.items():  # a protocol nobody configured goes to the provider itself
            if not any(u.type in _PROTOCOL_TYPES[name] for u in self.upstreams.values()):
                self.upstreams[name] = _upstream(name, cfg)
        self.aliases = dict(settings.gateway.aliases)
        self.fallbacks = {k: list(v) for k, v in settings.gateway.fallbacks.items()}
        self.catalog = catalog
        self._cache: dict[tuple[str, str], list[Target]] = {}

    def _one(self, protocol: str, model: str) -> Target | None:
        kinds = _PROTOCOL_TYPES[protocol]
        head, sep, tail = model.partition("/")
        if sep and head in self.upstreams and self.upstreams[head].type in kinds:
            return Target(self.upstreams[head], tail)
        for upstream in self.upstreams.values():
            if upstream.type in kinds and any(fnmatchcase(model, pat) for pat in upstream.models):
                return Target(upstream, model)
        if self.catalog is not None:
            entry = self.catalog.resolve(model)
            if entry is not None:
                for upstream in self.upstreams.values():
                    if upstream.type in kinds and entry.provider in (
                        upstream.name,
                        upstream.pricing_provider,
                    ):
                        return Target(upstream, model)
        default = self.upstreams.get(protocol)
        if default is not None and default.type in kinds:
            return Target(default, model)
        return next((Target(u, model) for u in self.upstreams.values() if u.type in kinds), None)

    def targets(self, protocol: str, model: str) -> list[Target]:
        """Primary target first, then fallbacks (deduplicated)."""
        key = (protocol, model)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        resolved = self.aliases.get(model, model)
        out: list[Target] = []
        for name in [resolved, *self.fallbacks.get(model, []), *self.fallbacks.get(resolved, [])]:
            target = self._one(protocol, self.aliases.get(name, name))
            if target is not None and target not in out:
                out.append(target)
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[key] = out
        return out
