"""Guardrail overhead: the same gateway without a policy, with a policy in process memory, and with the
policy's counters in Redis (fleet mode), one request at a time, in one run.

Run from the repository root (numbers, not pass/fail)::

    .venv/bin/python benchmarks/bench_guardrails.py [--seconds 10] [--redis-url redis://127.0.0.1:6379/0]

The policy applies to every call: a hard budget (a reservation before forwarding and a settlement after),
a soft budget, a rate limit (two token buckets and a per-day counter) and a model rule (a ``max_tokens``
ceiling). Agent caps apply only to calls that carry a trace id, which this load does not send. Added p50 = p50 with the policy − p50 without, same emulator, same client (wrk).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_gateway import CHAT, Server, free_port, gateway_config, run_load, start_emulator  # noqa: E402

POLICY = """budgets:
  - {name: bench-month, period: month, amount: 1000000, hard: true}
  - {name: bench-soft, period: day, amount: 1000000}
rate_limits:
  - {requests_per_minute: 100000000, tokens_per_minute: 10000000000, requests_per_day: 1000000000}
models:
  - {max_tokens: 4096}
"""


def start(workdir: Path, name: str, port: int, emulator_port: int, extra: str) -> Server:
    folder = workdir / name
    folder.mkdir()
    config = folder / "aifinops.yaml"
    config.write_text(gateway_config(emulator_port) + extra)
    cmd = [sys.executable, "-m", "aifinops", "--config", str(config), "--data-dir", str(folder / "data")]
    server = Server(name, [*cmd, "serve", "--port", str(port)], folder / "server.log")
    server.wait_ready(f"http://127.0.0.1:{port}/readyz", 60)
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of load per variant")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--client", choices=("wrk", "aiohttp"), default="wrk" if shutil.which("wrk") else "aiohttp"
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/bench_guardrails.json"))
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="aifinops-guard-"))
    body: dict[str, Any] = {**CHAT}
    emulator_port = free_port()
    emulator = start_emulator(emulator_port, workdir)
    prefix = f"aifinops:bench:{uuid.uuid4().hex}:"
    variants = {
        "no policy": "",
        "policy, in memory": POLICY,
        "policy, Redis": POLICY + f"redis_url: {args.redis_url}\nredis_prefix: '{prefix}'\n",
    }
    results: dict[str, Any] = {}
    try:
        for name, extra in variants.items():
            port = free_port()
            server = start(workdir, name.replace(" ", "-").replace(",", ""), port, emulator_port, extra)
            url = f"http://127.0.0.1:{port}/v1/chat/completions"
            try:
                run_load(url, body, 1, 2, workdir, args.client)  # warm-up
                load = run_load(url, body, 1, args.seconds, workdir, args.client)
                results[name] = {
                    "p50_ms": load.p50_ms,
                    "p99_ms": load.p99_ms,
                    "rps": load.rps,
                    "errors": load.errors,
                }
            finally:
                server.stop()
    finally:
        emulator.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    base = results["no policy"]["p50_ms"]
    print(f"{'variant':<22}{'p50 ms':>10}{'p99 ms':>10}{'req/s':>10}{'added p50 ms':>15}")
    for name, r in results.items():
        print(
            f"{name:<22}{r['p50_ms']:>10.3f}{r['p99_ms']:>10.3f}{r['rps']:>10.0f}{r['p50_ms'] - base:>15.3f}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"variants": results, "added_p50_ms": {k: v["p50_ms"] - base for k, v in results.items()}},
            indent=2,
        )
    )
    print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
