"""Facade part: allocation rules, shared-cost splits, idle handling and tag coverage (issue 6).

Allocation runs at report time on ledger rollups (grouped by the dimensions the rules need and by day, or
hour), never on single records: a new rule re-allocates all of history, and a report over months of
records stays a few SQL aggregates plus arithmetic on their rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aifinops.core.errors import InputError

__all__ = ["AllocationMixin"]


class AllocationMixin:
    """Allocation rules, shared-cost splits, idle handling and tag coverage (issue 6)."""

    def allocation_plan(self, dimension: str | None = None) -> Any:
        """The compiled ``allocation`` section (``dimension`` overrides the owner dimension)."""
        from aifinops.allocation import compile_plan
        from aifinops.core.settings_allocation import RESERVED_NAMES

        if dimension is not None and (not dimension.strip() or dimension in RESERVED_NAMES):
            raise InputError(f"invalid owner dimension {dimension!r}")
        return compile_plan(self.settings.allocation, dimension=dimension)  # type: ignore[attr-defined]

    def allocated_costs(
        self,
        *,
        by: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        where: dict[str, Any] | None = None,
        grain: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Spend after allocation: the rows of ``report_costs`` plus an ``allocation`` column.

        ``allocation`` is ``direct``, ``shared:POOL``, ``idle:POOL`` or the unallocated label; it can be
        grouped by (``by=["allocation"]``) and filtered (``where={"allocation": "idle:*"}``). Filters apply
        to the allocated rows (``team=search`` includes search's share of a shared pool), so with shared
        pools every filter is applied after allocating: drivers are always measured on all of the spend.
        """
        from aifinops.allocation import Matcher, aggregate, allocate
        from aifinops.allocation.rules import unique
        from aifinops.core.timeutil import utcnow
        from aifinops.ledger import RollupQuery

        plan = self.allocation_plan()
        where = dict(where or {})
        if "period" in by or "period" in where:
            raise InputError("'period' is not a dimension: use grain= to group by time")
        late = set(plan.targets) | {"allocation"}
        post = {k: v for k, v in where.items() if plan.pools or k in late}
        pre = {k: v for k, v in where.items() if k not in post}
        dims = [d for d in by if d != "allocation"]
        if grain is not None and grain not in ("hour", "day", "week", "month"):
            raise InputError(f"grain must be one of hour, day, week, month, got {grain!r}")
        group = unique([*dims, *plan.inputs(), *(k for k in post if k != "allocation")])
        if plan.pools:  # pools split per period (day or hour): roll up at that period, aggregate after
            period: str | None = "hour" if grain == "hour" or plan.period == "hour" else "day"
        else:  # owner rules alone need no period: roll up at the grain asked for (far fewer rows)
            period = grain
        rows = self.ledger.rollup(  # type: ignore[attr-defined]
            RollupQuery(by=tuple(group), grain=period, since=since, until=until, where=pre)
        )
        allocated = allocate(rows, plan, window=(since, until or utcnow()))
        if post:
            keep = Matcher.of(post)
            allocated = [r for r in allocated if keep(r)]
        out = aggregate(allocated, dims, grain)
        return out[:limit] if limit is not None else out

    def tag_coverage(
        self,
        *,
        by: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        where: dict[str, Any] | None = None,
        top: int = 10,
    ) -> dict[str, Any]:
        """Share of spend with an owner on ``by`` (default: the allocation dimension), per source and in
        total, after owner rules, with the ``top`` untagged drivers (``coverage_drivers``: provider,
        service, model, api_key by default) and their cost."""
        from aifinops.allocation import Matcher, coverage
        from aifinops.allocation.rules import unique
        from aifinops.ledger import RollupQuery

        if top < 0:
            raise InputError("top must be zero or more")
        plan = self.allocation_plan(by)
        where = dict(where or {})
        if "allocation" in where or "period" in where:
            raise InputError("coverage filters on dimensions only, not on 'allocation' or 'period'")
        post = {k: v for k, v in where.items() if k in plan.targets}
        pre = {k: v for k, v in where.items() if k not in post}
        group = unique(["source", *plan.drivers, *plan.inputs(pools=False), *post])
        rows = self.ledger.rollup(  # type: ignore[attr-defined]
            RollupQuery(by=tuple(group), since=since, until=until, where=pre, metrics=("records",))
        )
        if post:
            keep = Matcher.of(post)
            owned = []
            for raw in rows:
                row = dict(raw)
                plan.apply_owners(row)
                if keep(row):
                    owned.append(raw)
            rows = owned
        result = coverage(rows, plan, drivers=plan.drivers, top=top)
        result["since"], result["until"] = since, until
        return result

    def allocation_rules(self) -> dict[str, Any]:
        """The allocation rules in force (the ``allocation`` section, defaults filled in)."""
        section = self.settings.allocation  # type: ignore[attr-defined]
        rules = section.model_dump(mode="json")
        for pool in rules["shared"]:
            pool["among"] = pool["among"] or section.dimension
        return rules
