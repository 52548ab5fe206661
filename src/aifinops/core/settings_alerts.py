"""Config models for ``aifinops.yaml``: AlertSettings (``alerts:``) and AnomalySettings (``anomaly:``).

```yaml
anomaly:
  enabled: true
  resolution: 5m          # how often the server runs the detectors, and the size of their buckets
  min_history_days: 7     # owners with less history are not judged
  sensitivity: 1.0        # > 1 finds more, < 1 finds less
  owner_by: team          # the dimension that owns spend
  min_impact: 1           # excesses smaller than this (ledger currency) are never anomalies
  materiality: 0.1        # ... nor excesses under 10 % of the owner's usual daily spend (see above)
alerts:
  channels:
    ops:     {type: webhook, url: https://ops.example.com/hooks/aifinops}
    search:  {type: slack, url: ${SEARCH_SLACK_WEBHOOK}}
    finance: {type: email, to: [finops@example.com], smtp_host: smtp.example.com, smtp_port: 587,
              starttls: true, username: aifinops, password: ${SMTP_PASSWORD}}
  routes:
    - {owner: search, channels: [search], min_severity: medium}
    - {owner: "*", channels: [ops, finance], min_severity: high}
  severity: {medium: 50, high: 250, critical: 1000}
```
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from aifinops.core.section import Section

__all__ = [
    "AlertSettings",
    "AnomalySettings",
    "ChannelSettings",
    "RouteSettings",
    "SEVERITIES",
    "parse_duration",
]

SEVERITIES = ("low", "medium", "high", "critical")
_DURATION = re.compile(r"^(\d+)\s*(s|m|h)$")


def parse_duration(text: str) -> int:
    """``5m``, ``30s``, ``1h`` to seconds."""
    match = _DURATION.match(str(text).strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not a duration; use e.g. 5m, 15m, 1h")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]


class ChannelSettings(Section):
    """One delivery channel: ``webhook`` (JSON POST), ``slack`` (incoming webhook) or ``email`` (SMTP)."""

    type: Literal["webhook", "slack", "email"]
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    to: list[str] = Field(default_factory=list)
    sender: str = Field(default="aifinops@localhost", alias="from")
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _needs(self) -> ChannelSettings:
        if self.type in ("webhook", "slack"):
            if not self.url:
                raise ValueError(f"a {self.type} channel needs url")
            if not self.url.startswith(("http://", "https://", "${")):
                raise ValueError("url must start with http:// or https://")
        if self.type == "email" and not self.to:
            raise ValueError("an email channel needs to: [addresses]")
        return self


class RouteSettings(Section):
    """Which channels get an owner's alerts (``owner: "*"`` matches every owner), from which severity."""

    owner: str = "*"
    kinds: list[str] = Field(default_factory=list)  # empty: every kind
    channels: list[str] = Field(min_length=1)
    min_severity: Literal["low", "medium", "high", "critical"] = "medium"  # low: every anomaly, however small


class AlertSettings(Section):
    """The ``alerts`` section of aifinops.yaml."""

    channels: dict[str, ChannelSettings] = Field(default_factory=dict)
    routes: list[RouteSettings] = Field(default_factory=list)
    #: dollar impact at which an alert becomes medium, high, critical (below medium: low)
    severity: dict[Literal["medium", "high", "critical"], Decimal] = Field(
        default_factory=lambda: {"medium": Decimal(50), "high": Decimal(250), "critical": Decimal(1000)}
    )
    auto_resolve_hours: float = Field(default=24.0, gt=0)
    budget_alerts: bool = True
    forecast_overrun_probability: float = Field(default=0.8, gt=0, le=1)

    @field_validator("severity")
    @classmethod
    def _ordered(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        levels = [value[k] for k in ("medium", "high", "critical") if k in value]
        if any(v < 0 for v in levels) or levels != sorted(levels):
            raise ValueError("severity thresholds must be non-negative and rise: medium <= high <= critical")
        return value

    @model_validator(mode="after")
    def _known_channels(self) -> AlertSettings:
        for i, route in enumerate(self.routes):
            unknown = [c for c in route.channels if c not in self.channels]
            if unknown:
                raise ValueError(
                    f"routes[{i}]: unknown channel(s) {', '.join(unknown)}; define them under channels"
                )
        return self


class AnomalySettings(Section):
    """The ``anomaly`` section of aifinops.yaml."""

    enabled: bool = True
    resolution: str = "5m"
    min_history_days: float = Field(default=7.0, ge=1, le=60)
    lookback_days: int = Field(default=35, ge=8, le=120)
    sensitivity: float = Field(default=1.0, gt=0, le=10)
    min_impact: Decimal = Decimal(1)
    #: an anomaly is reported once its excess reaches this share of the owner's usual daily spend (or
    #: min_impact, whichever is larger), or a spend excess runs at a pace that would within an hour
    materiality: float = Field(default=0.1, ge=0, le=10)
    owner_by: str = "team"

    @field_validator("resolution")
    @classmethod
    def _resolution(cls, value: str) -> str:
        seconds = parse_duration(value)
        if seconds < 60 or 86400 % seconds:
            raise ValueError("resolution must divide a day and be at least 1m (e.g. 1m, 5m, 15m, 1h)")
        return value

    @property
    def resolution_seconds(self) -> int:
        return parse_duration(self.resolution)
