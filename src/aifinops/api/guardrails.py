"""`/api/v1/budgets` and `/api/v1/audit`: the guardrails' state and decisions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from aifinops.budgets.policy import compile_policy
from aifinops.core.jsonable import jsonable
from aifinops.gateway.counters.base import from_nano
from aifinops.gateway.spend import budget_filters

__all__ = ["router"]

router = APIRouter()


@router.get(
    "/budgets", summary="Every budget: period, amount, spend to date (by `per` value), live reservations"
)
async def budgets(request: Request) -> list[dict[str, Any]]:
    app = request.app.state.app
    gateway = getattr(request.app.state, "gateway", None)
    settings = app.settings
    policy = compile_policy(settings.budgets, [], [], [], settings.guardrails)
    now = datetime.now(UTC)
    out = []
    for budget in policy.budgets:
        rule = budget.rule
        start, end = budget.window(now)
        by = [budget.rule.per.replace("key", "api_key")] if rule.per else []
        rows = app.report_costs(by=by, where=budget_filters(rule), since=start, until=end)
        entries = []
        for row in rows:
            spent = row["cost"] or 0
            subject = {rule.per: row[by[0]]} if by and row[by[0]] is not None else {}
            live = None
            if gateway is not None and (not by or subject):
                key = budget.period_key(subject, now)
                if key is not None:
                    live_spent, reserved = await gateway.counters.usage(key)
                    live = {"spent": from_nano(live_spent), "reserved": from_nano(reserved)}
            entries.append(
                {
                    "per_value": row[by[0]] if by else None,
                    "spent": spent,
                    "remaining": rule.amount - spent,
                    "used": (spent / rule.amount) if rule.amount else None,
                    "live": live,
                }
            )
        out.append(
            {
                "name": rule.name,
                "scope": rule.scope,
                "per": rule.per,
                "period": rule.period,
                "amount": rule.amount,
                "hard": rule.hard,
                "alert_at": rule.alert_at,
                "period_start": start,
                "period_end": end,
                "status": entries,
            }
        )
    return jsonable(out)


@router.get("/audit", summary="Guardrail decisions, newest first")
def audit(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    decision: Annotated[
        str | None, Query(description="allow, refuse, alert, config_reloaded, config_rejected")
    ] = None,
) -> list[dict[str, Any]]:
    gateway = getattr(request.app.state, "gateway", None)
    if gateway is None:
        return []
    return jsonable(gateway.audit.read(limit=limit, decision=decision))
