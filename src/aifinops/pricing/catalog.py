"""The price catalog: shipped list prices plus the user's prices and discounts, indexed for fast lookup.

Effective dating: each model (and each GPU instance type) has a timeline of entries. At time ``at`` a user price
from aifinops.yaml wins from its ``effective_from`` on (until its ``effective_to``, if any); otherwise the shipped
entry with the latest ``effective_from`` at or before ``at`` applies, and the earliest shipped entry also covers
any earlier time (it is the oldest price known). Dates are midnight UTC.

Lookups are cached per (model, provider) spelling, so a hit costs two dict lookups and a date comparison.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from aifinops.core.errors import ConfigError
from aifinops.pricing.entries import (
    Discount,
    GpuPrice,
    ModelPrice,
    discount,
    gpu_price,
    model_price,
)
from aifinops.pricing.gpu import normalize_gpu_type
from aifinops.pricing.names import (
    PROVIDER_FALLBACK,
    PROVIDER_PRIORITY,
    candidates,
    canonical_cloud,
    canonical_provider,
    split_model,
    strip_version,
)
from aifinops.pricing.schema import parse_discounts, parse_prices

__all__ = ["Catalog", "shipped_catalog", "load_catalog", "DATA_DIR"]

DATA_DIR = Path(__file__).with_name("data")
_GPU_FILE = "gpu.yaml"
_CACHE_MAX = 20_000
_MISS = object()
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Timeline:
    """The dated entries of one model (or GPU), user and shipped kept apart."""

    __slots__ = ("key", "user", "shipped")

    def __init__(self, key: tuple[str, str]) -> None:
        self.key = key
        self.user: list[Any] = []
        self.shipped: list[Any] = []

    def sort(self) -> None:
        self.user.sort(key=lambda e: e.effective_from)
        self.shipped.sort(key=lambda e: e.effective_from)

    def pick_user(self, at: datetime) -> Any:
        for entry in reversed(self.user):
            if entry.effective_from <= at and (entry.effective_to is None or at < entry.effective_to):
                return entry
        return None

    def pick_shipped(self, at: datetime) -> Any:
        shipped = self.shipped
        if not shipped:
            return None
        entry = shipped[0]
        for later in reversed(shipped):
            if later.effective_from <= at:
                entry = later
                break
        return entry if entry.effective_to is None or at < entry.effective_to else None

    def pick(self, at: datetime) -> Any:
        if self.user:
            found = self.pick_user(at)
            if found is not None:
                return found
        return self.pick_shipped(at)

    def entries(self) -> list[Any]:
        return sorted(self.shipped + self.user, key=lambda e: (e.effective_from, e.origin == "user"))


def _when(at: datetime | date | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if not isinstance(at, datetime):
        return datetime(at.year, at.month, at.day, tzinfo=UTC)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


class Catalog:
    """Effective-dated model prices, GPU prices and discounts. Immutable once built."""

    def __init__(
        self,
        models: Iterable[ModelPrice] = (),
        gpus: Iterable[GpuPrice] = (),
        discounts: Iterable[Discount] = (),
    ) -> None:
        self.models: tuple[ModelPrice, ...] = tuple(models)
        self.gpus: tuple[GpuPrice, ...] = tuple(gpus)
        self.discounts: tuple[Discount, ...] = tuple(discounts)
        self._names: dict[tuple[str, str], _Timeline] = {}
        self._global: dict[str, _Timeline] = {}
        self._cache: dict[tuple[str, str | None], _Timeline | None] = {}
        self._gpu_inst: dict[tuple[str, str], _Timeline] = {}
        self._gpu_inst_any: dict[str, _Timeline] = {}
        self._gpu_type: dict[tuple[str, str], _Timeline] = {}
        self._index_models()
        self._index_gpus()

    # ---- building
    def _index_models(self) -> None:
        timelines: dict[tuple[str, str], _Timeline] = {}
        shipped = [m for m in self.models if m.origin != "user"]
        for m in shipped:
            key = (m.provider, m.model.lower())
            timelines.setdefault(key, _Timeline(key)).shipped.append(m)
        self._names.update(timelines)
        for m in shipped:
            tl = timelines[(m.provider, m.model.lower())]
            for alias in m.aliases:
                self._names.setdefault((m.provider, alias.lower()), tl)
        for m in shipped:  # Bedrock ids also answer without their version suffix (``-v1:0``)
            if m.provider == "bedrock":
                tl = timelines[(m.provider, m.model.lower())]
                for name in (m.model, *m.aliases):
                    bare = strip_version(name.lower())
                    if bare != name.lower():
                        self._names.setdefault((m.provider, bare), tl)
        for m in self.models:
            if m.origin != "user":
                continue
            key = (m.provider, m.model.lower())
            tl = self._names.get(key)
            if tl is None:
                tl = self._names[key] = _Timeline(key)
            tl.user.append(m)
            for alias in m.aliases:
                self._names.setdefault((m.provider, alias.lower()), tl)
        for tl in set(self._names.values()):
            tl.sort()
        providers = {p for p, _ in self._names}
        order = [*PROVIDER_PRIORITY, *sorted(providers - {*PROVIDER_PRIORITY, "azure"}), "azure"]
        by_provider: dict[str, list[tuple[str, _Timeline]]] = {}
        for (provider, name), tl in self._names.items():
            by_provider.setdefault(provider, []).append((name, tl))
        for provider in order:
            for name, tl in by_provider.get(provider, ()):
                self._global.setdefault(name, tl)

    def _index_gpus(self) -> None:
        for g in self.gpus:
            user = g.origin == "user"
            if g.instance_type:
                key = (g.provider, g.instance_type.lower())
                tl = self._gpu_inst.setdefault(key, _Timeline(key))
                self._gpu_inst_any.setdefault(key[1], tl)
                (tl.user if user else tl.shipped).append(g)
            tkey = (g.provider, g.gpu_type)
            ttl = self._gpu_type.get(tkey)
            if ttl is None:
                ttl = self._gpu_type[tkey] = _Timeline(tkey)
            if user and not g.instance_type:
                ttl.user.append(g)
            elif not user and (not ttl.shipped or ttl.shipped[0].instance_type == g.instance_type):
                ttl.shipped.append(g)  # the first instance listed for a GPU type is its default
        for tl in (*self._gpu_inst.values(), *self._gpu_type.values()):
            tl.sort()

    def with_config(
        self, prices: Iterable[Any] | None = None, discounts: Iterable[Any] | None = None
    ) -> Catalog:
        """A new catalog with the user's ``prices:`` and ``discounts:`` sections (plain lists of dicts) added."""
        problems: list[object] = []
        model_specs, gpu_specs, discount_specs = [], [], []
        try:
            model_specs, gpu_specs = parse_prices(prices)
        except ConfigError as exc:
            problems.extend(exc.details)
        try:
            discount_specs = parse_discounts(discounts)
        except ConfigError as exc:
            problems.extend(exc.details)
        if problems:
            head = "; ".join(str(p) for p in problems[:3])
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            raise ConfigError(f"invalid price configuration: {head}{more}", details=problems)
        return Catalog(
            [*self.models, *(model_price(s, origin="user") for s in model_specs)],
            [*self.gpus, *(gpu_price(s, origin="user") for s in gpu_specs)],
            [*self.discounts, *(discount(s) for s in discount_specs)],
        )

    # ---- models
    def resolve(
        self, model: str, provider: str | None = None, at: datetime | None = None
    ) -> ModelPrice | None:
        """The price entry in force at ``at`` (default now) for a model id in any common spelling, or None."""
        if not model:
            return None
        key = (model, provider)
        tl = self._cache.get(key, _MISS)
        if tl is _MISS:
            tl = self._lookup(model, provider)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[key] = tl
        if tl is None:
            return None
        return tl.pick(_when(at))  # type: ignore[union-attr]

    def history(self, model: str, provider: str | None = None) -> list[ModelPrice]:
        """Every dated entry (shipped and user) of the model ``model`` resolves to, oldest first."""
        tl = self._lookup(model, provider) if model else None
        return tl.entries() if tl is not None else []

    def _lookup(self, model: str, provider: str | None) -> _Timeline | None:
        prefixed, name = split_model(model)
        prov = prefixed or canonical_provider(provider)
        names = candidates(name)
        if prov is None:
            for n in names:
                tl = self._global.get(n)
                if tl is not None:
                    return tl
            return None
        for p in (prov, *PROVIDER_FALLBACK.get(prov, ())):
            for n in names:
                tl = self._names.get((p, n))
                if tl is not None:
                    return tl
        return None

    def names(self) -> list[str]:
        """Every model id and alias the catalog knows (``provider/name`` where the bare name belongs elsewhere)."""
        out = set(self._global)
        for (provider, name), tl in self._names.items():
            if self._global.get(name) is not tl:
                out.add(f"{provider}/{name}")
        return sorted(out)

    # ---- GPUs
    def resolve_gpu(
        self,
        provider: str | None,
        gpu_type: str | None = None,
        instance_type: str | None = None,
        at: datetime | None = None,
    ) -> GpuPrice | None:
        """The GPU price in force at ``at`` for an instance type, else for the cloud's default instance of a GPU type."""
        cloud = canonical_cloud(provider)
        when = _when(at)
        found: list[_Timeline] = []
        if instance_type:
            inst = instance_type.strip().lower()
            tl = self._gpu_inst.get((cloud, inst)) if cloud else self._gpu_inst_any.get(inst)
            if tl is not None:
                found.append(tl)
        gtype = normalize_gpu_type(gpu_type)
        if gtype and cloud:
            tl = self._gpu_type.get((cloud, gtype))
            if tl is not None:
                found.append(tl)
        for tl in found:
            hit = tl.pick_user(when)
            if hit is not None:
                return hit
        for tl in found:
            hit = tl.pick_shipped(when)
            if hit is not None:
                return hit
        return None

    # ---- discounts
    def discount_for(
        self, provider: str, names: Sequence[str | None], at: datetime | None = None
    ) -> Discount | None:
        """The most specific discount covering ``provider`` and one of ``names`` at ``at``; never stacked."""
        when = _when(at)
        best: Discount | None = None
        for d in self.discounts:
            if d.applies(provider, names, when) and (best is None or d.rank > best.rank):
                best = d
        return best


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 (a safe loader)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read price data {path.name}: {exc}") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"price data {path.name}: expected a mapping at the top level")
    return doc


@functools.cache
def shipped_catalog() -> Catalog:
    """The catalog of shipped list prices (loaded and validated once per process)."""
    models: list[ModelPrice] = []
    gpus: list[GpuPrice] = []
    for path in sorted(DATA_DIR.glob("*.yaml")):
        doc = _read_yaml(path)
        if path.name == _GPU_FILE:
            defaults = {k: doc[k] for k in ("as_of", "effective_from", "checked") if k in doc}
            _, specs = parse_prices(doc.get("instances"), section=f"{path.name}:instances", defaults=defaults)
            gpus.extend(gpu_price(s) for s in specs)
            continue
        defaults = {k: doc[k] for k in ("provider", "source", "as_of", "checked") if k in doc}
        specs, _ = parse_prices(doc.get("models"), section=f"{path.name}:models", defaults=defaults)
        models.extend(model_price(s) for s in specs)
    return Catalog(models, gpus)


def load_catalog(prices: Iterable[Any] | None = None, discounts: Iterable[Any] | None = None) -> Catalog:
    """The shipped catalog plus the ``prices:`` and ``discounts:`` sections of aifinops.yaml."""
    base = shipped_catalog()
    if not prices and not discounts:
        return base
    return base.with_config(prices, discounts)
