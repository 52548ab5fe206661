"""The dry run checks a call the way the gateway does: model rules first, a refused call spends nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from aifinops.app import App
from aifinops.core.settings import Settings, parse_settings
from tests.factories import T0, rec


def _money(i: int, amount: str, **kw: object) -> object:
    value = Decimal(amount)
    return rec(i, list_cost=value, effective_cost=value, billed_cost=value, **kw)


def test_a_blocked_call_does_not_spend_and_a_smaller_one_still_fits() -> None:
    app = App(Settings(), None)
    app.append([_money(i, c, team="ops") for i, c in enumerate(("4", "4", "4", "1"))])
    policy = parse_settings(
        "budgets:\n  - {name: ops, scope: {team: ops}, period: day, amount: 10, hard: true}\n"
    )
    [blocked] = [
        f
        for f in app.simulate_policy(policy, since=T0, until=T0 + timedelta(days=1))
        if f["kind"] == "budget"
    ]
    assert blocked["calls_blocked"] == 1 and blocked["cost_not_spent"] == Decimal(4)
    assert blocked["by_owner"] == {"ops": {"calls_blocked": 1, "cost_not_spent": Decimal(4)}}


def test_budgets_see_the_routed_cost_and_refusals_by_owner() -> None:
    """gpt-4o calls routed to gpt-4o-mini cost little enough that the budget never blocks."""
    app = App(Settings(), None)
    calls = [
        rec(i, team=team, input_tokens=100_000, output_tokens=0, cost_status="unpriced", effective_cost=None,
            list_cost=None, billed_cost=None)
        for i, team in enumerate(["a"] * 4 + ["b"] * 2)
    ]  # fmt: skip
    app.append(calls)  # gpt-4o: $0.25 a call; gpt-4o-mini: $0.015
    policy = parse_settings(
        "budgets:\n  - {name: all, period: day, amount: 0.5, hard: true}\n"
        "models:\n  - {name: mini, deny: [gpt-4o], route: {gpt-4o: gpt-4o-mini}, scope: {team: a}}\n"
        "  - {name: no-b, deny: [gpt-4o], scope: {team: b}}\n"
    )
    findings = {f["rule"]: f for f in app.simulate_policy(policy, since=T0, until=T0 + timedelta(days=1))}
    assert "all" not in findings or findings["all"]["kind"] == "budget_alert"
    assert findings["mini"]["by_owner"] == {"a": {"routed": 4, "saving": Decimal("0.94")}}
    assert findings["no-b"]["by_owner"] == {"b": {"refused": 2, "saving": Decimal("0.5")}}
