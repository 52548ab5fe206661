"""Commands: API keys and roles for the API, dashboard and MCP server (issue 10).

``aifinops keys create|list|revoke`` manage the API keys (through the running server when there is one, which
then needs an admin key in ``AIFINOPS_API_KEY`` once keys exist); ``aifinops mcp`` runs the MCP server.
"""

from __future__ import annotations

from typing import Any

import click

__all__ = ["register"]

_KEY_COLUMNS = ["id", "prefix", "name", "role", "team", "created_at", "revoked_at"]


def register(cli: click.Group, report: click.Group) -> None:
    """Add this area's commands to the ``aifinops`` group and its ``report`` group."""
    from aifinops.cli.main import _format_option, _Group
    from aifinops.cli.output import emit

    @cli.group(cls=_Group)
    def keys() -> None:
        """API keys for the API, dashboard and MCP server (roles: admin, finance, team)."""

    @keys.command("create")
    @click.option("--name", required=True, help="a name for the key (who or what uses it)")
    @click.option(
        "--role",
        type=click.Choice(["admin", "finance", "team"]),
        required=True,
        help="admin: everything; finance: reads everything; team: reads its own team only",
    )
    @click.option("--team", default=None, help="the team a team key may read (role team only)")
    @_format_option
    @click.pass_obj
    def keys_create(obj: Any, name: str, role: str, team: str | None, fmt: str) -> None:
        """Create an API key. The key is printed once: only its hash is stored."""
        body = {"name": name, "role": role, "team": team}
        row = obj.run(
            lambda app: app.keys_create(name=name, role=role, team=team),
            "/api/v1/keys",
            method="POST",
            json=body,
        )
        if fmt == "json":
            emit(row, fmt)
            return
        scope = f"team {row['team']}" if row.get("team") else "every team"
        click.echo(f"created {row['role']} key {row['name']!r} ({row['prefix']}, reads {scope})", err=True)
        click.echo("store it now, it is not shown again:", err=True)
        click.echo(row["key"])

    @keys.command("list")
    @click.option("--all", "include_revoked", is_flag=True, help="also list revoked keys")
    @_format_option
    @click.pass_obj
    def keys_list(obj: Any, include_revoked: bool, fmt: str) -> None:
        """List API keys (never their secrets)."""
        rows = obj.run(
            lambda app: app.keys_list(include_revoked=include_revoked),
            "/api/v1/keys",
            params={"include_revoked": "true" if include_revoked else None},
        )
        emit(rows, fmt, columns=_KEY_COLUMNS, title="API keys")

    @keys.command("revoke")
    @click.argument("key_id")
    @_format_option
    @click.pass_obj
    def keys_revoke(obj: Any, key_id: str, fmt: str) -> None:
        """Revoke an API key by its id (as `keys list` shows it); it stops working at once."""
        row = obj.run(lambda app: app.keys_revoke(key_id), f"/api/v1/keys/{key_id}", method="DELETE")
        if fmt == "json":
            emit(row, fmt)
            return
        click.echo(f"revoked {row['prefix']} ({row['name']})")

    @cli.command()
    @click.option(
        "--transport",
        type=click.Choice(["stdio", "http"]),
        default="stdio",
        show_default=True,
        help="stdio (an MCP client starts this command) or streamable HTTP",
    )
    @click.option(
        "--host", default="127.0.0.1", show_default=True, help="HTTP transport: address to listen on"
    )
    @click.option("--port", type=click.IntRange(1, 65535), default=8790, show_default=True, help="HTTP port")
    @click.pass_obj
    def mcp(obj: Any, transport: str, host: str, port: int) -> None:
        """Run the MCP server: tools to query spend, explain cost drivers, list anomalies, budgets, KPIs.

        Over stdio the server acts for AIFINOPS_API_KEY when it is set (a team key sees its team only), else
        for the local user. Over HTTP every request needs an API key unless the server is in local mode
        (loopback and no keys configured).
        """
        from aifinops.mcp import run_mcp

        run_mcp(obj, transport=transport, host=host, port=port)
