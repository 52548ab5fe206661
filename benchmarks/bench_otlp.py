"""OTLP ingestion benchmark: GenAI spans per second, end to end (receive, decode, normalize, price, store).

Run from the repository root (numbers, not pass/fail)::

    .venv/bin/python benchmarks/bench_otlp.py                         # both modes, 200 batches of 500 spans
    .venv/bin/python benchmarks/bench_otlp.py --mode http --concurrency 8 --batches 400

Every batch is a real protobuf ``ExportTraceServiceRequest`` of ``--spans`` GenAI chat spans (the attributes
the official OpenAI instrumentation sets, four models of three providers, cache and reasoning tokens),
``--structure`` of them per cent agent/tool spans, built before the clock starts. Two modes:

- ``inprocess``: the ASGI app of ``aifinops serve`` (RootApp -> OTLP receiver) called directly by
  ``--concurrency`` asyncio tasks in this process: no HTTP parsing, everything else as served.
- ``http``: ``aifinops serve`` in its own process, the batches POSTed over loopback by an aiohttp client
  here with ``--concurrency`` connections.

Both store into a DuckDB ledger file in a temporary data folder; the clock stops when every span of every
batch is in the ledger (answers come once an export is in the receiver's durable spool; the spool is then
stored in large transactions), and the stored count is checked. Besides spans per
wall-clock second, the server's CPU time (all its threads) gives spans per CPU-second, which moves less
when other work shares the machine. On a small machine the client and the server share the CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "bench_otlp.json"
MODELS = (
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4o"),
    ("anthropic", "claude-sonnet-4-5"),
    ("gcp.vertex_ai", "gemini-2.5-flash"),
)


def make_batches(batches: int, spans: int, structure_pct: int) -> list[bytes]:
    """Protobuf export requests, each ``spans`` spans of distinct traces of 5 spans."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    def kv(key: str, value: Any) -> KeyValue:
        if isinstance(value, int):
            return KeyValue(key=key, value=AnyValue(int_value=value))
        if isinstance(value, list):
            out = AnyValue()
            out.array_value.values.extend(AnyValue(string_value=v) for v in value)
            return KeyValue(key=key, value=out)
        return KeyValue(key=key, value=AnyValue(string_value=value))

    now = time.time_ns()
    out = []
    for b in range(batches):
        request = ExportTraceServiceRequest()
        rs = request.resource_spans.add()
        resource = {
            "service.name": f"svc-{b % 7}",
            "deployment.environment.name": "prod",
            "telemetry.sdk.name": "opentelemetry",
        }
        rs.resource.attributes.extend(kv(k, v) for k, v in resource.items())
        ss = rs.scope_spans.add()
        ss.scope.name = "opentelemetry.instrumentation.openai_v2"
        trace = b""
        parent = b""
        for i in range(spans):
            if i % 5 == 0:
                trace, parent = os.urandom(16), b""
            span = ss.spans.add()
            span.trace_id, span.span_id, span.parent_span_id = trace, os.urandom(8), parent
            span.start_time_unix_nano = now + (b * spans + i) * 1000
            span.end_time_unix_nano = span.start_time_unix_nano + 800_000_000
            if (i * 100) // spans < structure_pct and i % 5 == 0:
                span.name, span.kind = "invoke_agent helper", 1
                attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "helper"}
                parent = span.span_id
            else:
                provider, model = MODELS[i % len(MODELS)]
                span.name, span.kind = f"chat {model}", 3
                attrs = {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": provider,
                    "gen_ai.request.model": model,
                    "gen_ai.response.model": model,
                    "gen_ai.response.id": f"chatcmpl-{b}-{i}",
                    "gen_ai.response.finish_reasons": ["stop"],
                    "gen_ai.usage.input_tokens": 800 + (i * 37) % 4000,
                    "gen_ai.usage.output_tokens": 50 + (i * 13) % 700,
                    "gen_ai.usage.cache_read.input_tokens": (i % 3) * 200,
                    "gen_ai.usage.reasoning.output_tokens": (i % 2) * 20,
                    "server.address": "api.example.com",
                    "server.port": 443,
                }
            span.attributes.extend(kv(k, v) for k, v in attrs.items())
        out.append(request.SerializeToString())
    return out


async def run_inprocess(bodies: list[bytes], concurrency: int, data_dir: Path) -> dict[str, Any]:
    from aifinops.app import App
    from aifinops.cli.serving import build_root
    from aifinops.core.settings import Settings

    app = App(Settings(), data_dir)
    root, gateway, _ = build_root(app, data_dir, local=True)
    queue = list(reversed(bodies))
    statuses: list[int] = []

    async def post(body: bytes) -> int:
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/v1/traces",
            "headers": [
                (b"content-type", b"application/x-protobuf"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
        sent = {"status": 0}

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]

        await root(scope, receive, send)
        return sent["status"]

    async def worker() -> None:
        while queue:
            statuses.append(await post(queue.pop()))

    await post(make_batches(1, 50, 0)[0])  # warm up: catalog, connection, code paths
    await asyncio.to_thread(root.otlp.flush, 60)
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await asyncio.to_thread(root.otlp.flush, 600)  # end to end: until every span is in the ledger
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    stored = app.ledger.query("SELECT count(*) AS n FROM records")[0]["n"] - 50
    root.otlp.close()
    gateway.wal.close()
    app.close()
    return {"elapsed_s": elapsed, "server_cpu_s": cpu, "ok": statuses.count(200), "stored_records": stored}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stored(url: str) -> int:
    """Records in the server's ledger."""
    with urllib.request.urlopen(f"{url}/api/v1/costs?since=3650d&sources=all", timeout=30) as response:
        return sum(row["records"] for row in json.loads(response.read()))


def _spans_in(body: bytes) -> int:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest.FromString(body)
    return sum(
        1
        for rs in request.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
        if not span.name.startswith("invoke_agent")
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def run_http(bodies: list[bytes], concurrency: int, data_dir: Path) -> dict[str, Any]:
    import aiohttp

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "aifinops", "--data-dir", str(data_dir), "serve", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("aifinops serve did not start") from None
                time.sleep(0.1)
        headers = {"content-type": "application/x-protobuf"}
        queue = list(reversed(bodies))
        statuses: list[int] = []
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

            async def worker() -> None:
                while queue:
                    async with session.post(
                        f"{url}/v1/traces", data=queue.pop(), headers=headers
                    ) as response:
                        await response.read()
                        statuses.append(response.status)

            async with session.post(f"{url}/v1/traces", data=make_batches(1, 50, 0)[0], headers=headers) as r:
                await r.read()
            expected = _stored(url) + sum(_spans_in(body) for body in bodies)
            started, cpu = time.perf_counter(), _cpu_seconds(server.pid)
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            while _stored(url) < expected and time.perf_counter() - started < 600:
                await asyncio.sleep(0.05)  # end to end: until every span is in the ledger
            elapsed, cpu = time.perf_counter() - started, _cpu_seconds(server.pid) - cpu
        stored = _stored(url) - 50
    finally:
        server.terminate()
        server.wait(30)
    return {"elapsed_s": elapsed, "server_cpu_s": cpu, "ok": statuses.count(200), "stored_records": stored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("inprocess", "http", "both"), default="both")
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--spans", type=int, default=500, help="spans per export request")
    parser.add_argument("--structure", type=int, default=0, help="per cent of agent spans (structure)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    bodies = make_batches(args.batches, args.spans, args.structure)
    genai = sum(1 for b in range(args.spans) if not ((b * 100) // args.spans < args.structure and b % 5 == 0))
    modes = ("inprocess", "http") if args.mode == "both" else (args.mode,)
    results = []
    for mode in modes:
        for concurrency in args.concurrency:
            with tempfile.TemporaryDirectory(prefix="aifinops-bench-otlp-") as tmp:
                runner = run_inprocess if mode == "inprocess" else run_http
                result = asyncio.run(runner(bodies, concurrency, Path(tmp)))
            spans_total = len(bodies) * genai
            result.update(
                mode=mode,
                concurrency=concurrency,
                genai_spans=spans_total,
                genai_spans_per_s=round(spans_total / result["elapsed_s"]),
                genai_spans_per_cpu_s=round(spans_total / max(result["server_cpu_s"], 1e-9)),
                stored_ok=result["stored_records"] == spans_total,
            )
            results.append(result)
            print(
                f"{mode:9s} concurrency {concurrency:2d}: {result['genai_spans_per_s']:>8,} GenAI spans/s "
                f"({result['genai_spans_per_cpu_s']:,} per server CPU-second; {spans_total:,} spans in "
                f"{result['elapsed_s']:.2f} s; {result['ok']}/{len(bodies)} answered 200; "
                f"stored {result['stored_records']:,})"
            )
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "batches": args.batches,
        "spans_per_batch": args.spans,
        "structure_pct": args.structure,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
