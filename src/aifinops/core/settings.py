"""Settings: ``aifinops.yaml`` (policy as code), validated with errors that name file, line and field.

Precedence: command-line flags > environment (``AIFINOPS_CONFIG``, ``AIFINOPS_DATA_DIR``) > the YAML file > defaults.
Secrets are references such as ``${OPENAI_API_KEY}``: kept as written, resolved only when used
(:func:`resolve_secret`), never stored, logged or returned.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aifinops.core.errors import ConfigError

__all__ = ["Settings", "ReportingSettings", "load_settings", "resolve_secret", "DEFAULT_SOURCE_PRIORITY"]

#: Sources that see the same provider spend, most detailed first. Reports read one of them per
#: provider and day (the first present); sources not listed here never compete.
DEFAULT_SOURCE_PRIORITY = (
    "gateway",
    "otlp",
    "openai-usage",
    "anthropic-usage",
    "openai-costs",
    "anthropic-costs",
)

_SECRET = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportingSettings(_Section):
    """How reports read the ledger."""

    source_priority: list[str] = Field(default_factory=lambda: list(DEFAULT_SOURCE_PRIORITY))
    cost_column: str = "effective_cost"

    @field_validator("cost_column")
    @classmethod
    def _cost_column(cls, value: str) -> str:
        if value not in ("list_cost", "effective_cost", "billed_cost"):
            raise ValueError("must be one of list_cost, effective_cost, billed_cost")
        return value


class Settings(_Section):
    """The whole of ``aifinops.yaml``. Every section is optional; an empty file is valid."""

    currency: str = "USD"
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    keys: list[dict[str, Any]] = Field(default_factory=list)
    prices: list[dict[str, Any]] = Field(default_factory=list)
    discounts: list[dict[str, Any]] = Field(default_factory=list)
    budgets: list[dict[str, Any]] = Field(default_factory=list)
    rate_limits: list[dict[str, Any]] = Field(default_factory=list)
    models: list[dict[str, Any]] = Field(default_factory=list)
    agents: list[dict[str, Any]] = Field(default_factory=list)
    allocation: dict[str, Any] = Field(default_factory=dict)
    alerts: dict[str, Any] = Field(default_factory=dict)
    reporting: ReportingSettings = Field(default_factory=ReportingSettings)
    redis_url: str | None = None

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
    """Parse and validate settings from YAML text."""
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
            f"invalid configuration: {details[0]}" + (f" (+{len(details) - 1} more)" if len(details) > 1 else ""),
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
