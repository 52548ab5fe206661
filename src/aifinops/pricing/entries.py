"""Catalog entries as fast immutable objects, built from validated specs.

``price_id`` format (stable; stored on every priced record):

- shipped model price: ``{provider}/{model}@{effective_from:YYYY-MM-DD}``, e.g. ``openai/gpt-4o@2024-10-02``
- shipped GPU price: ``{cloud}/{instance_type}@{date}``, e.g. ``aws/p5.48xlarge@2025-06-01``
  (``{cloud}/{gpu_type}@{date}`` when no instance type is given)
- user prices from aifinops.yaml carry a ``user:`` prefix: ``user:openai/ft:gpt-4o-mini:acme@2026-01-01``;
  a user price without ``effective_from`` has no ``@date`` part; a time other than midnight UTC is written in full.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from fnmatch import fnmatchcase

from aifinops.pricing.gpu import normalize_gpu_type
from aifinops.pricing.names import canonical_cloud, canonical_provider
from aifinops.pricing.schema import (
    TOKEN_CLASSES,
    TOKEN_MODES,
    DiscountSpec,
    GpuPriceSpec,
    ModelPriceSpec,
    RatesSpec,
)

__all__ = ["Rates", "ModelPrice", "GpuPrice", "Discount", "GPU_MODES", "model_price", "gpu_price", "discount"]

#: Pricing modes a GPU price has rates for.
GPU_MODES = ("on_demand", "reserved", "spot")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per 1M tokens for each token class in one pricing mode and context tier (None: no price)."""

    input: Decimal | None = None
    cached_input: Decimal | None = None
    cache_write_5m: Decimal | None = None
    cache_write_1h: Decimal | None = None
    output: Decimal | None = None

    def get(self, token_class: str) -> Decimal | None:
        """The price of one token class."""
        return getattr(self, token_class)

    def as_dict(self) -> dict[str, Decimal]:
        """The classes that have a price, in display order."""
        return {c: getattr(self, c) for c in TOKEN_CLASSES if getattr(self, c) is not None}


@dataclass(frozen=True, slots=True, eq=False)
class ModelPrice:
    """One effective-dated price entry of a model."""

    price_id: str
    provider: str
    model: str
    kind: str
    effective_from: datetime
    effective_to: datetime | None
    rates: Mapping[str, Rates]
    long_context_threshold: int | None
    long_context: Mapping[str, Rates]
    web_search: Decimal | None
    aliases: tuple[str, ...] = ()
    source: str | None = None
    as_of: date | None = None
    checked: str | None = None
    note: str | None = None
    origin: str = "shipped"


@dataclass(frozen=True, slots=True, eq=False)
class GpuPrice:
    """List prices of one GPU instance type (or of a GPU type), USD per instance-hour."""

    price_id: str
    provider: str
    gpu_type: str
    instance_type: str | None
    gpu_count: int
    region: str | None
    on_demand_hour: Decimal | None
    reserved_hour: Decimal | None
    spot_hour: Decimal | None
    effective_from: datetime
    effective_to: datetime | None
    source: str | None = None
    as_of: date | None = None
    checked: str | None = None
    note: str | None = None
    origin: str = "shipped"

    def instance_hour(self, mode: str) -> Decimal | None:
        """The instance-hour rate for a pricing mode (on_demand, reserved, spot), or None."""
        return {"on_demand": self.on_demand_hour, "reserved": self.reserved_hour, "spot": self.spot_hour}.get(
            mode
        )

    def per_gpu_hour(self, mode: str) -> Decimal | None:
        """The rate for one GPU for one hour: the instance rate divided by the instance's GPU count."""
        rate = self.instance_hour(mode)
        return None if rate is None else rate / self.gpu_count


@dataclass(frozen=True, slots=True, eq=False)
class Discount:
    """A negotiated discount off list price; the most specific matching one applies (they never stack)."""

    discount_id: str
    providers: frozenset[str]
    model: str | None
    percent: Decimal
    effective_from: datetime
    effective_to: datetime | None
    note: str | None = None

    @property
    def rank(self) -> tuple[int, int, datetime]:
        """Specificity: a model glob beats provider-wide, a longer literal glob beats a shorter one."""
        literal = len(self.model.replace("*", "").replace("?", "")) if self.model else 0
        return (1 if self.model else 0, literal, self.effective_from)

    def applies(self, provider: str, names: Iterable[str | None], at: datetime) -> bool:
        """Whether this discount covers ``provider`` and one of the model ``names`` at time ``at``."""
        if provider not in self.providers or at < self.effective_from:
            return False
        if self.effective_to is not None and at >= self.effective_to:
            return False
        if self.model is None:
            return True
        return any(n and fnmatchcase(n.lower(), self.model) for n in names)

    def factor(self) -> Decimal:
        """Multiplier from list to effective cost."""
        return 1 - self.percent / 100


def _stamp(when: datetime | None) -> str:
    if when is None:
        return ""
    if when.hour == when.minute == when.second == when.microsecond == 0:
        return "@" + when.strftime("%Y-%m-%d")
    return "@" + when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _rates(spec: RatesSpec | None) -> Rates | None:
    if spec is None or not spec.class_prices():
        return None
    return Rates(**spec.class_prices())


def model_price(spec: ModelPriceSpec, *, origin: str = "shipped") -> ModelPrice:
    """Build a catalog entry from a validated spec."""
    provider = canonical_provider(spec.provider) or spec.provider
    rates: dict[str, Rates] = {}
    base = _rates(spec)
    if base is not None:
        rates["on_demand"] = base
    for mode in TOKEN_MODES:
        r = _rates(getattr(spec, mode))
        if r is not None:
            rates[mode] = r
    long_context: dict[str, Rates] = {}
    threshold = None
    if spec.long_context is not None:
        threshold = spec.long_context.threshold
        lc_base = _rates(spec.long_context)
        if lc_base is not None:
            long_context["on_demand"] = lc_base
        for mode in ("batch", "flex", "priority"):
            r = _rates(getattr(spec.long_context, mode))
            if r is not None:
                long_context[mode] = r
    prefix = "user:" if origin == "user" else ""
    return ModelPrice(
        price_id=f"{prefix}{provider}/{spec.model}{_stamp(spec.effective_from)}",
        provider=provider,
        model=spec.model,
        kind=spec.kind,
        effective_from=spec.effective_from or _EPOCH,
        effective_to=spec.effective_to,
        rates=rates,
        long_context_threshold=threshold,
        long_context=long_context,
        web_search=spec.web_search,
        aliases=tuple(spec.aliases),
        source=spec.source,
        as_of=spec.as_of,
        checked=spec.checked,
        note=spec.note,
        origin=origin,
    )


def gpu_price(spec: GpuPriceSpec, *, origin: str = "shipped") -> GpuPrice:
    """Build a GPU price from a validated spec."""
    provider = canonical_cloud(spec.provider) or spec.provider
    what = spec.instance_type or spec.gpu_type
    prefix = "user:" if origin == "user" else ""
    return GpuPrice(
        price_id=f"{prefix}{provider}/{what}{_stamp(spec.effective_from)}",
        provider=provider,
        gpu_type=normalize_gpu_type(spec.gpu_type) or spec.gpu_type,
        instance_type=spec.instance_type,
        gpu_count=spec.gpu_count,
        region=spec.region,
        on_demand_hour=spec.on_demand_hour,
        reserved_hour=spec.reserved_hour,
        spot_hour=spec.spot_hour,
        effective_from=spec.effective_from or _EPOCH,
        effective_to=spec.effective_to,
        source=spec.source,
        as_of=spec.as_of,
        checked=spec.checked,
        note=spec.note,
        origin=origin,
    )


def discount(spec: DiscountSpec) -> Discount:
    """Build a discount from a validated spec; its provider matches LLM and cloud spellings alike."""
    raw = spec.provider.strip().lower()
    providers = frozenset(p for p in (raw, canonical_provider(raw), canonical_cloud(raw)) if p)
    model = spec.model.lower() if spec.model else None
    pct = format(spec.percent.normalize(), "f")
    return Discount(
        discount_id=f"{raw}/{model or '*'}-{pct}%{_stamp(spec.effective_from)}",
        providers=providers,
        model=model,
        percent=spec.percent,
        effective_from=spec.effective_from or _EPOCH,
        effective_to=spec.effective_to,
        note=spec.note,
    )
