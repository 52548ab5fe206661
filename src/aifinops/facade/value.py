"""Facade part: Savings recommendations, the value ledger, zombie projects, maturity (issue 9)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from aifinops.core.errors import Conflict, InputError, NotFound
from aifinops.core.records import OUTCOME_DIMENSIONS
from aifinops.core.timeutil import utcnow

__all__ = ["ValueMixin", "VALUE_DIMENSIONS"]

#: The attribution keys that costs and outcomes share (the value ledger groups by these).
VALUE_DIMENSIONS = OUTCOME_DIMENSIONS


def _check_by(by: Sequence[str]) -> list[str]:
    by = [d for d in by if d]
    bad = [d for d in by if d not in VALUE_DIMENSIONS]
    if bad or not by:
        raise InputError(
            f"value reports group by {', '.join(VALUE_DIMENSIONS)}; got {', '.join(bad) or 'nothing'}"
        )
    return list(dict.fromkeys(by))


class ValueMixin:
    """Savings recommendations, the value ledger, zombie projects, maturity (issue 9)."""

    settings: Any
    ledger: Any
    catalog: Any

    # -- the value ledger ---------------------------------------------------------------------------
    def _window(
        self, since: datetime | None, until: datetime | None, days: int | None = None
    ) -> tuple[datetime, datetime]:
        until = until or utcnow()
        since = since or until - timedelta(days=days or self.settings.value.window_days)
        if since >= until:
            raise InputError("since must be before until")
        return since, until

    def _initiative_of(self, feature: str | None, project: str | None) -> str | None:
        for name, spec in self.settings.value.initiatives.items():
            if (feature and feature in spec.features) or (project and project in spec.projects):
                return name
        return None

    def _value_costs(
        self, by: list[str], since: datetime, until: datetime, where: dict[str, Any]
    ) -> list[dict[str, Any]]:
        mapped = "initiative" in by
        dims = list(dict.fromkeys([*by, "feature", "project"])) if mapped else by
        mid = since + (until - since) / 2
        out = []
        for half, (lo, hi) in ((1, (since, mid)), (2, (mid, until))):
            for row in self.report_costs(by=dims, since=lo, until=hi, where=where):  # type: ignore[attr-defined]
                if mapped and row.get("initiative") is None:
                    row["initiative"] = self._initiative_of(row.get("feature"), row.get("project"))
                out.append({**{d: row.get(d) for d in by}, "cost": row["cost"] or Decimal(0), "half": half})
        return out

    def _value_outcomes(
        self, by: list[str], since: datetime, until: datetime, where: dict[str, Any]
    ) -> list[dict[str, Any]]:
        mid = since + (until - since) / 2
        cols = list(dict.fromkeys([*by, "feature", "project"]))
        clauses, params = ["occurred_at >= ?", "occurred_at < ?"], [since, until]
        for key, value in where.items():
            values = list(value) if isinstance(value, list | tuple | set) else [value]
            present = [str(v) for v in values if v is not None]
            parts = [f'"{key}" IN ({", ".join("?" for _ in present)})'] if present else []
            parts += [f'"{key}" IS NULL'] if len(present) != len(values) else []
            clauses.append("(" + " OR ".join(parts) + ")")
            params.extend(present)
        select = ", ".join(f'"{c}"' for c in cols)
        rows = self.ledger.query(
            f"SELECT {select}, CASE WHEN occurred_at < ? THEN 1 ELSE 2 END AS half, "
            "CAST(sum(count) AS BIGINT) AS outcomes, sum(value) AS value, "
            "CAST(sum(count) FILTER (WHERE value IS NOT NULL) AS BIGINT) AS valued_outcomes, "
            f"min(occurred_at) AS first_outcome FROM outcomes WHERE {' AND '.join(clauses)} GROUP BY ALL",
            [mid, *params],
        )
        for row in rows:
            if "initiative" in by and row.get("initiative") is None:
                row["initiative"] = self._initiative_of(row.get("feature"), row.get("project"))
        return rows

    def value_summary(
        self,
        *,
        by: Sequence[str] = ("feature",),
        since: datetime | None = None,
        until: datetime | None = None,
        where: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Per group: ``cost``, ``value`` (Decimal), ``outcomes`` (int), ``roi`` (float or None),
        ``cost_per_outcome`` (Decimal or None), ``value_per_dollar``, plus ``time_to_value_days`` and
        ``trend`` (value per dollar, second half of the period against the first)."""
        from aifinops.value import summarize

        dims = _check_by(by)
        since, until = self._window(since, until)
        where = dict(where or {})
        others = sorted(k for k in where if k not in VALUE_DIMENSIONS)
        if others:
            raise InputError(
                f"outcomes carry no {', '.join(others)}: filter value reports by {', '.join(VALUE_DIMENSIONS)}"
            )
        costs = self._value_costs(dims, since, until, where)
        outcomes = self._value_outcomes(dims, since, until, where)
        rows = summarize(costs, outcomes, dims, midpoint=since + (until - since) / 2)
        self._first_spend(rows, dims, until)
        return rows

    def _first_spend(self, rows: list[dict[str, Any]], by: list[str], until: datetime) -> None:
        """Time to value: days from a group's first spend ever to its first outcome in the period."""
        if "initiative" in by or not rows:
            return  # initiatives may be mapped from config: the first spend is not one SQL group
        cols = ", ".join(f'"{d}"' for d in by)
        firsts = {
            tuple(r[d] for d in by): r["first"]
            for r in self.ledger.query(
                f"SELECT {cols}, min(charge_period_start) AS first FROM records WHERE charge_period_start < ? GROUP BY ALL",
                [until],
            )
        }
        outs = {
            tuple(r[d] for d in by): r["first"]
            for r in self.ledger.query(
                f"SELECT {cols}, min(occurred_at) AS first FROM outcomes WHERE occurred_at < ? GROUP BY ALL",
                [until],
            )
        }
        for row in rows:
            key = tuple(row[d] for d in by)
            if key in firsts and key in outs:
                row["time_to_value_days"] = round(
                    max(0.0, (outs[key] - firsts[key]).total_seconds() / 86400), 2
                )
            else:
                row["time_to_value_days"] = None

    def zombies(
        self, *, until: datetime | None = None, window_days: int | None = None
    ) -> list[dict[str, Any]]:
        """Initiatives with spend and no outcomes (or a falling value ratio) over the zombie window."""
        from aifinops.value import find_zombies

        days = window_days or self.settings.value.zombie_window_days
        since, until = self._window(None, until, days)
        rows = [r for r in self.value_summary(by=["initiative"], since=since, until=until) if r["initiative"]]
        cfg = self.settings.value
        return find_zombies(
            rows, window_days=days, min_cost=cfg.zombie_min_cost, min_value_ratio=cfg.zombie_min_value_ratio
        )

    # -- outcomes -----------------------------------------------------------------------------------
    def record_outcomes(self, items: Sequence[dict[str, Any]], *, source: str = "api") -> dict[str, Any]:
        """Validate and store outcome events (dicts); all or nothing. Returns counts."""
        from aifinops.ingest.outcomes import outcome_from_dict

        errors, outcomes = [], []
        for index, item in enumerate(items):
            try:
                outcomes.append(outcome_from_dict(item, default_source=source))
            except (InputError, ValueError) as exc:
                errors.append(f"outcome {index}: {getattr(exc, 'message', exc)}")
        if errors:
            raise InputError("invalid outcomes", details=errors[:100])
        result = self.ledger.append_outcomes(outcomes)
        return {"inserted": result.inserted, "duplicates": result.duplicates}

    def ingest_outcomes(self, paths: Sequence[Path], *, reject_path: Path | None = None) -> dict[str, Any]:
        """Import outcome files (CSV or JSONL): good rows land together, bad rows are reported."""
        from aifinops.ingest.outcomes import import_outcomes

        return import_outcomes([Path(p) for p in paths], self.ledger, reject_path=reject_path)

    # -- recommendations ----------------------------------------------------------------------------
    def recommendations(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Savings recommendations ranked by monthly saving, each with evidence, confidence and the change."""
        from aifinops.recommend import KINDS, caching, capacity, llm, rank
        from aifinops.recommend import batch as rec_batch

        if kinds:
            bad = [k for k in kinds if k not in KINDS]
            if bad:
                raise InputError(f"unknown kind {', '.join(bad)}; choose from {', '.join(KINDS)}")
        found = self._recommendations(since, until, llm, caching, capacity, rec_batch)
        items = rank(found, self.settings.value.min_monthly_saving)
        if kinds:
            items = [r for r in items if r.kind in kinds]
        applied = {r["id"] for r in self.ledger.query("SELECT id FROM applied_recommendations")}
        out = [{**r.to_dict(), "applied": r.id in applied} for r in items]
        return out[:limit] if limit else out

    def _recommendations(
        self, since: Any, until: Any, llm: Any, caching: Any, capacity: Any, rec_batch: Any
    ) -> list[Any]:
        from aifinops.facade.value_recommend import feature_profiles, gather
        from aifinops.recommend.tokens import thresholds

        cfg = self.settings.value
        since, until = self._window(since, until)
        data = gather(
            self.ledger,
            since,
            until,
            lookback=until - timedelta(days=90),
            offers=[o.model for o in cfg.provisioned],
            bounds=thresholds(self.catalog),
        )
        days = data["window_days"]
        zombies = self._zombie_features(since, until)
        retired = {f for z in zombies for f in z["features"]}
        found = llm.rightsizing(
            [r for r in data["rows"] if r["feature"] not in retired],
            data["lanes"],
            data["outcomes"],
            self.catalog,
            days=data["days"],
            until=until,
            ladder=cfg.rightsizing,
            workflows=data["workflows"],
        )
        found += llm.retire(data["all_rows"], zombies, days=days)
        profiles = feature_profiles(data["hours"])
        on_demand = [r for r in data["all_rows"] if r["pricing_mode"] == "on_demand"]
        found += rec_batch(on_demand, profiles, self.catalog, days=days, use_cases=cfg.batch_use_cases)
        found += llm.max_tokens(data["caps"], data["excess"], self.catalog, days=days)
        prefixes = [e for e in data["events"] if e["prefix_hash"]]
        found += caching.prompt_caching(prefixes, self.catalog, days=days)
        found += caching.cache_ttl(data["cache_calls"], self.catalog, days=days)
        requests = [e for e in data["events"] if e["request_hash"]]
        found += caching.response_caching(
            requests, days=days, ttl_seconds=self.settings.gateway.cache.ttl_seconds
        )
        if cfg.keep_embeddings:  # opt-in near-duplicate analysis (issue 9): needs the embeddings table's rows
            from aifinops.facade.value_recommend import semantic_events
            from aifinops.recommend.semantic import semantic_caching

            found += semantic_caching(
                semantic_events(self.ledger, since, until),
                threshold=cfg.similarity_threshold,
                days=days,
                ttl_seconds=self.settings.gateway.cache.ttl_seconds,
            )
        found += capacity.provisioned(data["throughput"], cfg.provisioned, window_hours=int(days) * 24)
        found += capacity.gpu(data["gpu"], self.catalog, days=days)
        # stopping a zombie supersedes tuning it
        return [r for r in found if r.kind == "zombie_retirement" or r.scope.get("feature") not in retired]

    def _zombie_features(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """The zombie initiatives at ``until``, each with the features that spent in ``[since, until)``."""
        zombies = self.zombies(until=until)
        if not zombies:
            return []
        spent = self.report_costs(by=["initiative", "feature", "project"], since=since, until=until)  # type: ignore[attr-defined]
        for zombie in zombies:
            zombie["features"] = sorted(
                {
                    r["feature"]
                    for r in spent
                    if r.get("feature")
                    and (r.get("initiative") or self._initiative_of(r["feature"], r.get("project")))
                    == zombie["initiative"]
                }
            )
        return zombies

    def apply_recommendation(
        self, rec_id: str, *, applied_at: datetime | None = None, note: str | None = None
    ) -> dict[str, Any]:
        """Mark a recommendation as applied: its realized saving is measured from then on."""
        if self.ledger.query("SELECT id FROM applied_recommendations WHERE id = ?", [rec_id]):
            raise Conflict(f"recommendation {rec_id} is applied already")
        current = {r["id"]: r for r in self.recommendations(until=applied_at)}
        rec = current.get(rec_id)
        if rec is None:
            raise NotFound(
                f"no current recommendation with id {rec_id!r}; run `aifinops recommend` for the ids"
            )
        when = applied_at or utcnow()
        self.ledger.execute(
            "INSERT INTO applied_recommendations (id, kind, title, scope, measure_scope, applied_at, "
            "expected_monthly_saving, baseline_days, change, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                rec_id,
                rec["kind"],
                rec["title"],
                json.dumps(rec["scope"]),
                json.dumps(_measure_scope(rec)),
                when,
                rec["monthly_saving"],
                int(rec["evidence"].get("days") or self.settings.value.window_days),
                rec["change"],
                note,
            ],
        )
        return {
            "id": rec_id,
            "applied_at": when,
            "expected_monthly_saving": rec["monthly_saving"],
            "title": rec["title"],
        }

    def savings(self, *, until: datetime | None = None) -> list[dict[str, Any]]:
        """The savings ledger: each applied recommendation, expected and realized monthly saving."""
        from aifinops.value import realized

        until = until or utcnow()
        out = []
        for row in self.ledger.query("SELECT * FROM applied_recommendations ORDER BY applied_at"):
            applied = row["applied_at"]
            scope = json.loads(row["measure_scope"])
            before = self._scope_cost(scope, applied - timedelta(days=row["baseline_days"]), applied)
            after = self._scope_cost(scope, applied, max(applied, until))
            result = realized(row["kind"], before, after)
            out.append(
                {
                    "id": row["id"],
                    "kind": row["kind"],
                    "title": row["title"],
                    "applied_at": applied,
                    "expected_monthly_saving": row["expected_monthly_saving"],
                    "realized_monthly_saving": result["realized_monthly_saving"],
                    "method": result["method"],
                    "days_measured": after["days"],
                    "cost_before": before["cost"],
                    "cost_after": after["cost"],
                    "note": row["note"],
                }
            )
        return out

    def _scope_cost(self, scope: dict[str, Any], since: datetime, until: datetime) -> dict[str, Any]:
        days = Decimal(str(round(max(0.0, (until - since).total_seconds()) / 86400, 6)))
        if days <= 0:
            return {"cost": Decimal(0), "requests": 0, "days": Decimal(0)}
        rows = self.report_costs(since=since, until=until, where=scope)  # type: ignore[attr-defined]
        cost = sum((r["cost"] or Decimal(0) for r in rows), Decimal(0))
        return {"cost": cost, "requests": sum(int(r["requests"] or 0) for r in rows), "days": days}

    # -- maturity -----------------------------------------------------------------------------------
    def maturity(self) -> dict[str, Any]:
        """Crawl / walk / run per capability, computed from the last 30 days of data and the config."""
        from aifinops.value import assess

        since, until = self._window(None, None, 30)
        total = self.report_costs(since=since, until=until)  # type: ignore[attr-defined]
        spend = sum((r["cost"] or Decimal(0) for r in total), Decimal(0))
        tagged = self.report_costs(by=["team", "feature"], since=since, until=until)  # type: ignore[attr-defined]
        covered = sum(
            (r["cost"] or Decimal(0) for r in tagged if r.get("team") and r.get("feature")), Decimal(0)
        )
        s = self.settings
        valued = [r for r in self.value_summary(by=["feature"], since=since, until=until) if r["value"]]
        customers = self.report_costs(by=["customer"], since=since, until=until)  # type: ignore[attr-defined]
        routes = list(getattr(s.alerts, "routes", None) or [])
        channels = getattr(s.alerts, "channels", None) or {}
        facts = {
            "tag_coverage": float(covered / spend) if spend else 0.0,
            "budgets": float(len(s.budgets) + sum(b.hard for b in s.budgets)),
            "guardrails": float(bool(s.models) + bool(s.rate_limits) + bool(s.agents)),
            "kpis": float(bool(spend) + bool(valued) + any(r.get("customer") for r in customers)),
            "alerts": float(len(routes)) if routes else (0.5 if channels else 0.0),
            "value": float(sum((r["cost"] for r in valued), Decimal(0)) / spend) if spend else 0.0,
        }
        return assess(facts)


def _measure_scope(rec: dict[str, Any]) -> dict[str, Any]:
    """Where to measure a recommendation's realized saving (right-sizing moves traffic off the model)."""
    scope = dict(rec["scope"])
    if rec["kind"] == "zombie_retirement":
        return {"initiative": scope["initiative"]}
    if rec["kind"] in ("model_rightsizing", "batch"):
        return {"feature": scope["feature"]}
    if "endpoint" in scope:
        return {"endpoint": scope["endpoint"]}
    if "job" in scope:
        return {"job": scope["job"]}
    return scope
