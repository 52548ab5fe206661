"""Guardrail policy sections of ``aifinops.yaml``: budgets, rate limits, model rules, agent caps.

Every rule has a ``scope``: attribution fields to match, each a value, a glob (``claude-*``) or a list of them.
Keys: ``team``, ``project``, ``product``, ``feature``, ``customer``, ``environment``, ``use_case``, ``user``,
``key`` (the virtual key's name), ``model``, ``provider`` and ``tag:<name>``. An empty scope matches everything.
``per`` (``user``, ``key``, ``team``, ... or ``tag:<name>``) gives each distinct value its own budget, bucket or cap.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aifinops.core.money import to_decimal

__all__ = [
    "SCOPE_KEYS",
    "BudgetRule",
    "RateLimitRule",
    "ModelRule",
    "AgentCap",
    "GuardrailSettings",
]

SCOPE_KEYS = (
    "team",
    "project",
    "product",
    "feature",
    "customer",
    "environment",
    "use_case",
    "user",
    "key",
    "model",
    "provider",
)
Scope = dict[str, str | list[str]]


def _check_scope_key(key: str) -> str:
    if key in SCOPE_KEYS or (key.startswith("tag:") and len(key) > 4):
        return key
    raise ValueError(f"unknown scope key {key!r}; use one of {', '.join(SCOPE_KEYS)} or tag:<name>")


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Scope = Field(default_factory=dict)

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: Scope) -> Scope:
        for key, item in value.items():
            _check_scope_key(key)
            values = item if isinstance(item, list) else [item]
            if not values or not all(isinstance(v, str) and v for v in values):
                raise ValueError(f"scope {key}: values must be non-empty strings")
        return value


class _Per(_Rule):
    per: str | None = None

    @field_validator("per")
    @classmethod
    def _per(cls, value: str | None) -> str | None:
        return None if value is None else _check_scope_key(value)


def _money(value: Any) -> Decimal:
    amount = to_decimal(value, field="amount")
    if amount <= 0:
        raise ValueError("must be greater than 0")
    return amount


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value


class BudgetRule(_Per):
    """``{name, scope, period, amount, hard, alert_at}``; ``period: custom`` takes ``start`` and ``end``."""

    name: str = Field(min_length=1)
    period: Literal["day", "week", "month", "quarter", "year", "custom"] = "month"
    start: datetime | None = None
    end: datetime | None = None
    amount: Decimal
    hard: bool = False
    alert_at: list[float] = Field(default_factory=lambda: [0.5, 0.8, 1.0])

    _amount = field_validator("amount", mode="before")(classmethod(lambda cls, v: _money(v)))
    _times = field_validator("start", "end", mode="before")(classmethod(lambda cls, v: _utc(v)))

    @field_validator("alert_at")
    @classmethod
    def _thresholds(cls, value: list[float]) -> list[float]:
        if any(not 0 < t <= 10 for t in value):
            raise ValueError("thresholds are fractions of the amount, e.g. [0.5, 0.8, 1.0]")
        return sorted(set(value))

    @model_validator(mode="after")
    def _custom(self) -> BudgetRule:
        if self.period == "custom":
            if self.start is None or self.end is None:
                raise ValueError("a custom period needs start and end")
            if self.end <= self.start:
                raise ValueError("end must be after start")
        elif self.start is not None or self.end is not None:
            raise ValueError("start and end apply only to period: custom")
        return self


class RateLimitRule(_Per):
    """Token buckets per scope (and per ``per`` value): requests and tokens per minute and per day."""

    name: str | None = None
    requests_per_minute: int | None = Field(default=None, gt=0)
    tokens_per_minute: int | None = Field(default=None, gt=0)
    requests_per_day: int | None = Field(default=None, gt=0)
    tokens_per_day: int | None = Field(default=None, gt=0)
    burst: float = Field(default=1.0, ge=1.0, le=100.0)

    @model_validator(mode="after")
    def _some_limit(self) -> RateLimitRule:
        if not any(
            (self.requests_per_minute, self.tokens_per_minute, self.requests_per_day, self.tokens_per_day)
        ):
            raise ValueError(
                "set at least one of requests_per_minute, tokens_per_minute, requests_per_day, tokens_per_day"
            )
        return self


class ModelRule(_Rule):
    """Allow and deny lists (globs), routing of denied models to allowed ones, a ``max_tokens`` ceiling."""

    name: str | None = None
    allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)
    route: dict[str, str] = Field(default_factory=dict)
    max_tokens: int | None = Field(default=None, gt=0)
    max_tokens_mode: Literal["clamp", "reject"] = "clamp"


class AgentCap(_Rule):
    """Caps per trace id (one agent workflow): calls, depth, identical retries, dollars."""

    name: str | None = None
    max_calls: int | None = Field(default=None, gt=0)
    max_depth: int | None = Field(default=None, gt=0)
    max_retries: int | None = Field(default=None, ge=0)
    max_cost: Decimal | None = None

    @field_validator("max_cost", mode="before")
    @classmethod
    def _cost(cls, value: Any) -> Any:
        return None if value is None else _money(value)


class GuardrailSettings(BaseModel):
    """Knobs of the guardrail machinery itself (``guardrails:`` section)."""

    model_config = ConfigDict(extra="forbid")

    reservation_ttl_seconds: float = Field(default=900.0, gt=0)
    default_max_output_tokens: int = Field(default=16_384, gt=0)
    agent_ttl_seconds: float = Field(default=86_400.0, gt=0)
    reload_interval_seconds: float = Field(default=2.0, gt=0)
