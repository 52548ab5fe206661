"""Gateway soak: steady load through ``aifinops serve`` (metering, WAL and shipper on) for minutes.

Run from the repository root (numbers, not pass/fail; see ``benchmarks/README.md``)::

    .venv/bin/python benchmarks/gateway_soak.py                       # 10 minutes at concurrency 32
    .venv/bin/python benchmarks/gateway_soak.py --minutes 2 --interval 10 --concurrency 8

Load runs in back-to-back windows of ``--interval`` seconds; after each one the gateway's RSS, its
requests per second and latency, and the size of its ledger and write-ahead log are printed. At the end:
the least-squares RSS slope over the whole run and over its second half, and the metering check.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_gateway import (  # noqa: E402 - a sibling script, importable once its folder is on the path
    CHAT,
    ROOT,
    Bench,
    RssSampler,
    Server,
    emulator_calls,
    free_port,
    ledger_counts,
    metering_check,
    rss_kb,
    slope,
    source_revision,
    start_emulator,
    start_gateway,
)

RESULTS = ROOT / "benchmarks" / "results" / "gateway_soak.json"


def size_mib(paths: list[Path]) -> float:
    """Total size in MiB of these files and of the files under these folders."""
    files = [f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()]
    return sum(f.stat().st_size for f in files) / 2**20


def soak(args: argparse.Namespace, bench: Bench) -> dict[str, Any]:
    """Start the servers, load the gateway window after window, then stop it and check the ledger."""
    workdir = bench.workdir
    emu_port, gw_port = free_port(), free_port()
    servers: list[Server] = []
    try:
        emulator = start_emulator(emu_port, workdir)
        servers.append(emulator)
        gateway, data = start_gateway(gw_port, emu_port, workdir)
        servers.append(gateway)
        url = f"http://127.0.0.1:{gw_port}/v1/chat/completions"
        before = emulator_calls(emu_port)
        bench.load("gateway", url, CHAT, args.concurrency, 5)  # warm-up
        windows: list[dict[str, Any]] = []
        print(f"{'min':>6}{'rps':>8}{'p50 ms':>8}{'p99 ms':>8}{'RSS MiB':>9}{'ledger MiB':>11}{'WAL MiB':>9}")
        started = time.monotonic()
        with RssSampler(gateway.pid) as rss:
            while time.monotonic() - started < args.minutes * 60 - 1:
                left = args.minutes * 60 - (time.monotonic() - started)
                load = bench.load("gateway", url, CHAT, args.concurrency, min(args.interval, left))
                row = {
                    "minute": round((time.monotonic() - started) / 60, 2),
                    "rps": load.rps,
                    "p50_ms": load.p50_ms,
                    "p99_ms": load.p99_ms,
                    "errors": load.errors,
                    "rss_mib": round((rss_kb(gateway.pid) or 0) / 1024, 1),
                    "ledger_mib": round(size_mib(list(data.glob("ledger.duckdb*"))), 1),
                    "wal_mib": round(size_mib([data / "wal"]), 1),
                }
                windows.append(row)
                print(
                    f"{row['minute']:>6.1f}{row['rps']:>8.0f}{row['p50_ms']:>8.2f}{row['p99_ms']:>8.2f}"
                    f"{row['rss_mib']:>9.1f}{row['ledger_mib']:>11.1f}{row['wal_mib']:>9.1f}",
                    flush=True,
                )
        upstream = emulator_calls(emu_port) - before
        exit_code = gateway.stop()
        servers.remove(gateway)
        after_term = ledger_counts(data)
        if after_term["records"] != upstream:  # SIGTERM may leave the WAL's tail unshipped: recover it
            gateway, _ = start_gateway(gw_port, emu_port, workdir)
            gateway.stop(sig=signal.SIGINT)
        metering = metering_check(bench, upstream, ledger_counts(data))
        metering["records_after_sigterm"] = after_term["records"]
    finally:
        for server in reversed(servers):
            server.stop()
    samples = rss.samples
    half = [s for s in samples if s[0] >= samples[-1][0] / 2]
    return {
        "windows": windows,
        "rss": rss.summary(),
        "rss_slope_second_half_mib_per_min": round(
            slope([t for t, _ in half], [kb / 1024 for _, kb in half]) * 60, 3
        ),
        "rss_series_mib": [[round(t, 1), round(kb / 1024, 1)] for t, kb in samples],
        "gateway_exit_code": exit_code,
        "metering": metering,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--interval", type=float, default=30.0, help="seconds per load window / RSS line")
    parser.add_argument(
        "--client", choices=("wrk", "aiohttp"), default="wrk" if shutil.which("wrk") else "aiohttp"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="aifinops-soak-gateway-"))
    try:
        result = soak(args, Bench(args, workdir, args.client))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rss, m = result["rss"], result["metering"]
    print(
        f"\nRSS MiB start {rss['start_mib']} end {rss['end_mib']} max {rss['max_mib']}; slope "
        f"{rss['slope_mib_per_min']} MiB/min overall, {result['rss_slope_second_half_mib_per_min']} MiB/min "
        f"over the second half"
    )
    print(
        f"metering: {m['ledger_records']} ledger records for {m['upstream_calls']} upstream calls "
        f"({m['records_after_sigterm']} right after SIGTERM) -> {'CONSISTENT' if m['consistent'] else 'MISMATCH'}"
    )
    report = {
        "benchmark": "gateway_soak",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source_revision(),
        "config": {"minutes": args.minutes, "concurrency": args.concurrency, "client": args.client},
        **result,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
