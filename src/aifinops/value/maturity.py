"""FinOps-for-AI maturity: crawl, walk or run per capability, from the data and the config, plus next steps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["assess", "STAGES"]

STAGES = ("crawl", "walk", "run")

# capability -> (how it is measured, thresholds for walk and run, advice to move up)
_CHECKS: dict[str, tuple[str, float, float, str]] = {
    "tag_coverage": (
        "share of AI spend with a team and a feature",
        0.5,
        0.9,
        "attribute spend: give every gateway key a team and send x-aifinops-feature on each call",
    ),
    "budgets": (
        "budgets in force (hard ones count double)",
        1,
        3,
        "add budgets per team under budgets: in aifinops.yaml, hard for the risky ones",
    ),
    "guardrails": (
        "model rules, rate limits and agent caps in force",
        1,
        3,
        "add guardrails: a models: allow-list per team, rate_limits and agents: caps",
    ),
    "kpis": (
        "KPIs that can be computed: cost per request, per outcome, per customer",
        1,
        3,
        "track unit economics: tag customers and record outcomes so cost per outcome is known",
    ),
    "alerts": (
        "alert routes to channels (channels without routes count half)",
        1,
        2,
        "route alerts: add channels under alerts: so budget and anomaly alerts reach an owner",
    ),
    "value": (
        "share of AI spend in initiatives that record outcomes with a value",
        0.3,
        0.7,
        "track value: send business outcomes (aifinops ingest outcomes, POST /api/v1/outcomes)",
    ),
}


def _stage(score: float, walk: float, run: float) -> str:
    return "run" if score >= run else ("walk" if score >= walk else "crawl")


def assess(facts: Mapping[str, float]) -> dict[str, Any]:
    """The stage of each capability, the overall stage (the weakest one's) and the next three steps.

    ``facts`` maps each capability of ``_CHECKS`` to its measured score.
    """
    rows = []
    for name, (what, walk, run, advice) in _CHECKS.items():
        score = float(facts.get(name, 0.0))
        stage = _stage(score, walk, run)
        gap = 0.0 if stage == "run" else ((walk if stage == "crawl" else run) - score) / (run or 1)
        rows.append(
            {
                "capability": name,
                "measure": what,
                "score": round(score, 4),
                "stage": stage,
                "advice": advice,
                "_rank": (STAGES.index(stage), -gap),
            }
        )
    overall = min((r["stage"] for r in rows), key=STAGES.index)
    todo = sorted((r for r in rows if r["stage"] != "run"), key=lambda r: r["_rank"])
    for r in rows:
        r.pop("_rank")
    return {
        "stage": overall,
        "capabilities": rows,
        "next_steps": [r["advice"] for r in todo[:3]],
    }
