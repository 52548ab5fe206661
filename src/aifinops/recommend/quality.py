"""Quality signals for right-sizing: may a feature's traffic on one model move to a cheaper one?

The unit is a *lane*: a feature, or one step of an agent feature (the ``step`` tag: ``plan``, ``tool``...),
because a planner and its tool calls are different jobs even when one feature makes both. For a lane, the
evidence is its daily requests and errors per model and the feature's business outcomes per day (the
``outcomes`` table). Outcomes are recorded per feature, not per model, so a model's outcome rate can only be
read when the lane's traffic *moved* between models over time:

- **moved away** from the cheaper model (it carried the lane, then the current model took over): the team
  upgraded on purpose. If the outcome rate rose after the move, the upgrade paid for itself: no
  recommendation. If it fell, the cheaper model did better: ``high``. If it did not change, ``medium`` while
  the move is recent (under :data:`SETTLED_DAYS`: it has not shown a benefit yet), ``low`` once settled
  (a deliberate, lasting choice: revert only after an A/B test).
- **moving to** the cheaper model (the current model carried the lane before it): finishing the move is
  ``high`` when the outcome rate held, ``medium`` without outcome data, nothing when it fell.
- **side by side** (both carried the lane over the same days): the split may be by difficulty and outcomes
  cannot tell the models apart: ``low``.

Everywhere the cheaper model must have carried the lane (at least :data:`MAIN_SHARE` of a day's requests,
:data:`MIN_REQUESTS` in all) with an error rate at most :data:`ERROR_MARGIN` above the current model's.
Outcome rates differ when the gap is over :data:`Z` standard errors (counts taken as Poisson).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "Verdict",
    "judge",
    "outcome_change",
    "MIN_REQUESTS",
    "MAIN_SHARE",
    "ERROR_MARGIN",
    "SETTLED_DAYS",
    "MIN_DAYS",
    "Z",
]

#: A cheaper model counts as tried by a lane after this many of its requests ...
MIN_REQUESTS = 20
#: ... as one that carried it when it served this share of a day's requests (days with >= 20 requests) ...
MAIN_SHARE = 0.3
#: ... and as good enough when its error rate was at most this much above the current model's.
ERROR_MARGIN = 0.02
#: A move between models is a phase when each side lasted at least this many days.
MIN_DAYS = 3
#: A move older than this is a settled, deliberate choice.
SETTLED_DAYS = 14
#: Standard errors for an outcome-rate change to count.
Z = 2.0

#: Per day, per model: (requests, errors).
Lane = Mapping[datetime, Mapping[str, tuple[int, int]]]


@dataclass(slots=True)
class Verdict:
    """``confidence`` None: not a candidate (``signal`` says why)."""

    confidence: str | None
    signal: str
    evidence: dict[str, Any] = field(default_factory=dict)


def _shares(lane: Lane, model: str) -> dict[datetime, float]:
    out = {}
    for day, models in lane.items():
        total = sum(n for n, _ in models.values())
        if total >= 20:
            out[day] = models.get(model, (0, 0))[0] / total
    return out


def _errors(lane: Lane, model: str) -> tuple[int, float]:
    requests = sum(day.get(model, (0, 0))[0] for day in lane.values())
    errors = sum(day.get(model, (0, 0))[1] for day in lane.values())
    return requests, (errors / requests if requests else 0.0)


def outcome_change(
    lane: Lane,
    outcomes: Mapping[datetime, int],
    before: list[datetime],
    after: list[datetime],
    units: Mapping[datetime, int] | None = None,
) -> dict[str, Any] | None:
    """Outcomes per unit of work on the ``before`` days and the ``after`` days, and whether they differ
    (``change``: ``up``, ``down`` or ``same``). A unit is a lane request, or the day's count in ``units``
    when given (an agent's workflows: a new model may make more calls per workflow, not fewer outcomes).
    None when neither side recorded an outcome."""
    sides = []
    for days in (before, after):
        if units is not None:
            requests = sum(int(units.get(d, 0)) for d in days)
        else:
            requests = sum(sum(n for n, _ in lane[d].values()) for d in days if d in lane)
        sides.append((sum(int(outcomes.get(d, 0)) for d in days), requests))
    (ob, nb), (oa, na) = sides
    if not (ob or oa) or not nb or not na:
        return None
    rb, ra = ob / nb, oa / na
    se = math.sqrt(ob / nb**2 + oa / na**2)
    change = "same"
    if se > 0 and abs(ra - rb) > Z * se:
        change = "up" if ra > rb else "down"
    return {
        "outcome_rate_before": round(rb, 4),
        "outcome_rate_after": round(ra, 4),
        "outcomes_before": ob,
        "outcomes_after": oa,
        "change": change,
    }


def _phases(shares_c: dict[datetime, float], shares_m: dict[datetime, float]) -> tuple[str, datetime | None]:
    """``away`` (C carried the lane, then M), ``to`` (M, then C), ``side`` (both at once), with the switch day."""
    days = sorted(set(shares_c) | set(shares_m))
    c_main = [d for d in days if shares_c.get(d, 0.0) >= MAIN_SHARE]
    m_main = [d for d in days if shares_m.get(d, 0.0) >= MAIN_SHARE]
    # the newcomer's arrival: its first day as a main model, or its first day at all for a side model
    m_arrival = m_main[0] if m_main else next((d for d in days if shares_m.get(d, 0.0) > 0), None)
    c_arrival = c_main[0] if c_main else None
    for first, switch, name in ((c_main, m_arrival, "away"), (m_main, c_arrival, "to")):
        if switch is None:
            continue
        early = [d for d in first if d < switch]
        later = [d for d in days if d > switch]
        if len(early) < MIN_DAYS or not later:
            continue
        share_first = shares_c if name == "away" else shares_m
        before = sum(share_first[d] for d in early) / len(early)
        after = sum(share_first.get(d, 0.0) for d in later) / len(later)
        if after < before / 2:
            return name, switch
    return "side", None


def judge(
    lane: Lane,
    outcomes: Mapping[datetime, int],
    current: str,
    cheaper: str,
    until: datetime,
    units: Mapping[datetime, int] | None = None,
) -> Verdict:
    """May ``current``'s traffic in ``lane`` move to ``cheaper``? ``outcomes``: the feature's per day;
    ``units``: the feature's workflows per day, for an agent step (else outcomes are per lane request)."""
    c_requests, c_errors = _errors(lane, cheaper)
    _, m_errors = _errors(lane, current)
    shares_c, shares_m = _shares(lane, cheaper), _shares(lane, current)
    peak = max(shares_c.values(), default=0.0)
    evidence: dict[str, Any] = {"target_requests": c_requests, "target_peak_share": round(peak, 3)}
    if c_requests < MIN_REQUESTS or peak < MAIN_SHARE:
        return Verdict(None, f"{cheaper} never carried the lane (a side model or a fallback)", evidence)
    evidence.update(error_rate=round(m_errors, 4), target_error_rate=round(c_errors, 4))
    if c_errors > m_errors + ERROR_MARGIN:
        return Verdict(None, f"{cheaper} failed more often ({c_errors:.1%} vs {m_errors:.1%})", evidence)
    kind, switch = _phases(shares_c, shares_m)
    evidence["history"] = {"away": "moved_away", "to": "moving_to", "side": "side_by_side"}[kind]
    if kind == "side" or switch is None:
        text = (
            f"{cheaper} and {current} served it side by side ({cheaper} up to {peak:.0%} of a day); outcomes "
            "are per feature, not per model, and the split may be by difficulty: try it on a sample first"
        )
        return Verdict("low", text, evidence)
    days = sorted(set(shares_c) | set(shares_m))
    older, newer = (shares_c, shares_m) if kind == "away" else (shares_m, shares_c)
    before = [d for d in days if d < switch and older.get(d, 0.0) >= MAIN_SHARE]
    after = [d for d in days if d > switch and newer.get(d, 0.0) > 0]
    age = max(0.0, (until - switch).total_seconds() / 86400)
    evidence["switched_at"] = switch
    change = outcome_change(lane, outcomes, before, after, units)
    if change:
        evidence.update(change)
    rates = (
        f"outcomes per {'workflow' if units is not None else 'request'} {change['outcome_rate_before']:.3f} "
        f"before, {change['outcome_rate_after']:.3f} after"
        if change
        else "no outcomes recorded to compare"
    )
    if kind == "to":
        if change and change["change"] == "down":
            return Verdict(None, f"moving to {cheaper} lowered the outcome rate ({rates})", evidence)
        level = "high" if change else "medium"
        return Verdict(
            level, f"{cheaper} already took over from {current} {age:.0f} days ago ({rates})", evidence
        )
    moved = f"moved from {cheaper} to {current} {age:.0f} days ago"
    if change and change["change"] == "up":
        return Verdict(None, f"{moved} and the outcome rate rose ({rates}): the upgrade pays", evidence)
    if change and change["change"] == "down":
        return Verdict("high", f"{moved} and the outcome rate fell ({rates}): {cheaper} did better", evidence)
    if age < SETTLED_DAYS:
        return Verdict("medium", f"{moved}; no better since ({rates})", evidence)
    return Verdict(
        "low",
        f"{moved} on purpose, a settled choice; outcomes unchanged ({rates}): revert only after an A/B test",
        evidence,
    )
