"""Dashboard benchmark: how long each page takes to show its data with 10 million records in the ledger.

Run from the repository root (numbers, not pass/fail; see ``benchmarks/README.md``)::

    .venv/bin/python benchmarks/bench_dashboard.py                         # 10 million records
    .venv/bin/python benchmarks/bench_dashboard.py --records 1000000 --keep /tmp/dash1m

The ledger is built with ``bench_ledger.Workload`` (synthetic gateway traffic, 20 teams, 40 models, 90 days
ending now), served by a real ``aifinops serve`` process, and every page is opened in headless Chromium
(``/usr/bin/chromium``). A page's time runs from navigation start until the page marks its data as rendered
(``<html data-ready="PAGE">``); the timings of the API calls the page made come from the browser's Resource
Timing entries. Each API is also timed on its own with httpx. The first (cold) and the median of ``--runs``
warm loads are reported.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import bench_ledger  # noqa: E402

from aifinops.ledger import DuckDBLedger  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
PAGES = (  # the slow APIs of other areas last: a page that times out restarts the server
    "overview",
    "explorer",
    "explorer?by=model&where=team%3Dteam-00",
    "models",
    "guardrails",
    "health",
    "gpus",
    "anomalies",
    "teams",
    "value",
    "recommendations",
    "workflows",
)

#: APIs timed on their own even when the pages that call them do not finish (their calls then go unrecorded).
EXTRA_APIS = (
    "/api/v1/overview",
    "/api/v1/kpis?by=team&since=30d",
    "/api/v1/workflows?top=25&since=30d",
    "/api/v1/agents?since=30d",
    "/api/v1/recommendations",
    "/api/v1/value",
    "/api/v1/doctor",
)

_NOT_FOUND = {"error": {"code": "not_found", "message": "skipped by the benchmark", "details": []}}


def _log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def build(path: Path, records: int, batch: int, seed: int) -> dict[str, Any]:
    """A ledger of ``records`` synthetic records over the 90 days that end now (reused when it exists)."""
    if path.exists():
        ledger = DuckDBLedger(path)
        count = ledger.query("SELECT count(*) AS n FROM records")[0]["n"]
        ledger.close()
        if count >= records:
            _log(f"reusing {path} ({count:,} records)")
            return {"records": count, "reused": True}
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    bench_ledger._START_US = int((end - timedelta(days=bench_ledger.DAYS)).timestamp()) * 1_000_000
    work = bench_ledger.Workload(records, min(batch, records), seed=seed)
    ledger = DuckDBLedger(path)
    started = time.perf_counter()
    try:
        for k in range(work.batches):
            ledger.append(work.make(k))
            _log(f"built batch {k + 1}/{work.batches}")
        ledger.query("CHECKPOINT")
    finally:
        ledger.close()
    return {"records": records, "reused": False, "build_s": round(time.perf_counter() - started, 1)}


class Server:
    """A real ``aifinops serve`` process, restarted when a slow API leaves it stuck."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir, self.port = data_dir, port
        self.base = f"http://127.0.0.1:{port}"
        self.proc = serve(data_dir, port)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self) -> None:
        _log("restarting the server")
        self.stop()
        self.proc = serve(self.data_dir, self.port)


def serve(data_dir: Path, port: int) -> subprocess.Popen:
    """A real ``aifinops serve`` on ``port``, ready to answer."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "aifinops", "--data-dir", str(data_dir), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"aifinops serve exited: {proc.stderr.read()}")
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("aifinops serve did not start")


def time_pages(
    server: Server, runs: int, timeout_s: int, pages: tuple[str, ...] = PAGES, skip: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Per page: cold and warm-median load times until the data is rendered, and the API calls it made."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    out = []
    base = server.base
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        for prefix in skip:  # answered "not found" at once: measures a page without another area's slow API
            page.route(f"**{prefix}**", lambda route: route.fulfill(status=404, json=_NOT_FOUND))
        for route in pages:
            name = route.split("?")[0]
            loads: list[float] = []
            apis: dict[str, list[float]] = {}
            panels: dict[str, list[float]] = {}
            for _ in range(runs + 1):
                page.goto("about:blank")
                try:
                    page.goto(f"{base}/#/{route}", timeout=timeout_s * 1000)
                    page.wait_for_selector(f"html[data-ready='{name}']", timeout=timeout_s * 1000)
                except PlaywrightTimeout:
                    loads.append(float("inf"))
                    with contextlib.suppress(Exception):
                        for panel in page.evaluate("window.__aifinopsPanels || []"):
                            panels.setdefault(panel["panel"], []).append(panel["ms"])
                    _log(f"{route}: not rendered within {timeout_s} s; panels done: {sorted(panels)}")
                    page.goto("about:blank")
                    server.restart()
                    break
                ready = page.evaluate("window.__aifinopsReady")
                loads.append(ready["ms"])
                for panel in ready["panels"]:
                    panels.setdefault(panel["panel"], []).append(panel["ms"])
                for entry in page.evaluate(
                    "performance.getEntriesByType('resource').filter(e => e.name.includes('/api/'))"
                    ".map(e => [e.name, e.duration])"
                ):
                    apis.setdefault(entry[0].replace(base, ""), []).append(entry[1])
            warm = loads[1:]
            out.append(
                {
                    "page": route,
                    "cold_ms": _ms(loads[0]),
                    "warm_median_ms": _ms(statistics.median(warm)) if warm else None,
                    "apis_ms": {k: round(statistics.median(v)) for k, v in apis.items()},
                    "panels_ms": {k: round(statistics.median(v)) for k, v in panels.items()},
                }
            )
            _log(f"{route}: cold {out[-1]['cold_ms']} ms, warm {out[-1]['warm_median_ms']} ms")
        browser.close()
    return out


def _ms(value: float) -> int | None:
    return None if value == float("inf") else round(value)


def time_apis(server: Server, urls: list[str], runs: int, timeout_s: int) -> dict[str, Any]:
    """Each API URL on its own (one request at a time): median ms of ``runs`` after one warm-up."""
    out: dict[str, Any] = {}
    for url in urls:
        times = []
        with httpx.Client(base_url=server.base, timeout=timeout_s) as client:
            for _ in range(runs + 1):
                started = time.perf_counter()
                try:
                    status = client.get(url).status_code
                except httpx.HTTPError as exc:  # a timeout, or a server that gave up
                    status = "timeout" if isinstance(exc, httpx.TimeoutException) else type(exc).__name__
                    server.restart()
                    break
                times.append((time.perf_counter() - started) * 1000)
            out[url] = {
                "status": status,
                "median_ms": round(statistics.median(times[1:] or times)) if times else None,
            }
            _log(f"{url}: {out[url]}")
    return out


def render(results: dict[str, Any]) -> str:
    lines = [
        f"dashboard with {results['ledger']['records']:,} records",
        f"{'page (all panels rendered)':<44} {'cold ms':>8} {'warm ms':>8}  slowest API (ms)",
    ]
    for row in results["pages"]:
        slow = max(row["apis_ms"].items(), key=lambda kv: kv[1], default=("-", 0))
        lines.append(
            f"{row['page']:<44} {row['cold_ms']!s:>8} {row['warm_median_ms']!s:>8}  {slow[0]} {slow[1]}"
        )
    lines.append(f"{'API, one request at a time':<70} {'status':>7} {'ms':>7}")
    for url, row in results["apis"].items():
        lines.append(f"{url:<70} {row['status']!s:>7} {row['median_ms']!s:>7}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--batch", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3, help="warm loads per page after the cold one")
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument(
        "--timeout", type=int, default=60, help="seconds a page may take before it counts as failed"
    )
    parser.add_argument("--keep", type=Path, default=None, help="data folder to build in and keep (reused)")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated routes (default: all)")
    parser.add_argument(
        "--skip-api",
        action="append",
        default=[],
        metavar="PATH",
        help="answer this API path 404 in the browser (repeatable): a page's time without that area",
    )
    parser.add_argument("--no-api", action="store_true", help="skip timing each API on its own")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "bench_dashboard.json"
    )
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="bench-dash-") as tmp:
        data_dir = args.keep or Path(tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        results: dict[str, Any] = {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": bench_ledger.machine(),
        }
        results["ledger"] = build(data_dir / "ledger.duckdb", args.records, args.batch, args.seed)
        if args.build_only:
            return 0
        server = Server(data_dir, args.port)
        try:
            pages = tuple(p.strip() for p in args.pages.split(",") if p.strip())
            results["skipped_apis"] = args.skip_api
            results["pages"] = time_pages(server, args.runs, args.timeout, pages, tuple(args.skip_api))
            urls = sorted({url for row in results["pages"] for url in row["apis_ms"]} | set(EXTRA_APIS))
            results["apis"] = {} if args.no_api else time_apis(server, urls, args.runs, args.timeout)
        finally:
            server.stop()
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
