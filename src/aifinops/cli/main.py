"""`aifinops`: thin commands over the facade (or over a running server that holds the ledger)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path
from typing import Any

import click

from aifinops.cli.output import FORMATS, emit
from aifinops.cli.remote import Remote, find_server
from aifinops.cli.workflows import report_workflows
from aifinops.core.errors import AifinopsError
from aifinops.core.timeutil import parse_time, parse_where

__all__ = ["cli", "main"]

_SOURCES = (
    "openai-usage",
    "openai-costs",
    "anthropic-usage",
    "anthropic-costs",
    "focus",
    "records",
    "jobs",
    "dcgm",
    "nvidia-smi",
    "outcomes",
)
_REPORT_COLUMNS = [
    "cost",
    "requests",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "unpriced_records",
]


class _Failure(click.ClickException):
    """A library error as a one-line message (plus details) and exit status 1."""

    def __init__(self, exc: AifinopsError) -> None:
        super().__init__(exc.message)
        self.details = exc.details

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)
        for detail in self.details[:20]:
            click.echo(f"  {detail}", err=True)


class _Group(click.Group):
    """Turns :class:`AifinopsError` into :class:`_Failure` for every subcommand."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AifinopsError as exc:
            raise _Failure(exc) from exc


class Ctx:
    """Global options, resolved: flags > environment > defaults."""

    def __init__(self, config: str | None, data_dir: str | None) -> None:
        self.data_dir = Path(data_dir or os.environ.get("AIFINOPS_DATA_DIR") or ".aifinops")
        config_path = config or os.environ.get("AIFINOPS_CONFIG")
        self.config: Path | None = Path(config_path) if config_path else self._found_config()

    def _found_config(self) -> Path | None:
        """``./aifinops.yaml``, else the data folder's own (``aifinops demo`` writes one there)."""
        for path in (Path("aifinops.yaml"), self.data_dir / "aifinops.yaml"):
            if path.exists():
                return path
        return None

    def open_app(self) -> Any:
        from aifinops.app import App

        return App.open(self.config, self.data_dir)

    def run(
        self,
        local: Callable[[Any], Any],
        path: str,
        *,
        method: str = "GET",
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """``local(app)`` on the ledger file, or the same API call (``path``) on the running server.

        Every command that reads or writes the ledger goes through here (or :meth:`backend`), so it works
        while ``aifinops serve`` holds the file. Query parameters that are ``None`` or empty are dropped.
        """
        remote = find_server(self.data_dir)
        if remote is not None:
            query = {k: v for k, v in (params or {}).items() if v not in (None, [], "")}
            return remote.call(method, path, params=query, json=json)
        app = self.open_app()
        try:
            return local(app)
        finally:
            app.close()

    @contextmanager
    def backend(self) -> Iterator[Local | Remote]:
        """The running server for this data folder if there is one, else the ledger file itself."""
        remote = find_server(self.data_dir)
        if remote is not None:
            yield remote
            return
        app = self.open_app()
        try:
            yield Local(app)
        finally:
            app.close()


class Local:
    """The facade, with the same string parameters as :class:`Remote`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def report_costs(self, **p: Any) -> list[dict[str, Any]]:
        return self.app.report_costs(
            by=[d for d in (p.get("by") or "").split(",") if d],
            since=parse_time(p["since"], name="since") if p.get("since") else None,
            until=parse_time(p["until"], name="until") if p.get("until") else None,
            where=parse_where(p.get("where") or []),
            grain=p.get("grain"),
            sources=p.get("sources") or "authoritative",
            limit=p.get("limit"),
        )

    def ingest(
        self, source: str, paths: list[Path], reject_path: Path | None, all_lines: bool
    ) -> dict[str, Any]:
        options = {"all_lines": True} if all_lines else {}
        return self.app.ingest(
            source, paths, reject_path=reject_path, progress=sys.stderr.isatty(), **options
        )

    def prices_show(self, model: str, provider: str | None) -> dict[str, Any]:
        return self.app.prices_show(model, provider=provider)

    def reprice(self) -> dict[str, Any]:
        return self.app.reprice()

    def doctor(self) -> dict[str, Any]:
        return self.app.doctor()


def _format_option(func: Any) -> Any:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="output format",
    )(func)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    help="aifinops.yaml (default ./aifinops.yaml or $AIFINOPS_CONFIG)",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="data folder (default ./.aifinops or $AIFINOPS_DATA_DIR)",
)
@click.version_option(package_name="aifinops")
@click.pass_context
def cli(ctx: click.Context, config: str | None, data_dir: str | None) -> None:
    """aifinops: economic observability for AI."""
    ctx.obj = Ctx(config, data_dir)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8787, show_default=True, type=int)
@click.pass_obj
def serve(obj: Ctx, host: str, port: int) -> None:
    """Serve the API (/api/v1), dashboard (/), /healthz and /readyz on one port."""
    from aifinops.cli.serving import run_server

    run_server(obj.open_app(), obj.data_dir, host, port)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8788, show_default=True, type=int)
@click.option(
    "--ledger-url", default=None, help="the aifinops server that owns the ledger (or fleet.ledger_url)"
)
@click.pass_obj
def gateway(obj: Ctx, host: str, port: int, ledger_url: str | None) -> None:
    """Run a gateway-only fleet member: records go to the ledger server, limits are shared through Redis."""
    from aifinops.cli.serving import run_server

    app = obj.open_app()
    url = ledger_url or app.settings.fleet.ledger_url
    if not url:
        raise click.UsageError("give --ledger-url or set fleet.ledger_url in aifinops.yaml")
    run_server(app, obj.data_dir, host, port, ledger_url=url)


@cli.command()
@click.option("--seed", default=42, show_default=True, type=int)
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 730))
@click.option("--scale", default=1.0, show_default=True, type=click.FloatRange(0.001, 100))
@click.option("--no-serve", is_flag=True, help="only generate the data")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8787, show_default=True, type=int)
@click.pass_obj
def demo(obj: Ctx, seed: int, days: int, scale: float, no_serve: bool, host: str, port: int) -> None:
    """Generate the demo company into the data folder, then serve it."""
    if find_server(obj.data_dir) is not None:
        raise AifinopsError(f"a server is already running for {obj.data_dir}; stop it before `aifinops demo`")
    if obj.config is None:  # no config of the user's: the demo company's own, written beside its ledger
        from importlib.resources import files

        obj.data_dir.mkdir(parents=True, exist_ok=True)
        obj.config = obj.data_dir / "aifinops.yaml"
        obj.config.write_text(files("aifinops.demo").joinpath("data/aifinops.yaml").read_text())
        click.echo(f"wrote the demo company's config (budgets, allocation, ...) to {obj.config}", err=True)
    app = obj.open_app()
    click.echo(f"generating the demo company (seed {seed}, {days} days) into {obj.data_dir} ...", err=True)
    summary = app.load_demo(seed=seed, days=days, scale=scale)
    click.echo(
        f"demo ready: {summary['inserted']:,} records added ({summary['duplicates']:,} already there), "
        f"{summary['outcomes']:,} outcomes, {summary.get('gpu_samples', 0):,} GPU telemetry samples",
        err=True,
    )
    if no_serve:
        app.close()
        return
    from aifinops.cli.serving import run_server

    run_server(app, obj.data_dir, host, port, emulate=not app.settings.providers)


@cli.command()
@click.argument("source", type=click.Choice(_SOURCES))
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--reject-file", type=click.Path(dir_okay=False, path_type=Path), help="where bad rows go (JSONL)"
)
@click.option(
    "--all-lines", is_flag=True, help="focus: import every line of the bill, not only AI and GPU lines"
)
@click.option("--host", default=None, help="nvidia-smi: the host the CSV was recorded on (default this one)")
@click.option("--tz", default=None, help="nvidia-smi: time zone of its timestamps (default UTC)")
@click.option(
    "--interval", type=click.FloatRange(0.001), default=None, help="dcgm/nvidia-smi: seconds a sample covers"
)
@_format_option
@click.pass_obj
def ingest(
    obj: Ctx,
    source: str,
    paths: tuple[Path, ...],
    reject_file: Path | None,
    all_lines: bool,
    fmt: str,
    **gpu_options: Any,
) -> None:
    """Import provider reports, FOCUS bills, records, GPU telemetry or job records. Re-importing is a no-op."""
    from aifinops.cli.gpu import GPU_SOURCES, ingest_gpu_files

    if all_lines and source != "focus":
        raise click.UsageError("--all-lines applies only to the focus source")
    if source not in GPU_SOURCES and any(v is not None for v in gpu_options.values()):
        raise click.UsageError("--host, --tz and --interval apply only to the dcgm and nvidia-smi sources")
    if reject_file is None:
        reject_file = obj.data_dir / "rejects" / f"{source}-{paths[0].name}.rejects.jsonl"
    if source in GPU_SOURCES:
        result = ingest_gpu_files(obj, source, list(paths), reject_file, **gpu_options)
    elif source == "outcomes":  # business outcomes go to the value ledger
        from aifinops.cli.value import ingest_outcome_files

        result = ingest_outcome_files(obj, list(paths), reject_file)
    else:
        with obj.backend() as backend:
            result = backend.ingest(source, list(paths), reject_file, all_lines)
    errors = result.pop("errors", None) or []
    emit(result, fmt)
    for err in errors[:20]:
        click.echo(f"rejected: {err.get('file', '')}, line {err.get('line')}: {err.get('reason')}", err=True)
    if len(errors) > 20:
        click.echo(f"... and {len(errors) - 20} more rejected rows", err=True)
    if errors:
        click.echo(f"rejected rows written to {reject_file}", err=True)


@cli.group(cls=_Group)
def report() -> None:
    """Reports over the ledger."""


report.add_command(report_workflows)


@report.command("costs")
@click.option("--by", default="", help="comma-separated dimensions or tag keys, e.g. team,model")
@click.option("--since", default="30d", show_default=True, help="30d, 12h, 2026-01-01 or an ISO time")
@click.option("--until", default=None, help="end (exclusive)")
@click.option("--where", multiple=True, help="KEY=VALUE filter (repeatable)")
@click.option("--grain", type=click.Choice(["hour", "day", "week", "month"]), default=None)
@click.option(
    "--sources", type=click.Choice(["authoritative", "all"]), default="authoritative", show_default=True
)
@click.option("--limit", type=click.IntRange(1), default=None)
@click.option("--allocated", is_flag=True, help="apply the allocation rules (adds an allocation column)")
@_format_option
@click.pass_obj
def report_costs(
    obj: Ctx,
    by: str,
    since: str,
    until: str | None,
    where: tuple[str, ...],
    grain: str | None,
    sources: str,
    limit: int | None,
    allocated: bool,
    fmt: str,
) -> None:
    """Spend rollups, e.g. `aifinops report costs --by team,model --since 30d`."""
    if allocated:
        from aifinops.cli.allocation import allocated_rows

        if sources != "authoritative":
            raise click.UsageError("--allocated reads the authoritative sources only")
        rows = allocated_rows(
            obj, by=by, since=since, until=until, where=list(where), grain=grain, limit=limit
        )
    else:
        with obj.backend() as backend:
            rows = backend.report_costs(
                by=by, since=since, until=until, where=list(where), grain=grain, sources=sources, limit=limit
            )
    dims = [d for d in by.split(",") if d and d != "allocation"] + (["period"] if grain else [])
    dims += ["allocation"] if allocated else []
    emit(rows, fmt, columns=dims + _REPORT_COLUMNS, title=f"AI spend since {since}")


@cli.group(cls=_Group)
def prices() -> None:
    """The price catalog."""


@prices.command("show")
@click.argument("model")
@click.option("--provider", default=None)
@_format_option
@click.pass_obj
def prices_show(obj: Ctx, model: str, provider: str | None, fmt: str) -> None:
    """What MODEL costs per token class and tier, with its source."""
    with obj.backend() as backend:
        info = backend.prices_show(model, provider)
    if fmt != "table":
        emit(info, fmt)
        return
    from aifinops.cli.prices_view import print_price

    print_price(info)


@cli.group(cls=_Group)
def export() -> None:
    """Exports for other tools."""


@export.command("focus")
@click.option("--since", default="30d", show_default=True, help="30d, 2026-01-01 or an ISO time")
@click.option("--until", default=None)
@click.option("--where", multiple=True, help="KEY=VALUE filter (repeatable)")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="FILE.csv or FILE.parquet",
)
@_format_option
@click.pass_obj
def export_focus_cmd(
    obj: Ctx, since: str, until: str | None, where: tuple[str, ...], out: Path, fmt: str
) -> None:
    """FOCUS 1.2 CostAndUsage with aifinops' extra columns prefixed x_ (tokens by class, model, owners)."""
    app = obj.open_app()
    try:
        result = app.export_focus(
            out,
            since=parse_time(since, name="since"),
            until=parse_time(until, name="until") if until else None,
            where=parse_where(list(where)),
        )
    finally:
        app.close()
    emit(result, fmt)


@cli.group(cls=_Group)
def policy() -> None:
    """Guardrail policy checks and dry runs."""


@policy.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_format_option
@click.pass_obj
def policy_validate(obj: Ctx, file: Path, fmt: str) -> None:
    """Check FILE (an aifinops.yaml): errors name the line and field; exit status 1 when invalid."""
    from aifinops.core.settings import load_settings
    from aifinops.pricing import load_catalog

    settings = load_settings(file)
    catalog = load_catalog(settings.prices, settings.discounts)
    warnings = [
        f"models: route target {to!r} has no price in the catalog"
        for rule in settings.models
        for to in rule.route.values()
        if catalog.resolve(to) is None
    ]
    summary = {
        "file": str(file),
        "valid": True,
        "budgets": len(settings.budgets),
        "hard_budgets": sum(b.hard for b in settings.budgets),
        "rate_limits": len(settings.rate_limits),
        "model_rules": len(settings.models),
        "agent_caps": len(settings.agents),
        "keys": len(settings.keys),
        "warnings": warnings,
    }
    emit(summary, fmt)


@policy.command("simulate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--since", default="30d", show_default=True)
@click.option("--until", default=None)
@click.option("--owner", default="team", show_default=True, help="owner dimension of the per-owner table")
@_format_option
@click.pass_obj
def policy_simulate(obj: Ctx, file: Path, since: str, until: str | None, owner: str, fmt: str) -> None:
    """Dry-run FILE's guardrails over the ledger: what would have been blocked, routed or clamped, per owner."""
    from aifinops.cli.value import simulate_policy_file

    findings = simulate_policy_file(obj, file, since, until, owner)
    if fmt != "table":
        emit(findings, fmt)
        return
    if not findings:
        click.echo("the policy would not have acted on any record in this period")
        return
    rows = [
        {"kind": f["kind"], "rule": f["rule"], "what would have happened": _finding_text(f)} for f in findings
    ]
    emit(rows, fmt, title=f"policy dry run since {since}")
    from aifinops.budgets.simulate import per_owner
    from aifinops.core.money import format_money

    owners = [{**row, "saved": format_money(row["saved"])} for row in per_owner(findings, owner)]
    if owners:
        emit(owners, fmt, columns=[owner, *list(owners[0])[1:]], title=f"per {owner}")


def _finding_text(f: dict[str, Any]) -> str:
    from aifinops.core.money import format_money

    kind = f["kind"]
    if kind == "budget":
        return (
            f"blocked {f['calls_blocked']:,} calls ({format_money(f['cost_not_spent'])} not spent) in "
            f"{f['periods']} period(s), first at {f['first_block']:%Y-%m-%d %H:%M}"
        )
    if kind == "budget_alert":
        return f"{f['threshold']:.0%} alert first at {f['first_crossed']:%Y-%m-%d %H:%M}"
    if kind == "model_policy":
        return (
            f"{f['calls_denied']:,} calls denied ({f['routed']:,} routed, {f['refused']:,} refused), saving "
            f"{format_money(f['saving'])}; {f['over_max_tokens']:,} calls over max_tokens"
        )
    if kind == "rate_limit":
        return f"{f['refused_per_minute']:,} calls over the per-minute limit, {f['refused_per_day']:,} over the per-day limit"
    return (
        f"{f['refused_calls']:,} calls refused in {f['workflows']:,} workflow(s), "
        f"{format_money(f['cost_avoided'])} avoided"
    )


@cli.command()
@_format_option
@click.pass_obj
def reprice(obj: Ctx, fmt: str) -> None:
    """Re-rate unpriced records now that a price exists (reversal + replacement, append-only)."""
    with obj.backend() as backend:
        emit(backend.reprice(), fmt)


@cli.command()
@_format_option
@click.pass_obj
def doctor(obj: Ctx, fmt: str) -> None:
    """Health of data and config: unpriced models, sources, schema version."""
    with obj.backend() as backend:
        info = backend.doctor()
    if fmt != "table":
        emit(info, fmt)
        return
    ledger = info["ledger"]
    click.echo(
        f"ledger: {ledger['records']:,} records, schema v{ledger['schema_version']}, "
        f"{ledger.get('outcomes', 0):,} outcomes; catalog: {info['catalog_models']} models"
    )
    for src in ledger.get("sources", []):
        click.echo(f"  source {src['source']}: {src['records']:,} records, last {src['last']}")
    for problem in info["problems"]:
        click.echo(f"problem: {problem}")
    click.echo("ok" if info["ok"] else f"{len(info['problems'])} problem(s)")


#: Command modules of the areas; each has ``register(cli, report)``.
_AREAS = ("allocation", "kpis", "reconcile", "gpu", "anomaly", "value", "access")
for _area in _AREAS:
    import_module(f"aifinops.cli.{_area}").register(cli, report)


def main() -> None:
    """Console entry point: library errors become one-line messages with exit status 1."""
    cli(prog_name="aifinops")
