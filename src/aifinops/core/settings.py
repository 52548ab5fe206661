"""Settings: ``aifinops.yaml`` (policy as code), validated with errors that name file, line and field.

Precedence: command-line flags > environment (``AIFINOPS_CONFIG``, ``AIFINOPS_DATA_DIR``) > the YAML file > defaults.
Secrets are references such as ``${OPENAI_API_KEY}``: kept as written, resolved only when used
(:func:`resolve_secret`), never stored, logged or returned.
"""

from __future__ import annotations

import os
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from aifinops.core.errors import ConfigError
from aifinops.core.policy import AgentCap, BudgetRule, GuardrailSettings, ModelRule, RateLimitRule
from aifinops.core.section import Section
from aifinops.core.settings_access import AccessSettings
from aifinops.core.settings_alerts import AlertSettings, AnomalySettings
from aifinops.core.settings_allocation import AllocationSettings
from aifinops.core.settings_gpu import GpuSettings, TrainingSettings
from aifinops.core.settings_value import ValueSettings

__all__ = [
    "Settings",
    "ReportingSettings",
    "ProviderSettings",
    "KeySettings",
    "GatewaySettings",
    "CacheSettings",
    "OtlpSettings",
    "load_settings",
    "resolve_secret",
    "DEFAULT_SOURCE_PRIORITY",
]

#: Sources that see the same provider spend, most detailed first. Reports read one of them per
#: provider and day (the first present); sources not listed here never compete.
DEFAULT_SOURCE_PRIORITY = (
    "gateway",
    "otlp",
    "otlp-metrics",
    "openai-usage",
    "anthropic-usage",
    "openai-costs",
    "anthropic-costs",
)

_BARE_SECRET = re.compile(r"(?<![\'\"\w$])\$\{([A-Za-z_][A-Za-z0-9_]*)\}(?![\'\"\w])")
_SECRET = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


_Section = Section


class LedgerSettings(_Section):
    """The embedded ledger (DuckDB)."""

    memory_limit: str = "256MB"

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, value: str) -> str:
        if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", value, re.IGNORECASE):
            raise ValueError("a size such as 512MB or 2GB")
        return value.strip()


class ReconcileSettings(_Section):
    """When a metered-vs-reported difference is flagged: above both the amount and the percent."""

    tolerance_amount: Decimal = Field(default=Decimal("0.01"), ge=0)
    tolerance_percent: Decimal = Field(default=Decimal("1"), ge=0)


class ReportingSettings(_Section):
    """How reports read the ledger."""

    source_priority: list[str] = Field(default_factory=lambda: list(DEFAULT_SOURCE_PRIORITY))
    cost_column: str = "effective_cost"
    cache_seconds: int = Field(default=60, ge=0, le=86_400)  # API response cache TTL under `serve`; 0 = off
    reconcile: ReconcileSettings = Field(default_factory=ReconcileSettings)

    @field_validator("cost_column")
    @classmethod
    def _cost_column(cls, value: str) -> str:
        if value not in ("list_cost", "effective_cost", "billed_cost"):
            raise ValueError("must be one of list_cost, effective_cost, billed_cost")
        return value


class ProviderSettings(_Section):
    """One gateway upstream. ``type`` defaults from the name (openai, anthropic, azure), else openai."""

    type: Literal["openai", "anthropic", "azure"] | None = None
    base_url: str
    api_key: str | None = None
    api_version: str | None = None
    models: list[str] = Field(default_factory=list)
    timeout: float = Field(default=600.0, gt=0)
    headers: dict[str, str] = Field(default_factory=dict)
    self_hosted: bool = False
    pricing_provider: str | None = None

    @field_validator("api_version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value  # YAML reads 2024-10-21 as a date

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class KeySettings(_Section):
    """A gateway virtual key and the attribution it carries. ``key`` is a ``${ENV}`` reference, a literal,
    or ``sha256:<hex>`` (the key's hash, so the key itself need not be anywhere on disk)."""

    name: str
    key: str
    team: str | None = None
    project: str | None = None
    product: str | None = None
    feature: str | None = None
    customer: str | None = None
    environment: str | None = None
    use_case: str | None = None
    user: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    allow_overrides: bool = False


class CacheSettings(_Section):
    """Exact-match response cache: opt-in per model (glob) or route."""

    models: list[str] = Field(default_factory=list)
    routes: list[str] = Field(default_factory=list)
    ttl_seconds: float = Field(default=300.0, gt=0)
    max_entries: int = Field(default=10_000, gt=0)


class GatewaySettings(_Section):
    """The metering gateway."""

    require_key: bool | None = None
    aliases: dict[str, str] = Field(default_factory=dict)
    fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    wal_fsync: bool = False
    max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0)


class FleetSettings(_Section):
    """Several gateway processes: where their records go, and the shared secret they present."""

    ledger_url: str | None = None
    token: str | None = None


#: Record fields an OTLP attribute can set; any other target is written ``tag:KEY``.
_OTLP_FIELDS = ("team", "project", "product", "feature", "customer", "environment", "use_case", "user")


class OtlpSettings(_Section):
    """The OTLP/HTTP receiver (``/v1/traces``, ``/v1/metrics``).

    ``port``: also listen on this port (4318 is the OTLP/HTTP standard), besides the server's own.
    ``attribute_map``: span or resource attribute -> record field (``team``, ``project``, ...) or ``tag:KEY``;
    it adds to and overrides the defaults (``service.name`` -> project, ``deployment.environment.name`` ->
    environment, ``aifinops.<field>`` -> that field). A span attribute wins over a resource attribute.
    ``fsync``: answered exports wait in a spool file until stored; fsync it too (slower; survives power loss).
    """

    port: int | None = Field(default=None, ge=1, le=65535)
    attribute_map: dict[str, str] = Field(default_factory=dict)
    max_body_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    fsync: bool = False  # fsync each answered export's spool file (also survives power loss)

    @field_validator("attribute_map")
    @classmethod
    def _targets(cls, value: dict[str, str]) -> dict[str, str]:
        for attribute, target in value.items():
            if target in _OTLP_FIELDS:
                continue
            if not (target.startswith("tag:") and len(target) > 4):
                raise ValueError(
                    f"{attribute}: target {target!r} must be one of {', '.join(_OTLP_FIELDS)} or tag:KEY"
                )
        return value


class Settings(_Section):
    """The whole of ``aifinops.yaml``. Every section is optional; an empty file is valid."""

    currency: str = "USD"
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    keys: list[KeySettings] = Field(default_factory=list)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    prices: list[dict[str, Any]] = Field(default_factory=list)
    discounts: list[dict[str, Any]] = Field(default_factory=list)
    budgets: list[BudgetRule] = Field(default_factory=list)
    rate_limits: list[RateLimitRule] = Field(default_factory=list)
    models: list[ModelRule] = Field(default_factory=list)
    agents: list[AgentCap] = Field(default_factory=list)
    guardrails: GuardrailSettings = Field(default_factory=GuardrailSettings)
    fleet: FleetSettings = Field(default_factory=FleetSettings)
    allocation: AllocationSettings = Field(default_factory=AllocationSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    anomaly: AnomalySettings = Field(default_factory=AnomalySettings)
    gpus: GpuSettings = Field(default_factory=GpuSettings)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    value: ValueSettings = Field(default_factory=ValueSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    reporting: ReportingSettings = Field(default_factory=ReportingSettings)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    otlp: OtlpSettings = Field(default_factory=OtlpSettings)
    redis_url: str | None = None
    redis_prefix: str = "aifinops:"

    @model_validator(mode="after")
    def _unique_budget_names(self) -> Settings:
        names = [b.name for b in self.budgets]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"budget names must be unique: {', '.join(dupes)}")
        return self

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{3}", value):
            raise ValueError("must be a 3-letter ISO 4217 code such as USD")
        return value.upper()


def resolve_secret(value: str | None) -> str | None:
    """Resolve a ``${ENV_VAR}`` reference; plain values are returned as they are."""
    if value is None:
        return None
    match = _SECRET.match(value.strip())
    if not match:
        return value
    name = match.group(1)
    if name not in os.environ:
        raise ConfigError(f"environment variable {name} is referenced in the config but not set")
    return os.environ[name]


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (or of its nearest existing parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if match is None:
                key = next((k for k, _ in node.value if getattr(k, "value", None) == str(part)), None)
                return key.start_mark.line + 1 if key is not None else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _format_loc(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def parse_settings(text: str, *, name: str = "aifinops.yaml") -> Settings:
    """Parse and validate settings from YAML text.

    Bare ``${ENV}`` references are quoted first, so that they work inside flow mappings
    (``{api_key: ${OPENAI_API_KEY}}``) as INTERFACE.md writes them.
    """
    text = _BARE_SECRET.sub(r'"${\1}"', text)
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{name}:1: the top level must be a mapping of sections, got {type(data).__name__}")
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        details = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = _line_of(node, loc)
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown setting" + (
                    f" (allowed sections: {', '.join(Settings.model_fields)})" if len(loc) == 1 else ""
                )
            details.append(f"{name}:{line}: {_format_loc(loc)}: {msg}")
        raise ConfigError(
            f"invalid configuration: {details[0]}"
            + (f" (+{len(details) - 1} more)" if len(details) > 1 else ""),
            details=details,
        ) from None


def load_settings(path: Path | None) -> Settings:
    """Load ``aifinops.yaml``; a missing default file means all defaults."""
    if path is None:
        return Settings()
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    return parse_settings(text, name=str(path))
