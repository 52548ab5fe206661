"""Config models for ``aifinops.yaml``: the ``allocation`` section (issue 6).

::

    allocation:
      dimension: team                     # the owner dimension (coverage, pools' default ``among``)
      aliases: {team: [owner, Team]}      # tag keys that also name the owner
      normalize: {team: {search: [Search, search-team]}}
      owners:
        - {match: {api_key: "search-*"}, set: {team: search}}
      shared:
        - {name: vector-db, match: {service: vector-db}, split_by: tokens,
           consumers: {category: hosted_inference}, idle: owner, owner: platform}
      idle_bucket: idle
      unallocated: unallocated

Match keys use the names of ``report costs --where``: record columns (``DIMENSIONS``) or tag keys
(``tag:KEY`` or the bare key). A match value is a string (globs ``*``, ``?``, ``[...]`` allowed), a list of
them (any), or null (the value is missing).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator, model_validator

from aifinops.core.records import DIMENSIONS, OWNER_FIELDS
from aifinops.core.section import Section

__all__ = ["AllocationSettings", "OwnerRule", "SharedPool", "SPLIT_BY", "IDLE_POLICIES", "RESERVED_NAMES"]

SPLIT_BY = ("tokens", "requests", "gpu_seconds", "cost", "fixed")
IDLE_POLICIES = ("proportional", "owner", "bucket")
#: Row keys that allocation owns: they cannot be used as dimensions in rules.
RESERVED_NAMES = ("period", "allocation")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")

MatchValue = str | list[str] | None


def _dimension(name: str) -> str:
    """Validate one dimension name (a record column or a tag key)."""
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ValueError(f"invalid dimension name {name!r}")
    if name in RESERVED_NAMES:
        raise ValueError(f"{name!r} is reserved and cannot be used as a dimension")
    if name == "tag:":
        raise ValueError("'tag:' needs a key, e.g. tag:endpoint")
    return name


def _owner_dimension(name: str) -> str:
    """A dimension allocation may write: an owner field or a tag key, never a record column like ``model``."""
    _dimension(name)
    if name in DIMENSIONS and name not in OWNER_FIELDS:
        raise ValueError(
            f"{name!r} is a record column, not an owner; use one of {', '.join(OWNER_FIELDS)} or a tag key"
        )
    return name


def _match(value: dict[str, MatchValue], *, empty_ok: bool = False) -> dict[str, MatchValue]:
    if not value and not empty_ok:
        raise ValueError("match must name at least one dimension")
    for key, item in value.items():
        _dimension(key)
        if isinstance(item, list) and not item:
            raise ValueError(f"{key}: an empty list matches nothing")
    return value


class OwnerRule(Section):
    """Map matching spend to an owner: ``{match: {api_key: "search-*"}, set: {team: search}}``.

    Rules run in order after normalization; a rule fills only dimensions that are still empty, unless
    ``override: true``. The first rule that fills a dimension wins.
    """

    match: dict[str, MatchValue]
    set: dict[str, str]
    override: bool = False

    @field_validator("match")
    @classmethod
    def _check_match(cls, value: dict[str, MatchValue]) -> dict[str, MatchValue]:
        return _match(value)

    @field_validator("set")
    @classmethod
    def _check_set(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("set must name at least one owner dimension")
        for key, item in value.items():
            _owner_dimension(key)
            if not item.strip():
                raise ValueError(f"{key}: the owner value is empty")
        return value


class SharedPool(Section):
    """A shared cost (a GPU endpoint, a vector database, a gateway) split among its consumers.

    - ``match``: the pool's own spend. ``consumers``: the rows whose driver decides the split (default:
      every other row with an owner on ``among``).
    - ``split_by``: the driver, measured in the same allocation period (day or hour): ``tokens`` (all
      token classes), ``requests``, ``gpu_seconds``, ``cost``, or ``fixed`` ``ratios`` (normalized, so
      ``{search: 3, support: 1}`` is 75/25).
    - ``capacity``: driver units per hour the pool can serve. With it (and, for ``gpu_seconds``, by default
      the pool's own provisioned GPU-seconds) the unused share is idle and goes per ``idle``:
      ``proportional`` (to the consumers, as their driver), ``owner``, or ``bucket`` (a visible idle owner).
    - ``owner``: who keeps the pool when nobody used it in a period (else it is unallocated).
    """

    name: str
    match: dict[str, MatchValue]
    split_by: Literal["tokens", "requests", "gpu_seconds", "cost", "fixed"] = "cost"
    among: str | None = None
    consumers: dict[str, MatchValue] = Field(default_factory=dict)
    ratios: dict[str, Decimal] = Field(default_factory=dict)
    capacity: Decimal | None = Field(default=None, gt=0)
    idle: Literal["proportional", "owner", "bucket"] = "proportional"
    owner: str | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be 1-100 letters, digits, '-', '_', '.' or ':'")
        return value

    @field_validator("match")
    @classmethod
    def _check_match(cls, value: dict[str, MatchValue]) -> dict[str, MatchValue]:
        return _match(value)

    @field_validator("consumers")
    @classmethod
    def _check_consumers(cls, value: dict[str, MatchValue]) -> dict[str, MatchValue]:
        return _match(value, empty_ok=True)

    @field_validator("among")
    @classmethod
    def _check_among(cls, value: str | None) -> str | None:
        return None if value is None else _owner_dimension(value)

    @model_validator(mode="after")
    def _coherent(self) -> SharedPool:
        if self.split_by == "fixed":
            if not self.ratios:
                raise ValueError("split_by: fixed needs ratios, e.g. {search: 0.6, support: 0.4}")
            if any(not r.is_finite() or r < 0 for r in self.ratios.values()):
                raise ValueError("ratios must be non-negative numbers")
            if sum(self.ratios.values()) <= 0:
                raise ValueError("ratios must not all be zero")
            if self.capacity is not None:
                raise ValueError("capacity does not apply to split_by: fixed")
            if self.consumers:
                raise ValueError("consumers do not apply to split_by: fixed (the ratios name them)")
        elif self.ratios:
            raise ValueError(f"ratios apply only to split_by: fixed, not {self.split_by}")
        if self.capacity is not None and self.split_by == "cost":
            raise ValueError("capacity does not apply to split_by: cost")
        if self.capacity is not None and not self.capacity.is_finite():
            raise ValueError("capacity must be a finite number")
        if self.idle == "owner" and not self.owner:
            raise ValueError("idle: owner needs an owner")
        return self


class AllocationSettings(Section):
    """The ``allocation`` section of aifinops.yaml: owner rules, shared-cost pools and idle handling."""

    dimension: str = "team"
    aliases: dict[str, list[str]] = Field(default_factory=dict)
    normalize: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    owners: list[OwnerRule] = Field(default_factory=list)
    shared: list[SharedPool] = Field(default_factory=list)
    idle_bucket: str = "idle"
    unallocated: str = "unallocated"
    period: Literal["day", "hour"] = "day"
    coverage_drivers: list[str] = Field(default_factory=lambda: ["provider", "service", "model", "api_key"])

    @field_validator("dimension")
    @classmethod
    def _check_dimension(cls, value: str) -> str:
        return _owner_dimension(value)

    @field_validator("aliases")
    @classmethod
    def _check_aliases(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, names in value.items():
            _owner_dimension(key)
            for name in names:
                _dimension(name)
        return value

    @field_validator("normalize")
    @classmethod
    def _check_normalize(cls, value: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
        for key, table in value.items():
            _owner_dimension(key)
            seen: dict[str, str] = {}
            for canonical, variants in table.items():
                for variant in [canonical, *variants]:
                    low = variant.lower()
                    if seen.setdefault(low, canonical) != canonical:
                        raise ValueError(
                            f"{key}: {variant!r} is listed under both {seen[low]!r} and {canonical!r}"
                        )
        return value

    @field_validator("coverage_drivers")
    @classmethod
    def _check_drivers(cls, value: list[str]) -> list[str]:
        for name in value:
            _dimension(name)
        return value

    @field_validator("idle_bucket", "unallocated")
    @classmethod
    def _check_label(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be 1-100 letters, digits, '-', '_', '.' or ':'")
        return value

    @model_validator(mode="after")
    def _unique_pools(self) -> AllocationSettings:
        names = [p.name for p in self.shared]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"shared pool names must be unique: {', '.join(dupes)}")
        return self
