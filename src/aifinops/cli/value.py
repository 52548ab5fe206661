"""Commands: Savings recommendations, the value ledger, zombie projects, maturity (issue 9)."""

from __future__ import annotations

from typing import Any

import click

__all__ = ["register"]

_REC_COLUMNS = ["id", "kind", "confidence", "monthly_saving", "title"]
#: What `recommend` does not analyse yet, said every time rather than implied.
SEMANTIC_NOTE = (
    "note: semantic (near-duplicate) caching is not analysed yet: exact duplicates are (response_caching); "
    "near duplicates need request embeddings: opt in with value.keep_embeddings: true (extra aifinops[semantic])."
)
#: With ``value.keep_embeddings: true`` near duplicates are analysed; said when none was found.
SEMANTIC_ON_NOTE = (
    "note: no near-duplicate requests in this window (semantic caching is analysed from the request embeddings "
    "the gateway keeps: value.keep_embeddings, similarity_threshold {threshold})."
)


def _semantic_note(obj: Any, found: bool) -> str | None:
    """What to say about semantic caching: not analysed (the default), or analysed and nothing found."""
    from aifinops.core.errors import ConfigError
    from aifinops.core.settings import load_settings

    try:
        value = load_settings(obj.config).value if obj.config is not None else None
    except ConfigError:
        value = None
    if value is None or not value.keep_embeddings:
        return SEMANTIC_NOTE
    return None if found else SEMANTIC_ON_NOTE.format(threshold=value.similarity_threshold)


_VALUE_COLUMNS = ["cost", "value", "outcomes", "roi", "cost_per_outcome", "value_per_dollar", "trend"]


_MONEY = ("monthly_saving", "expected_monthly_saving", "realized_monthly_saving", "value", "cost_per_outcome")
_RATIOS = ("roi", "value_per_dollar")


def _emit(rows: Any, fmt: str, **kwargs: Any) -> None:
    """Emit rows; in a table, money columns read as dollars and ratios with two decimals."""
    from aifinops.cli.output import emit, format_money

    if fmt == "table" and isinstance(rows, list):
        rows = [
            {
                k: format_money(v)
                if k in _MONEY and v is not None
                else (f"{v:.2f}" if k in _RATIOS and v is not None else v)
                for k, v in row.items()
            }
            for row in rows
        ]
    emit(rows, fmt, **kwargs)


def register(cli: click.Group, report: click.Group) -> None:
    """Add this area's commands to the ``aifinops`` group and its ``report`` group."""
    from aifinops.cli.main import _format_option, _Group

    @cli.group("recommend", cls=_Group, invoke_without_command=True)
    @click.option("--since", default=None, help="window start (default: value.window_days ago)")
    @click.option("--until", default=None)
    @click.option("--kind", multiple=True, help="only this kind (repeatable)")
    @click.option("--limit", type=click.IntRange(1), default=None)
    @click.option("--show-change", is_flag=True, help="print each recommendation's change (yaml snippet)")
    @_format_option
    @click.pass_context
    def recommend(
        ctx: click.Context,
        since: str | None,
        until: str | None,
        kind: tuple[str, ...],
        limit: int | None,
        show_change: bool,
        fmt: str,
    ) -> None:
        """Savings recommendations ranked by monthly saving; `recommend apply ID` records one as applied."""
        if ctx.invoked_subcommand is not None:
            return
        from aifinops.core.timeutil import parse_time

        obj = ctx.obj
        rows = obj.run(
            lambda app: app.recommendations(
                since=parse_time(since, name="since") if since else None,
                until=parse_time(until, name="until") if until else None,
                kinds=list(kind) or None,
                limit=limit,
            ),
            "/api/v1/recommendations",
            params={"since": since, "until": until, "kind": list(kind), "limit": limit},
        )
        if fmt != "table":
            _emit(rows, fmt)
            return
        if not rows:
            click.echo("no recommendations: nothing to save in this window")
        else:
            _emit(rows, fmt, columns=_REC_COLUMNS, title="savings recommendations (monthly)")
            if show_change:
                for row in rows:
                    click.echo(f"\n# {row['id']}: {row['title']}\n{row['change']}")
        if not kind or "semantic_caching" in kind:
            note = _semantic_note(obj, any(r.get("kind") == "semantic_caching" for r in rows))
            if note:
                click.echo(note, err=True)

    @recommend.command("apply")
    @click.argument("rec_id")
    @click.option("--at", "applied_at", default=None, help="when the change went live (default now)")
    @click.option("--note", default=None)
    @_format_option
    @click.pass_obj
    def recommend_apply(obj: Any, rec_id: str, applied_at: str | None, note: str | None, fmt: str) -> None:
        """Record that recommendation REC_ID was applied; its realized saving is measured from then on."""
        from aifinops.core.timeutil import parse_time

        result = obj.run(
            lambda app: app.apply_recommendation(
                rec_id, applied_at=parse_time(applied_at, name="at") if applied_at else None, note=note
            ),
            f"/api/v1/recommendations/{rec_id}/apply",
            method="POST",
            json={"applied_at": applied_at, "note": note},
        )
        _emit(result, fmt)

    @report.command("value")
    @click.option(
        "--by", default="feature", show_default=True, help="team, project, feature, customer, initiative..."
    )
    @click.option("--since", default="30d", show_default=True)
    @click.option("--until", default=None)
    @click.option("--where", multiple=True, help="KEY=VALUE filter (repeatable)")
    @_format_option
    @click.pass_obj
    def report_value(
        obj: Any, by: str, since: str, until: str | None, where: tuple[str, ...], fmt: str
    ) -> None:
        """AI ROI, cost per outcome, value per dollar and trend per group."""
        from aifinops.core.timeutil import parse_time, parse_where

        rows = obj.run(
            lambda app: app.value_summary(
                by=[d.strip() for d in by.split(",") if d.strip()],
                since=parse_time(since, name="since"),
                until=parse_time(until, name="until") if until else None,
                where=parse_where(list(where)),
            ),
            "/api/v1/value",
            params={"by": by, "since": since, "until": until, "where": list(where)},
        )
        dims = [d.strip() for d in by.split(",") if d.strip()]
        _emit(rows, fmt, columns=dims + _VALUE_COLUMNS, title=f"AI value since {since}")

    @report.command("zombies")
    @click.option("--window-days", type=click.IntRange(1, 366), default=None)
    @_format_option
    @click.pass_obj
    def report_zombies(obj: Any, window_days: int | None, fmt: str) -> None:
        """Initiatives with spend and no outcomes (or a falling value ratio), for review."""
        rows = obj.run(
            lambda app: app.zombies(window_days=window_days),
            "/api/v1/zombies",
            params={"window_days": window_days},
        )
        if fmt == "table" and not rows:
            click.echo("no zombie initiatives")
            return
        _emit(
            rows,
            fmt,
            columns=["initiative", "reason", "monthly_cost", "outcomes"],
            title="zombie initiatives",
        )

    @report.command("savings")
    @_format_option
    @click.pass_obj
    def report_savings(obj: Any, fmt: str) -> None:
        """The savings ledger: applied recommendations, expected and realized monthly saving."""
        rows = obj.run(lambda app: app.savings(), "/api/v1/savings")
        if fmt == "table" and not rows:
            click.echo("no recommendation applied yet: see `aifinops recommend`")
            return
        cols = [
            "id",
            "title",
            "applied_at",
            "expected_monthly_saving",
            "realized_monthly_saving",
            "days_measured",
        ]
        _emit(rows, fmt, columns=cols, title="savings ledger")

    @cli.command("maturity")
    @_format_option
    @click.pass_obj
    def maturity(obj: Any, fmt: str) -> None:
        """Crawl / walk / run per capability, and the next three steps."""
        info = obj.run(lambda app: app.maturity(), "/api/v1/maturity")
        if fmt != "table":
            _emit(info, fmt)
            return
        click.echo(f"stage: {info['stage']}")
        _emit(info["capabilities"], fmt, columns=["capability", "stage", "score", "measure"])
        click.echo("next steps:")
        for i, step in enumerate(info["next_steps"], 1):
            click.echo(f"  {i}. {step}")


def ingest_outcome_files(obj: Any, paths: list[Any], reject_file: Any) -> dict[str, Any]:
    """``aifinops ingest outcomes PATH...``: locally, or through the running server's API."""
    return obj.run(
        lambda app: app.ingest_outcomes(paths, reject_path=reject_file),
        "/api/v1/outcomes/import",
        method="POST",
        json={"paths": [str(p.resolve()) for p in paths], "reject_path": str(reject_file.resolve())},
    )


def simulate_policy_file(
    obj: Any, file: Any, since: str, until: str | None, owner: str
) -> list[dict[str, Any]]:
    """`policy simulate FILE`: the dry run on the ledger file, or through the running server's
    ``POST /api/v1/policy/simulate`` (the YAML text as the body) while `aifinops serve` holds the ledger.
    FILE is validated here first, so its errors name the file's own path, line and field."""
    from aifinops.budgets.simulate import from_json
    from aifinops.core.jsonable import jsonable
    from aifinops.core.settings import load_settings
    from aifinops.core.timeutil import parse_time

    settings = load_settings(file)
    text = file.read_text(encoding="utf-8")

    def local(app: Any) -> Any:
        findings = app.simulate_policy(
            settings,
            since=parse_time(since, name="since"),
            until=parse_time(until, name="until") if until else None,
            owner=owner,
        )
        return jsonable(findings)

    params = {"since": since, "until": until, "owner": owner}
    result = obj.run(local, "/api/v1/policy/simulate", method="POST", params=params, json={"yaml": text})
    return from_json(result)
