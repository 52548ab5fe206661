"""Right-sizing quality rules on hand-built histories: outcomes, errors, migration direction, agent steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from aifinops.app import App
from aifinops.core.settings import Settings
from aifinops.recommend.quality import judge, outcome_change
from tests.recommend.traffic import T0, UNTIL, daily

D0 = datetime(2026, 1, 1, tzinfo=UTC)
END = D0 + timedelta(days=40)


def _day(i: int) -> datetime:
    return D0 + timedelta(days=i)


def _lane(plan: list[tuple[range, dict[str, int]]], errors: dict[str, int] | None = None) -> dict:
    """Per day, per model: (requests, errors); ``errors`` per model per day."""
    lane: dict = {}
    for days, mix in plan:
        for i in days:
            lane[_day(i)] = {m: (n, (errors or {}).get(m, 0)) for m, n in mix.items()}
    return lane


# 20 days on "mini" (100 a day), then 20 days on "big": the feature moved away from mini 20 days ago.
MOVED = _lane([(range(20), {"mini": 100}), (range(20, 40), {"big": 100})])


def _outcomes(before: int, after: int) -> dict:
    return {_day(i): (before if i < 20 else after) for i in range(40)}


def test_upgrade_that_raised_the_outcome_rate_is_not_a_candidate() -> None:
    # 30 vs 40 outcomes per 100 requests a day, 20 days each: 600/2000 vs 800/2000, se = sqrt(600+800)/2000
    # = 0.0187; the gap 0.1 is 5.3 se: the upgrade pays
    verdict = judge(MOVED, _outcomes(30, 40), "big", "mini", END)
    assert verdict.confidence is None and "rose" in verdict.signal
    assert verdict.evidence["outcome_rate_before"] == 0.3 and verdict.evidence["outcome_rate_after"] == 0.4


def test_upgrade_that_lowered_the_outcome_rate_is_high_confidence() -> None:
    verdict = judge(MOVED, _outcomes(40, 30), "big", "mini", END)
    assert verdict.confidence == "high" and verdict.evidence["change"] == "down"


def test_settled_upgrade_with_unchanged_outcomes_is_low_confidence() -> None:
    # 30 vs 31 a day: gap 0.01 < 2 se (0.0174): no change; the move is 20 days old (> 14): settled
    verdict = judge(MOVED, _outcomes(30, 31), "big", "mini", END)
    assert verdict.confidence == "low" and verdict.evidence["change"] == "same"
    assert "20 days ago" in verdict.signal and "A/B test" in verdict.signal


def test_recent_switch_with_unchanged_outcomes_is_medium() -> None:
    lane = _lane([(range(34), {"mini": 100}), (range(34, 40), {"big": 100})])
    verdict = judge(lane, {_day(i): 30 for i in range(40)}, "big", "mini", END)
    assert verdict.confidence == "medium" and verdict.evidence["history"] == "moved_away"
    assert "6 days ago" in verdict.signal


def test_no_outcomes_at_all_is_stated() -> None:
    verdict = judge(MOVED, {}, "big", "mini", END)
    assert verdict.confidence == "low" and "no outcomes recorded" in verdict.signal


def test_finishing_a_move_to_the_cheaper_model() -> None:
    lane = _lane([(range(20), {"big": 100}), (range(20, 40), {"mini": 90, "big": 10})])
    verdict = judge(lane, _outcomes(30, 30), "big", "mini", END)
    assert verdict.confidence == "high" and verdict.evidence["history"] == "moving_to"
    worse = judge(lane, _outcomes(40, 30), "big", "mini", END)
    assert worse.confidence is None and "lowered" in worse.signal


def test_side_by_side_is_low_and_says_why() -> None:
    lane = _lane([(range(40), {"mini": 50, "big": 50})])
    verdict = judge(lane, _outcomes(30, 30), "big", "mini", END)
    assert verdict.confidence == "low" and verdict.evidence["history"] == "side_by_side"
    assert "split may be by difficulty" in verdict.signal


def test_more_errors_or_a_side_model_is_no_candidate() -> None:
    # mini: 3 errors a day of 100 (3%) vs big 0%: over the 2-point margin
    lane = _lane([(range(20), {"mini": 100}), (range(20, 40), {"big": 100})], errors={"mini": 3})
    assert judge(lane, {}, "big", "mini", END).confidence is None
    side = _lane([(range(40), {"mini": 10, "big": 90})])  # 10% at most: never carried the lane
    assert judge(side, {}, "big", "mini", END).confidence is None


def test_outcome_rate_per_workflow_for_agent_steps() -> None:
    """The new model makes twice the calls per workflow: per request the rate halves, per workflow it holds."""
    lane = _lane([(range(20), {"mini": 100}), (range(20, 40), {"big": 200})])
    outcomes = {_day(i): 30 for i in range(40)}
    per_request = outcome_change(
        lane, outcomes, [_day(i) for i in range(20)], [_day(i) for i in range(21, 40)]
    )
    assert per_request is not None and per_request["change"] == "down"
    units = {_day(i): 50 for i in range(40)}
    per_workflow = outcome_change(
        lane, outcomes, [_day(i) for i in range(20)], [_day(i) for i in range(21, 40)], units
    )
    assert per_workflow is not None and per_workflow["change"] == "same"
    assert per_workflow["outcome_rate_before"] == per_workflow["outcome_rate_after"] == 0.6


def _app() -> App:
    return App(Settings(value={"min_monthly_saving": 0}), None)


def _outcome_rows(per_day: list[int]) -> list[dict]:
    return [
        {
            "outcome_id": f"o{d}",
            "occurred_at": (T0 + timedelta(days=d, hours=12)).isoformat(),
            "outcome_type": "draft_accepted",
            "count": n,
            "feature": "writer",
        }
        for d, n in enumerate(per_day)
        if n
    ]


def test_outcomes_in_the_ledger_keep_a_paying_upgrade() -> None:
    """writer moved from gpt-4o-mini to gpt-4o 10 days ago; accepted drafts went from 10 to 20 a day (of 40
    calls): no right-sizing. With the same 10 a day after, the revert is proposed (medium: recent)."""
    app = _app()
    app.append(
        daily("mini", range(20), 40, hour=9, step=12, model="gpt-4o-mini")
        + daily("big", range(20, 30), 40, hour=9, step=12)
    )
    app.record_outcomes(_outcome_rows([10] * 20 + [20] * 10))
    assert app.recommendations(until=UNTIL, kinds=["model_rightsizing"]) == []
    flat = _app()
    flat.append(
        daily("mini", range(20), 40, hour=9, step=12, model="gpt-4o-mini")
        + daily("big", range(20, 30), 40, hour=9, step=12)
    )
    flat.record_outcomes(_outcome_rows([10] * 30))
    [rec] = flat.recommendations(until=UNTIL, kinds=["model_rightsizing"])
    assert rec["confidence"] == "medium" and rec["evidence"]["outcome_rate_before"] == 0.25
    assert rec["evidence"]["outcomes_after"] == 90  # days 21-29: the switch day itself is mixed


def test_agent_steps_are_separate_lanes() -> None:
    """The planner runs on gpt-4o, the tool calls on gpt-4o-mini: same feature, different jobs."""
    app = _app()
    plan = daily("plan", range(30), 20, hour=9, step=20, tags={"step": "plan"})
    tool = daily("tool", range(30), 60, hour=9, step=5, model="gpt-4o-mini", tags={"step": "tool"})
    app.append(plan + tool)
    assert app.recommendations(until=UNTIL, kinds=["model_rightsizing"]) == []
    # the same traffic without step tags reads as one lane served side by side: only a low-confidence idea
    flat = _app()
    flat.append(
        daily("plan", range(30), 20, hour=9, step=20)
        + daily("tool", range(30), 60, hour=9, step=5, model="gpt-4o-mini")
    )
    [rec] = flat.recommendations(until=UNTIL, kinds=["model_rightsizing"])
    assert rec["confidence"] == "low" and rec["evidence"]["history"] == "side_by_side"


def test_a_planner_moved_within_its_step_gets_a_step_scoped_change() -> None:
    app = _app()
    tags_plan = {"step": "plan"}
    app.append(
        daily("p-mini", range(25), 20, hour=9, step=20, model="gpt-4o-mini", tags=tags_plan)
        + daily("p-big", range(25, 30), 20, hour=9, step=20, tags=tags_plan)
        + daily("tool", range(30), 20, hour=9, step=20, model="gpt-4o-mini", tags={"step": "tool"})
    )
    [rec] = app.recommendations(until=UNTIL, kinds=["model_rightsizing"])
    assert rec["scope"] == {"feature": "writer", "model": "gpt-4o", "step": "plan"}
    assert "tag:step: plan" in rec["change"]
    # 100 calls on gpt-4o: $0.75 paid, $0.045 on gpt-4o-mini
    assert rec["evidence"]["saving_in_window"] == Decimal("0.705")
