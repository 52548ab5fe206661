"""`aifinops report workflows`: the most expensive or deepest agent workflows, one workflow's steps, agents."""

from __future__ import annotations

from typing import Any

import click

from aifinops.cli.output import FORMATS, emit
from aifinops.core.timeutil import parse_time

__all__ = ["report_workflows"]

_COLUMNS = [
    "workflow",
    "name",
    "cost",
    "model_calls",
    "tool_calls",
    "agent_runs",
    "depth",
    "retries",
    "errors",
    "duration_ms",
    "unpriced_calls",
]
#: The table view's columns (short names) and the row keys they show.
_TABLE = {
    "workflow": "workflow",
    "name": "name",
    "cost": "cost",
    "calls": "model_calls",
    "tools": "tool_calls",
    "depth": "depth",
    "retries": "retries",
    "errors": "errors",
    "seconds": "duration_ms",
}
_AGENT_COLUMNS = [
    "agent",
    "kind",
    "runs",
    "cost",
    "cost_per_run",
    "cost_p50",
    "cost_p95",
    "duration_ms_p50",
    "duration_ms_p95",
    "model_calls_per_run",
    "errors",
]
_AGENT_TABLE = {
    "agent": "agent",
    "kind": "kind",
    "runs": "runs",
    "cost": "cost",
    "per_run_cost": "cost_per_run",
    "p50_cost": "cost_p50",
    "p95_cost": "cost_p95",
    "p50_ms": "duration_ms_p50",
    "p95_ms": "duration_ms_p95",
    "calls_per_run": "model_calls_per_run",
    "errors": "errors",
}
_STEP_COLUMNS = ["step", "kind", "calls", "cost", "share"]


def _get(backend: Any, path: str, params: dict[str, Any]) -> Any:
    """Ask the running server (``Remote``) or the facade (``Local``) the same question."""
    app = getattr(backend, "app", None)
    if app is None:
        return backend._call("GET", f"/api/v1{path}", params={k: v for k, v in params.items() if v})
    since = parse_time(params["since"], name="since") if params.get("since") else None
    until = parse_time(params["until"], name="until") if params.get("until") else None
    if path == "/workflows":
        return app.workflows(top=params["top"], order=params["order"], since=since, until=until)
    if path == "/agents":
        return app.agents(since=since, until=until)
    return app.workflow(path.rsplit("/", 1)[1])


@click.command("workflows")
@click.option("--top", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--by", "order", type=click.Choice(["cost", "depth"]), default="cost", show_default=True, help="rank by"
)
@click.option("--since", default="30d", show_default=True, help="30d, 12h, 2026-01-01 or an ISO time")
@click.option("--until", default=None, help="end (exclusive)")
@click.option(
    "--workflow", "workflow_id", default=None, help="one workflow (trace or conversation id): cost by step"
)
@click.option("--agents", is_flag=True, help="per agent name: runs, cost per run, p50/p95")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.pass_obj
def report_workflows(
    obj: Any,
    top: int,
    order: str,
    since: str,
    until: str | None,
    workflow_id: str | None,
    agents: bool,
    fmt: str,
) -> None:
    """Agent workflows (a trace or a gen_ai.conversation.id): the most expensive or the deepest, with
    model calls, tool calls, depth and retries; `--workflow ID` for one, `--agents` per agent name."""
    with obj.backend() as backend:
        if workflow_id is not None:
            detail = _get(backend, f"/workflows/{workflow_id}", {})
        elif agents:
            rows = _get(backend, "/agents", {"since": since, "until": until})
        else:
            rows = _get(backend, "/workflows", {"top": top, "order": order, "since": since, "until": until})
    if workflow_id is not None:
        if fmt != "table":
            emit(detail, fmt)
            return
        summary = {k: detail[k] for k in _COLUMNS if k in detail}
        emit(summary, fmt, columns=_COLUMNS, title=f"workflow {workflow_id}")
        emit(detail["steps"], fmt, columns=_STEP_COLUMNS, title="cost by step")
        return
    if agents:
        if fmt == "table":
            rows = [{short: row.get(name) for short, name in _AGENT_TABLE.items()} for row in rows]
            emit(rows, fmt, columns=list(_AGENT_TABLE), title=f"agents since {since}")
            return
        emit(rows, fmt, columns=_AGENT_COLUMNS, title=f"agents since {since}")
        return
    what = "most expensive" if order == "cost" else "deepest"
    if fmt == "table":
        rows = [_short(row) for row in rows]
        emit(rows, fmt, columns=list(_TABLE), title=f"{what} workflows since {since}")
        return
    emit(rows, fmt, columns=_COLUMNS, title=f"{what} workflows since {since}")


def _short(row: dict[str, Any]) -> dict[str, Any]:
    """A workflow row with the short column names of the table view."""
    out = {short: row.get(name) for short, name in _TABLE.items()}
    out["seconds"] = round(float(row["duration_ms"]) / 1000, 1)
    return out
