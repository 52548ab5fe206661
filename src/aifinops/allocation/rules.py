"""Owner rules: match rows like ``report costs --where``, normalize spellings, fill owners.

Everything here works on aggregated rows (dicts of dimension values), never on single records, so a new
rule re-allocates history at report time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from aifinops.core.settings_allocation import AllocationSettings

__all__ = ["Matcher", "Plan", "Pool", "OwnerRuleSpec", "compile_plan", "unique"]

_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True, slots=True)
class Matcher:
    """``{dimension: value | [values] | None}``: every dimension must match one of its values.

    Values with ``*``, ``?`` or ``[`` are globs (case-sensitive, like the ledger's GLOB); ``None`` matches a
    missing value. An empty matcher matches every row.
    """

    terms: tuple[tuple[str, tuple[str, ...], tuple[str, ...], bool], ...]

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> Matcher:
        """Build from a config mapping (or a ``--where`` dict)."""
        terms = []
        for name, value in spec.items():
            values = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
            present = [str(v) for v in values if v is not None]
            exact = tuple(v for v in present if not _GLOB.search(v))
            globs = tuple(v for v in present if _GLOB.search(v))
            terms.append((name, exact, globs, len(present) != len(values)))
        return cls(tuple(terms))

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The dimensions this matcher reads."""
        return tuple(t[0] for t in self.terms)

    def __call__(self, row: Mapping[str, Any]) -> bool:
        for name, exact, globs, none_ok in self.terms:
            value = row.get(name)
            if value is None:
                if not none_ok:
                    return False
                continue
            text = str(value)
            if text not in exact and not any(fnmatchcase(text, g) for g in globs):
                return False
        return True


@dataclass(frozen=True, slots=True)
class OwnerRuleSpec:
    """A compiled owner rule: where it matches, ``set`` fills (or with ``override`` replaces) owners."""

    match: Matcher
    set: tuple[tuple[str, str], ...]
    override: bool


@dataclass(frozen=True, slots=True)
class Pool:
    """A compiled shared pool (see :class:`aifinops.core.settings_allocation.SharedPool`)."""

    name: str
    match: Matcher
    consumers: Matcher
    split_by: str
    among: str
    ratios: tuple[tuple[str, Any], ...]
    capacity: Any
    idle: str
    owner: str | None


@dataclass(frozen=True)
class Plan:
    """Compiled allocation settings: what to read (``inputs``) and what may change (``targets``)."""

    dimension: str
    rules: tuple[OwnerRuleSpec, ...] = ()
    pools: tuple[Pool, ...] = ()
    aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    normalize: dict[str, tuple[tuple[str, str, bool], ...]] = field(default_factory=dict)
    idle_bucket: str = "idle"
    unallocated: str = "unallocated"
    period: str = "day"
    drivers: tuple[str, ...] = ()

    @property
    def targets(self) -> tuple[str, ...]:
        """Dimensions whose values allocation may change (filter them after allocating)."""
        names = [self.dimension, *self.normalize, *(a for a, _ in self.aliases)]
        names += [k for r in self.rules for k, _ in r.set] + [p.among for p in self.pools]
        return tuple(dict.fromkeys(names))

    def inputs(self, *, pools: bool = True) -> tuple[str, ...]:
        """Every dimension the rules read or write, for the rollup's GROUP BY."""
        names = [*self.targets, *(n for _, alias in self.aliases for n in alias)]
        names += [d for r in self.rules for d in r.match.dimensions]
        if pools:
            names += [d for p in self.pools for d in (*p.match.dimensions, *p.consumers.dimensions)]
        return tuple(dict.fromkeys(names))

    def apply_owners(self, row: dict[str, Any]) -> None:
        """Aliases, then spelling normalization, then owner rules, in place on one row."""
        for target, names in self.aliases:
            if row.get(target) is None:
                row[target] = next((row[n] for n in names if row.get(n) is not None), None)
        for target, table in self.normalize.items():
            value = row.get(target)
            if value is not None:
                row[target] = _normalized(str(value), table)
        for rule in self.rules:
            if rule.match(row):
                for key, value in rule.set:
                    if rule.override or row.get(key) is None:
                        row[key] = value


def _normalized(value: str, table: tuple[tuple[str, str, bool], ...]) -> str:
    low = value.lower()
    for variant, canonical, is_glob in table:
        if fnmatchcase(low, variant) if is_glob else low == variant:
            return canonical
    return value


def compile_plan(settings: AllocationSettings, *, dimension: str | None = None) -> Plan:
    """Compile the ``allocation`` section; ``dimension`` overrides the owner dimension (coverage ``--by``)."""
    dim = dimension or settings.dimension
    normalize = {
        target: tuple(
            (variant.lower(), canonical, bool(_GLOB.search(variant)))
            for canonical, variants in table.items()
            for variant in (canonical, *variants)
        )
        for target, table in settings.normalize.items()
    }
    pools = tuple(
        Pool(
            name=p.name,
            match=Matcher.of(p.match),
            consumers=Matcher.of(p.consumers),
            split_by=p.split_by,
            among=p.among or settings.dimension,
            ratios=tuple(p.ratios.items()),
            capacity=p.capacity,
            idle=p.idle,
            owner=p.owner,
        )
        for p in settings.shared
    )
    rules = tuple(
        OwnerRuleSpec(Matcher.of(r.match), tuple(r.set.items()), r.override) for r in settings.owners
    )
    return Plan(
        dimension=dim,
        rules=rules,
        pools=pools,
        aliases=tuple((k, tuple(v)) for k, v in settings.aliases.items()),
        normalize=normalize,
        idle_bucket=settings.idle_bucket,
        unallocated=settings.unallocated,
        period=settings.period,
        drivers=tuple(settings.coverage_drivers),
    )


def unique(names: Iterable[str]) -> list[str]:
    """Names in first-seen order, without repeats."""
    return list(dict.fromkeys(names))
