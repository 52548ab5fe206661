"""Validated shapes of price data: the shipped YAML files and the ``prices:`` / ``discounts:`` sections of aifinops.yaml.

Every number goes through :func:`aifinops.core.money.to_decimal` (floats via ``repr``), never ``Decimal(float)``.
Token prices are USD per 1M tokens; ``web_search`` is USD per request; GPU prices are USD per instance-hour.
Problems are collected for the whole section and raised as one :class:`~aifinops.core.errors.ConfigError` whose
message names the section, index and field (``prices[2].output: Input should be a valid number``) and whose
``details`` lists every problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from aifinops.core.errors import ConfigError
from aifinops.core.money import to_decimal

__all__ = [
    "TOKEN_CLASSES",
    "TOKEN_MODES",
    "RatesSpec",
    "LongContextSpec",
    "ModelPriceSpec",
    "GpuPriceSpec",
    "DiscountSpec",
    "parse_prices",
    "parse_discounts",
    "to_utc",
]

#: Billable token classes, in display order (the record's disjoint classes; reasoning is inside output).
TOKEN_CLASSES = ("input", "cached_input", "cache_write_5m", "cache_write_1h", "output")
#: Pricing modes a model entry may carry besides the top-level on-demand rates.
TOKEN_MODES = ("batch", "flex", "priority", "provisioned", "reserved")


def _money(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        number = to_decimal(value)
    except ValueError:
        raise PydanticCustomError("number", "Input should be a valid number") from None
    if number < 0:
        raise PydanticCustomError("non_negative", "Input should be greater than or equal to 0")
    return number


def to_utc(value: Any) -> datetime | None:
    """A date, datetime or ISO string as an aware UTC datetime (a date means its midnight UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            raise PydanticCustomError(
                "date", "Input should be a date (YYYY-MM-DD) or an ISO 8601 datetime"
            ) from None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise PydanticCustomError("date", "Input should be a date (YYYY-MM-DD) or an ISO 8601 datetime")


def _text(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if not value:
            raise PydanticCustomError("empty", "Input should be a non-empty string")
    return value


Money = Annotated[Decimal, BeforeValidator(_money)]
When = Annotated[datetime, BeforeValidator(to_utc)]
Name = Annotated[str, BeforeValidator(_text)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RatesSpec(_Spec):
    """Per-class token prices for one pricing mode, USD per 1M tokens. A missing class has no price."""

    input: Money | None = None
    cached_input: Money | None = None
    cache_write_5m: Money | None = None
    cache_write_1h: Money | None = None
    output: Money | None = None

    def class_prices(self) -> dict[str, Decimal]:
        """The classes that have a price."""
        return {c: getattr(self, c) for c in TOKEN_CLASSES if getattr(self, c) is not None}


class LongContextSpec(RatesSpec):
    """Rates for requests whose input exceeds ``threshold`` tokens (on-demand at top level, other modes nested)."""

    threshold: int = Field(gt=0)
    batch: RatesSpec | None = None
    flex: RatesSpec | None = None
    priority: RatesSpec | None = None


class _Dated(_Spec):
    effective_from: When | None = None
    effective_to: When | None = None
    source: str | None = None
    as_of: date | None = None
    checked: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> _Dated:
        if self.effective_from and self.effective_to and self.effective_to <= self.effective_from:
            raise PydanticCustomError("date_order", "effective_to must be after effective_from")
        return self


class ModelPriceSpec(RatesSpec, _Dated):
    """One model's effective-dated prices (a shipped entry or a user ``prices:`` item)."""

    provider: Name
    model: Name
    kind: Literal["chat", "embedding", "completion", "other"] = "chat"
    aliases: list[Name] = Field(default_factory=list)
    batch: RatesSpec | None = None
    flex: RatesSpec | None = None
    priority: RatesSpec | None = None
    provisioned: RatesSpec | None = None
    reserved: RatesSpec | None = None
    long_context: LongContextSpec | None = None
    web_search: Money | None = None

    @model_validator(mode="after")
    def _has_a_price(self) -> ModelPriceSpec:
        modes = [getattr(self, m) for m in TOKEN_MODES]
        if (
            not self.class_prices()
            and not any(m is not None and m.class_prices() for m in modes)
            and self.web_search is None
        ):
            raise PydanticCustomError(
                "no_price", "a price entry needs at least one of input, cached_input, output, ..."
            )
        return self


class GpuPriceSpec(_Dated):
    """GPU list prices per instance-hour; per-GPU-hour = instance price / gpu_count."""

    provider: Name
    gpu_type: Name
    instance_type: Name | None = None
    gpu_count: int = Field(default=1, ge=1)
    region: str | None = None
    on_demand_hour: Money | None = None
    reserved_hour: Money | None = None
    spot_hour: Money | None = None

    @model_validator(mode="after")
    def _has_a_price(self) -> GpuPriceSpec:
        if self.on_demand_hour is None and self.reserved_hour is None and self.spot_hour is None:
            raise PydanticCustomError(
                "no_price", "a GPU price needs on_demand_hour, reserved_hour or spot_hour"
            )
        return self


class DiscountSpec(_Spec):
    """A negotiated discount: ``percent`` off list, for a provider, optionally only models matching a glob."""

    provider: Name
    model: Name | None = None
    percent: Money
    effective_from: When | None = None
    effective_to: When | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _check(self) -> DiscountSpec:
        if not Decimal(0) < self.percent <= Decimal(100):
            raise PydanticCustomError("percent", "percent must be greater than 0 and at most 100")
        if self.effective_from and self.effective_to and self.effective_to <= self.effective_from:
            raise PydanticCustomError("date_order", "effective_to must be after effective_from")
        return self


def _where(section: str, index: int, loc: tuple[int | str, ...]) -> str:
    path = f"{section}[{index}]"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _problems(section: str, index: int, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        out.append(f"{_where(section, index, loc)}: {err['msg']}")
    return out


def _raise(problems: list[str], what: str) -> None:
    if problems:
        head = "; ".join(problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ConfigError(f"invalid {what}: {head}{more}", details=list(problems))


def _items(section: str, items: Iterable[Any] | None) -> list[Any]:
    if items is None:
        return []
    if isinstance(items, Mapping | str | bytes) or not isinstance(items, Iterable):
        raise ConfigError(
            f"{section}: Input should be a list", details=[f"{section}: Input should be a list"]
        )
    return list(items)


def parse_prices(
    items: Iterable[Any] | None,
    *,
    section: str = "prices",
    defaults: Mapping[str, Any] | None = None,
) -> tuple[list[ModelPriceSpec], list[GpuPriceSpec]]:
    """Validate a ``prices:`` list: items with ``gpu_type`` are GPU prices, the others model prices."""
    models: list[ModelPriceSpec] = []
    gpus: list[GpuPriceSpec] = []
    problems: list[str] = []
    for i, item in enumerate(_items(section, items)):
        if not isinstance(item, Mapping):
            problems.append(f"{section}[{i}]: Input should be a mapping")
            continue
        data = {**(defaults or {}), **item}
        try:
            if "gpu_type" in data or "instance_type" in data:
                gpus.append(GpuPriceSpec.model_validate(data))
            else:
                models.append(ModelPriceSpec.model_validate(data))
        except ValidationError as exc:
            problems.extend(_problems(section, i, exc))
    _raise(problems, section)
    return models, gpus


def parse_discounts(items: Iterable[Any] | None, *, section: str = "discounts") -> list[DiscountSpec]:
    """Validate a ``discounts:`` list."""
    out: list[DiscountSpec] = []
    problems: list[str] = []
    for i, item in enumerate(_items(section, items)):
        if not isinstance(item, Mapping):
            problems.append(f"{section}[{i}]: Input should be a mapping")
            continue
        try:
            out.append(DiscountSpec.model_validate(dict(item)))
        except ValidationError as exc:
            problems.extend(_problems(section, i, exc))
    _raise(problems, section)
    return out
