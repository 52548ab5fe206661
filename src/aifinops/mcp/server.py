"""The MCP server (official ``mcp`` SDK): aifinops' spend, drivers, anomalies, budgets, recommendations, KPIs.

Every tool runs on the facade as the caller may see it (:meth:`App.scoped`): a team key's tools see only its
team. Over stdio the caller is fixed when the server starts; over streamable HTTP each request carries its key
(``Authorization: Bearer``), and a request without a valid one gets 401 unless the server is in local mode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from aifinops.core.errors import AifinopsError
from aifinops.mcp import tools

__all__ = ["build_server", "INSTRUCTIONS"]

INSTRUCTIONS = (
    "aifinops meters and prices AI spend (LLM tokens, GPU hours, cloud AI lines) and attributes it to teams, "
    "projects, features and customers. Money is in decimal strings. Periods take `since`/`until` as 30d, 7d, "
    "2026-01-01 or ISO times (until is exclusive). Start with `spend` or `explain_costs`; `dimensions` lists "
    "what you can group by (any other name is a tag key)."
)
_READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)

Since = Annotated[str | None, Field(description="start: 30d, 7d, 2026-01-01 or an ISO time")]
Until = Annotated[str | None, Field(description="end (exclusive); default now")]


def _run(fn: Callable[[], Any]) -> Any:
    """Turn aifinops and argument errors into tool errors the model can read."""
    try:
        return fn()
    except tools.NotAvailable as exc:
        raise ToolError(str(exc)) from None
    except AifinopsError as exc:
        raise ToolError(f"{exc.code}: {exc.message}") from None
    except ValueError as exc:
        raise ToolError(f"invalid_input: {exc}") from None


def build_server(resolve: Callable[[Context], tuple[Any, Any]], *, name: str = "aifinops") -> MCPServer:
    """An MCP server whose tools run on ``resolve(ctx)``: ``(facade as the caller may see it, principal)``."""
    from aifinops import __version__

    server: MCPServer = MCPServer(name, version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")

    def scoped(ctx: Context) -> Any:
        return _run(lambda: resolve(ctx))[0]

    @server.tool(annotations=_READ)
    def whoami(ctx: Context) -> dict[str, Any]:
        """Who this MCP session acts for: role (admin, finance, team), team, and whether it is local mode."""
        return _run(lambda: resolve(ctx))[1].to_dict()

    @server.tool(annotations=_READ)
    def dimensions(ctx: Context) -> dict[str, Any]:
        """The record columns spend can be grouped or filtered by (any other name is a tag key)."""
        return {"dimensions": scoped(ctx).dimensions()}

    @server.tool(annotations=_READ)
    def spend(
        ctx: Context,
        by: Annotated[
            str, Field(description="comma-separated dimensions, e.g. team,model (empty: the total)")
        ] = "team",
        since: Since = "30d",
        until: Until = None,
        where: Annotated[
            dict[str, str] | None, Field(description='filters, e.g. {"provider": "openai"}')
        ] = None,
        grain: Annotated[
            str | None, Field(description="hour, day, week or month (adds a period column)")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=1000)] = 50,
    ) -> dict[str, Any]:
        """AI spend grouped by any dimensions (team, project, feature, customer, model, provider, category, ...)."""
        app = scoped(ctx)
        return _run(
            lambda: tools.spend(app, by=by, since=since, until=until, where=where, grain=grain, limit=limit)
        )

    @server.tool(annotations=_READ)
    def explain_costs(
        ctx: Context,
        since: Since = "30d",
        until: Until = None,
        by: Annotated[str, Field(description="dimensions to look for drivers in")] = "team,model,feature",
        where: Annotated[dict[str, str] | None, Field(description="filters")] = None,
        top: Annotated[int, Field(ge=1, le=50)] = 5,
    ) -> dict[str, Any]:
        """The top cost drivers of a period: the biggest groups per dimension and the biggest movers against
        the previous period of the same length, with the total's change."""
        app = scoped(ctx)
        return _run(lambda: tools.explain(app, since=since, until=until, by=by, where=where, top=top))

    @server.tool(annotations=_READ)
    def list_anomalies(
        ctx: Context,
        since: Since = "30d",
        kind: Annotated[str | None, Field(description="only this kind, e.g. spend_spike")] = None,
        limit: Annotated[int, Field(ge=1, le=1000)] = 50,
    ) -> dict[str, Any]:
        """Cost anomalies detected since a time (spikes, runaway workflows, idle endpoints, budget overruns),
        with their expected and observed values, impact and explanation."""
        app = scoped(ctx)
        return {"anomalies": _run(lambda: tools.anomalies(app, since=since, kind=kind, limit=limit))}

    @server.tool(annotations=_READ)
    def list_budgets(ctx: Context) -> dict[str, Any]:
        """Budgets: scope, period, amount, spend to date and the share used."""
        app = scoped(ctx)
        return {"budgets": _run(lambda: tools.budgets(app))}

    @server.tool(annotations=_READ)
    def list_recommendations(ctx: Context, since: Since = "30d", until: Until = None) -> dict[str, Any]:
        """Savings recommendations with their estimated monthly savings."""
        app = scoped(ctx)
        return {"recommendations": _run(lambda: tools.recommendations(app, since=since, until=until))}

    @server.tool(annotations=_READ)
    def get_kpis(
        ctx: Context,
        by: Annotated[str, Field(description="comma-separated dimensions (empty: overall)")] = "",
        since: Since = "30d",
        until: Until = None,
        names: Annotated[list[str] | None, Field(description="only these KPIs")] = None,
    ) -> dict[str, Any]:
        """Unit-economics KPIs (cost per request, per outcome, cache hit rate, ...) per group."""
        app = scoped(ctx)
        return {"kpis": _run(lambda: tools.kpis(app, by=by, since=since, until=until, names=names))}

    return server
