"""Agent workflows: a trace (or a ``gen_ai.conversation.id``) is a workflow; its agent, tool and model
steps form a tree. Pure domain: ledger rows in, trees and statistics out (no I/O).

    flows = build_workflows(*rows_for_ranking(records, spans, top))   # ledger Arrow tables in
    rank(flows, order="cost", top=20)       # the most expensive (or the deepest) workflows
    steps(flow), tree(flow)                 # where one workflow's money went
    agent_stats(flows)                      # per agent name: runs, cost per run, p50/p95
"""

from __future__ import annotations

from aifinops.workflows.select import rows_for_agents, rows_for_ranking
from aifinops.workflows.stats import (
    ORDERS,
    agent_stats,
    depth,
    percentile,
    rank,
    retries,
    steps,
    summarize,
    tree,
)
from aifinops.workflows.tree import KINDS, Node, Workflow, build_workflows

__all__ = [
    "KINDS",
    "ORDERS",
    "Node",
    "Workflow",
    "agent_stats",
    "build_workflows",
    "depth",
    "percentile",
    "rank",
    "retries",
    "rows_for_agents",
    "rows_for_ranking",
    "steps",
    "summarize",
    "tree",
]
