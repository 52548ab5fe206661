"""Gateway benchmark: straight to the emulator, through ``aifinops serve`` (metering on), through LiteLLM.

Run from the repository root (numbers, not pass/fail; see ``benchmarks/README.md``)::

    .venv/bin/python benchmarks/bench_gateway.py                      # 15 s throughput phases at 32
    .venv/bin/python benchmarks/bench_gateway.py --duration 30 --concurrency 64 --skip-litellm

Every server is its own process: the provider emulator (uvicorn, uvloop, httptools), the gateway
(``python -m aifinops serve`` with a temporary data folder: metering, WAL and shipper on) and the
LiteLLM proxy (``litellm --config``, no database, from a virtualenv made on first use outside the
repository). Load comes from ``wrk`` when it is installed (C, one thread), else from an aiohttp client
in this process. On a small machine the client, the gateway and the emulator share the CPUs, so the
ratio against "direct" matters more than the absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "bench_gateway.json"
LITELLM_VENV = Path(
    os.environ.get("AIFINOPS_LITELLM_VENV", Path.home() / ".cache" / "aifinops" / "bench-litellm-venv")
)
PROMPT = "Write one short sentence about metering. [emulator output_tokens=16]"
CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 64}
STREAM = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
CLIENT_KEY = "sk-" + hashlib.sha256(b"aifinops gateway benchmark").hexdigest()  # LiteLLM's master key
_TICKS = os.sysconf("SC_CLK_TCK")

# -- processes -------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """Status and body of a GET (status 0 when nothing answers)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (OSError, urllib.error.URLError):
        return 0, b""


class Server:
    """A server process, its log file and a readiness probe."""

    def __init__(
        self, name: str, cmd: list[str], log: Path, env: dict[str, str | None] | None = None
    ) -> None:
        self.name = name
        self.log = log
        self._log_fh = open(log, "wb")  # noqa: SIM115 - closed in stop()
        merged = {**os.environ, **(env or {})}
        environ = {k: v for k, v in merged.items() if v is not None}  # None: unset
        self.proc = subprocess.Popen(cmd, stdout=self._log_fh, stderr=subprocess.STDOUT, env=environ)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, url: str, timeout: float) -> None:
        """Poll ``url`` until it answers 200; raise with the log's tail when the process dies or hangs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if http_get(url, 1.0)[0] == 200:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        tail = self.log.read_bytes()[-3000:].decode("utf-8", "replace")
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready at {url}:\n{tail}")

    def stop(self, timeout: float = 60.0, sig: int = signal.SIGTERM) -> int | None:
        """Signal (SIGTERM), wait for a graceful exit, SIGKILL as a last resort; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_fh.close()
        return self.proc.returncode


def start_emulator(port: int, workdir: Path) -> Server:
    """The provider emulator (uvicorn with uvloop and httptools)."""
    cmd = [sys.executable, "-m", "aifinops.emulators", "--port", str(port)]
    server = Server("emulator", cmd, workdir / "emulator.log")
    server.wait_ready(f"http://127.0.0.1:{port}/v1/models", 30)
    return server


def gateway_config(emulator_port: int) -> str:
    """``aifinops.yaml`` pointing both providers at the emulator."""
    base = f"http://127.0.0.1:{emulator_port}"
    return (
        "providers:\n"
        f"  openai: {{base_url: {base}/v1, api_key: sk-upstream}}\n"
        f"  anthropic: {{base_url: {base}, api_key: sk-upstream}}\n"
    )


def start_gateway(port: int, emulator_port: int, workdir: Path) -> tuple[Server, Path]:
    """``aifinops serve`` with a fresh data folder; returns the server and its data folder."""
    config = workdir / "aifinops.yaml"
    config.write_text(gateway_config(emulator_port))
    data = workdir / "gateway-data"
    cmd = [sys.executable, "-m", "aifinops", "--config", str(config), "--data-dir", str(data)]
    server = Server("gateway", [*cmd, "serve", "--port", str(port)], workdir / "gateway.log")
    server.wait_ready(f"http://127.0.0.1:{port}/readyz", 60)
    return server, data


def ensure_litellm(venv: Path) -> Path | None:
    """The ``litellm`` executable, installing ``litellm[proxy]`` into ``venv`` on first use."""
    exe = venv / "bin" / "litellm"
    if exe.exists():
        return exe
    print(f"installing litellm[proxy] into {venv} (first run only) ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "litellm[proxy]"], check=True, timeout=1800
        )
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"LiteLLM install failed ({exc}); skipping LiteLLM", flush=True)
        return None
    return exe if exe.exists() else None


def start_litellm(exe: Path, port: int, emulator_port: int, workdir: Path) -> Server:
    """The LiteLLM proxy: one model, a master key, no database, no callbacks, local cost map (no network)."""
    config = workdir / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: gpt-4o\n"
        "    litellm_params:\n"
        "      model: openai/gpt-4o\n"
        f"      api_base: http://127.0.0.1:{emulator_port}/v1\n"
        "      api_key: sk-upstream\n"
        "litellm_settings:\n"
        "  set_verbose: false\n"
        "  callbacks: []\n"
        "  success_callback: []\n"
        "  failure_callback: []\n"
    )
    env: dict[str, str | None] = {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_MODE": "PRODUCTION",
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
        "DATABASE_URL": None,
        "LITELLM_MASTER_KEY": CLIENT_KEY,
    }
    cmd = [str(exe), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    server = Server("litellm", cmd, workdir / "litellm.log", env)
    server.wait_ready(f"http://127.0.0.1:{port}/health/liveliness", 180)
    return server


# -- measuring -------------------------------------------------------------------------------------


def rss_kb(pid: int) -> int | None:
    """Resident set size (VmRSS) of a process, in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / _TICKS


class RssSampler:
    """Samples a process's RSS every ``interval`` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 1.0) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = 0.0

    def __enter__(self) -> RssSampler:
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _sample(self) -> None:
        value = rss_kb(self.pid)
        if value is not None:
            self.samples.append((time.monotonic() - self._t0, value))

    def _run(self) -> None:
        self._sample()
        while not self._stop.wait(self.interval):
            self._sample()

    def summary(self) -> dict[str, Any]:
        """Start, end and max RSS in MiB, and the least-squares slope in MiB per minute."""
        if not self.samples:
            return {}
        mib = [kb / 1024 for _, kb in self.samples]
        return {
            "start_mib": round(mib[0], 1),
            "end_mib": round(mib[-1], 1),
            "max_mib": round(max(mib), 1),
            "slope_mib_per_min": round(slope([t for t, _ in self.samples], mib) * 60, 3),
            "samples": len(mib),
        }


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs (0 for fewer than two points)."""
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def system_busy() -> float:
    """CPU seconds all cores have spent busy since boot (``/proc/stat``)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / _TICKS


class CpuMeter:
    """CPU used during a phase by the target, the emulator, the load generator and everything else."""

    def __init__(self, pid: int, emulator_pid: int) -> None:
        self.pids = {"target": pid, "emulator": emulator_pid} if pid != emulator_pid else {"target": pid}
        self._start: dict[str, float] = {}
        self.used: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        kids, me = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
        now = {k: cpu_seconds(p) for k, p in self.pids.items()}
        now["client"] = kids.ru_utime + kids.ru_stime + me.ru_utime + me.ru_stime
        now["all"] = system_busy()
        now["wall"] = time.monotonic()
        return now

    def __enter__(self) -> CpuMeter:
        self._start = self._now()
        return self

    def __exit__(self, *exc: object) -> None:
        end = self._now()
        self.used = {k: end[k] - self._start[k] for k in end}

    def summary(self, requests: int) -> dict[str, Any]:
        """CPU per request (ms) for target and emulator; cores busy by each party over the phase."""
        wall = self.used["wall"]
        ours = sum(v for k, v in self.used.items() if k not in ("all", "wall"))
        cores = {k: round(v / wall, 2) for k, v in self.used.items() if k not in ("all", "wall")}
        cores["other_processes"] = round(max(0.0, self.used["all"] - ours) / wall, 2)
        per = {f"{k}_cpu_ms_per_request": round(self.used[k] * 1000 / max(requests, 1), 3) for k in self.pids}
        # requests per second one whole core would serve at this CPU cost: steadier than rps on a busy machine
        per["rps_per_target_core"] = round(requests / self.used["target"]) if self.used["target"] else None
        return {**per, "cores_busy": cores}


@dataclass
class Load:
    """One closed-loop load run."""

    requests: int
    ok: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    concurrency: int
    client: str
    extra: dict[str, Any] = field(default_factory=dict)


_LUA = """wrk.method = "POST"
wrk.body = [==[%s]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\\"requests\\":%%.0f,\\"duration_us\\":%%.0f,\\"status\\":%%.0f,\\"connect\\":%%.0f," ..
    "\\"read\\":%%.0f,\\"write\\":%%.0f,\\"timeout\\":%%.0f,\\"p50\\":%%.0f,\\"p90\\":%%.0f," ..
    "\\"p99\\":%%.0f,\\"max\\":%%.0f}\\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def load_wrk(url: str, body: dict[str, Any], concurrency: int, seconds: float, workdir: Path) -> Load:
    """Closed-loop load with wrk (one thread): completed requests and latency percentiles."""
    script = workdir / "post.lua"
    script.write_text(_LUA % (json.dumps(body), CLIENT_KEY))
    cmd = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    out = subprocess.run([*cmd, "-s", str(script), url], capture_output=True, text=True, check=True)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")
    r = json.loads(line[8:])
    secs = r["duration_us"] / 1e6
    errors = r["status"] + r["connect"] + r["read"] + r["write"] + r["timeout"]
    ok = r["requests"] - r["status"]
    return Load(
        requests=r["requests"],
        ok=ok,
        errors=errors,
        seconds=round(secs, 3),
        rps=round(ok / secs, 1),
        p50_ms=r["p50"] / 1000,
        p90_ms=r["p90"] / 1000,
        p99_ms=r["p99"] / 1000,
        max_ms=r["max"] / 1000,
        concurrency=concurrency,
        client="wrk",
    )


def _pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


async def _load_aiohttp(url: str, body: dict[str, Any], concurrency: int, seconds: float) -> Load:
    import aiohttp

    payload = json.dumps(body).encode()
    headers = {"content-type": "application/json", "authorization": f"Bearer {CLIENT_KEY}"}
    latencies: list[float] = []
    counts = {"ok": 0, "errors": 0}
    started = time.perf_counter()
    deadline = started + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                async with session.post(url, data=payload, headers=headers) as resp:
                    await resp.read()
                    good = 200 <= resp.status < 300
            except (aiohttp.ClientError, TimeoutError):
                good = False
            latencies.append(time.perf_counter() - t0)
            counts["ok" if good else "errors"] += 1

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    secs = time.perf_counter() - started
    ms = [x * 1000 for x in latencies]
    return Load(
        requests=len(ms),
        ok=counts["ok"],
        errors=counts["errors"],
        seconds=round(secs, 3),
        rps=round(counts["ok"] / secs, 1),
        p50_ms=_pct(ms, 50),
        p90_ms=_pct(ms, 90),
        p99_ms=_pct(ms, 99),
        max_ms=max(ms, default=math.nan),
        concurrency=concurrency,
        client="aiohttp",
    )


def run_load(
    url: str, body: dict[str, Any], concurrency: int, seconds: float, workdir: Path, client: str
) -> Load:
    """Closed-loop load from ``client`` ("wrk" or "aiohttp")."""
    if client == "wrk":
        return load_wrk(url, body, concurrency, seconds, workdir)
    with contextlib.suppress(ImportError):
        import uvloop

        return uvloop.run(_load_aiohttp(url, body, concurrency, seconds))
    return asyncio.run(_load_aiohttp(url, body, concurrency, seconds))


# -- phases ----------------------------------------------------------------------------------------


@dataclass
class Bench:
    """The run's settings and the loads sent so far (for the metering check)."""

    args: argparse.Namespace
    workdir: Path
    client: str
    sent: dict[str, list[Load]] = field(default_factory=dict)

    def load(self, target: str, url: str, body: dict[str, Any], concurrency: int, seconds: float) -> Load:
        result = run_load(url, body, concurrency, seconds, self.workdir, self.client)
        self.sent.setdefault(target, []).append(result)
        return result


def measure(
    bench: Bench, name: str, url: str, pid: int, emulator_pid: int, *, stream: bool = False
) -> dict[str, Any]:
    """Warm up, then latency one request at a time, then throughput at fixed concurrency (RSS, CPU)."""
    args = bench.args
    conc = args.concurrency
    print(f"[{name}] warm-up", flush=True)
    bench.load(name, url, CHAT, conc, 2)
    probe = bench.load(name, url, CHAT, 1, 2)
    lat_seconds = min(60.0, max(args.latency_seconds, args.latency_requests / max(probe.rps, 1.0)))
    print(f"[{name}] latency at concurrency 1 for {lat_seconds:.0f} s", flush=True)
    latency = bench.load(name, url, CHAT, 1, lat_seconds)
    print(f"[{name}] throughput at concurrency {conc} for {args.duration:.0f} s", flush=True)
    with RssSampler(pid) as rss, CpuMeter(pid, emulator_pid) as cpu:
        throughput = bench.load(name, url, CHAT, conc, args.duration)
    out: dict[str, Any] = {
        "latency_c1": asdict(latency),
        "throughput": asdict(throughput),
        "rss": rss.summary(),
        **cpu.summary(throughput.ok),
    }
    if stream:
        print(f"[{name}] streaming: latency at concurrency 1, then throughput", flush=True)
        bench.load(name, url, STREAM, conc, 1)
        out["stream_latency_c1"] = asdict(bench.load(name, url, STREAM, 1, args.latency_seconds))
        out["stream_throughput"] = asdict(bench.load(name, url, STREAM, conc, max(3, args.duration / 3)))
    return out


def emulator_calls(port: int, settle: float = 0.5) -> int:
    """Requests the emulator has received, once the count stops moving (calls abandoned by the load
    generator may still be on their way through the gateway)."""
    last = -2
    while True:
        status, body = http_get(f"http://127.0.0.1:{port}/emulator/stats")
        now = int(json.loads(body)["total_requests"]) if status == 200 else -1
        if now == last:
            return now
        last = now
        time.sleep(settle)


def gateway_overhead(port: int) -> dict[str, Any]:
    """The gateway's own overhead histogram (``/metrics``): count and mean."""
    status, body = http_get(f"http://127.0.0.1:{port}/metrics")
    values: dict[str, float] = {}
    for line in body.decode().splitlines() if status == 200 else []:
        if line.startswith("aifinops_gateway_overhead_seconds_"):
            metric, value = line.rsplit(" ", 1)
            values[metric.rsplit("_", 1)[1].split("{")[0]] = float(value)
    count = values.get("count", 0.0)
    return {
        "calls": int(count),
        "mean_ms": round(values.get("sum", 0.0) * 1000 / count, 3) if count else None,
    }


def litellm_overhead(port: int, n: int = 200) -> dict[str, Any]:
    """LiteLLM's own ``x-litellm-overhead-duration-ms`` header over ``n`` sequential calls."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    payload = json.dumps(CHAT)
    headers = {"content-type": "application/json", "authorization": f"Bearer {CLIENT_KEY}"}
    seen: list[float] = []
    for _ in range(n):
        conn.request("POST", "/v1/chat/completions", payload, headers)
        resp = conn.getresponse()
        resp.read()
        value = resp.getheader("x-litellm-overhead-duration-ms")
        if value:
            seen.append(float(value))
    conn.close()
    return {"calls": len(seen), "p50_ms": _pct(seen, 50), "p99_ms": _pct(seen, 99)}


def ledger_counts(data: Path) -> dict[str, Any]:
    """Gateway records in the stopped server's ledger, by status, and how many are unpriced."""
    import duckdb

    con = duckdb.connect(str(data / "ledger.duckdb"), read_only=True)
    try:
        by_status = dict(
            con.execute("SELECT status, count(*) FROM records WHERE source = 'gateway' GROUP BY 1").fetchall()
        )
        unpriced, dupes = con.execute(
            "SELECT count(*) FILTER (WHERE effective_cost IS NULL), count(*) - count(DISTINCT record_id) "
            "FROM records WHERE source = 'gateway'"
        ).fetchone()
    finally:
        con.close()
    return {
        "records": sum(by_status.values()),
        "by_status": by_status,
        "unpriced": unpriced,
        "duplicates": dupes,
    }


def metering_check(bench: Bench, upstream: int, ledger: dict[str, Any]) -> dict[str, Any]:
    """Every upstream call has one record; client 2xx <= records <= 2xx + requests cut by wrk's stop."""
    loads = bench.sent.get("gateway", [])
    ok = sum(x.ok for x in loads)
    cut = sum(x.concurrency for x in loads)  # at most one in flight per connection when a run ends
    records = ledger["records"]
    return {
        "client_2xx": ok,
        "client_non_2xx_or_failed": sum(x.errors for x in loads),
        "upstream_calls": upstream,
        "ledger_records": records,
        "records_equal_upstream_calls": records == upstream,
        "records_minus_client_2xx": records - ok,
        "in_flight_bound": cut,
        "records_after_sigterm": None,
        "consistent": records == upstream and 0 <= records - ok <= cut and ledger["duplicates"] == 0,
        **{k: ledger[k] for k in ("by_status", "unpriced", "duplicates")},
    }


def bench_litellm(
    bench: Bench, exe: Path, port: int, emu_port: int, emulator: Server, servers: list[Server]
) -> dict[str, Any]:
    """Start LiteLLM and measure it (it stays in ``servers`` to be stopped with the rest)."""
    print("[litellm] starting (slow import)", flush=True)
    litellm = start_litellm(exe, port, emu_port, bench.workdir)
    servers.append(litellm)
    return measure(
        bench, "litellm", f"http://127.0.0.1:{port}/v1/chat/completions", litellm.pid, emulator.pid
    )


def litellm_version(exe: Path) -> str | None:
    """``litellm --version``'s last line."""
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, env=env, check=False)
    lines = out.stdout.strip().splitlines()
    return lines[-1] if lines else None


# -- report ----------------------------------------------------------------------------------------


def added(target: dict[str, Any], direct: dict[str, Any], phase: str = "latency_c1") -> dict[str, float]:
    """Added latency against direct: p50 and p99 differences in ms."""
    a, d = target[phase], direct[phase]
    return {"p50_ms": round(a["p50_ms"] - d["p50_ms"], 3), "p99_ms": round(a["p99_ms"] - d["p99_ms"], 3)}


def print_report(report: dict[str, Any]) -> None:
    """A readable table of the figures."""
    targets = report["targets"]
    direct = targets["direct"]
    conc = report["config"]["concurrency"]
    head = (
        f"{'target':<9}{'c=1 p50':>9}{'c=1 p99':>9}{'+p50':>8}{'+p99':>8}{'n(c=1)':>8}"
        f"{f'rps@{conc}':>9}{'p50':>8}{'p99':>8}{'x direct':>9}{'cpu ms/req':>11}{'rps/core':>9}{'RSS MiB s/e/max':>18}"
    )
    print("\nnon-streaming chat completions (latencies in ms)\n" + head + "\n" + "-" * len(head))
    for name, t in targets.items():
        lat, thr, rss = t["latency_c1"], t["throughput"], t.get("rss", {})
        add = added(t, direct) if name != "direct" else {"p50_ms": 0.0, "p99_ms": 0.0}
        ratio = thr["rps"] / direct["throughput"]["rps"]
        mem = f"{rss.get('start_mib', 0):.0f}/{rss.get('end_mib', 0):.0f}/{rss.get('max_mib', 0):.0f}"
        print(
            f"{name:<9}{lat['p50_ms']:>9.3f}{lat['p99_ms']:>9.3f}{add['p50_ms']:>8.3f}{add['p99_ms']:>8.3f}"
            f"{lat['requests']:>8}{thr['rps']:>9.0f}{thr['p50_ms']:>8.2f}{thr['p99_ms']:>8.2f}{ratio:>9.2f}"
            f"{t['target_cpu_ms_per_request']:>11.3f}{t['rps_per_target_core'] or 0:>9}{mem:>18}"
        )
    print("cores busy during the throughput phase (target / emulator / load generator / other processes):")
    for name, t in targets.items():
        c = t["cores_busy"]
        print(
            f"  {name:<9}{c['target']:.2f} / {c.get('emulator', c['target']):.2f} / {c['client']:.2f} / "
            f"{c['other_processes']:.2f}"
        )
    if "stream_latency_c1" in targets.get("gateway", {}):
        print("\nstreaming chat completions, time to last byte (ms)")
        for name in ("direct", "gateway"):
            s, st = targets[name]["stream_latency_c1"], targets[name]["stream_throughput"]
            print(f"{name:<9} c=1 p50 {s['p50_ms']:.3f}  p99 {s['p99_ms']:.3f}   rps@{conc} {st['rps']:.0f}")
        add = added(targets["gateway"], direct, "stream_latency_c1")
        print(f"added    p50 {add['p50_ms']:.3f}  p99 {add['p99_ms']:.3f}")
    if "metering" in report:
        m = report["metering"]
        print(
            f"\nmetering: {m['ledger_records']} ledger records, {m['upstream_calls']} upstream calls, "
            f"{m['client_2xx']} 2xx seen by the client (+{m['records_minus_client_2xx']} cut by the load "
            f"generator's stop, bound {m['in_flight_bound']}); statuses {m['by_status']}, "
            f"unpriced {m['unpriced']}, duplicates {m['duplicates']} -> "
            f"{'CONSISTENT' if m['consistent'] else 'MISMATCH'}"
        )
        if m["records_after_sigterm"] != m["ledger_records"]:
            print(
                f"  note: only {m['records_after_sigterm']} were in the ledger right after SIGTERM; the rest "
                "were still in the write-ahead log and were shipped when the gateway restarted"
            )
        print(
            f"gateway self-reported overhead (mean over {report['gateway_overhead']['calls']} calls): "
            f"{report['gateway_overhead']['mean_ms']} ms"
        )
    if "litellm_overhead" in report:
        o = report["litellm_overhead"]
        print(f"litellm self-reported overhead header: p50 {o['p50_ms']} ms over {o['calls']} calls")
    for goal, value in report.get("goals", {}).items():
        print(f"goal {goal}: {value}")


def source_revision() -> dict[str, Any]:
    """Which aifinops was measured: the repository's revision, and any PYTHONPATH override."""
    out = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return {"git": out.stdout.strip() or None, "pythonpath": os.environ.get("PYTHONPATH")}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per throughput phase")
    parser.add_argument("--concurrency", type=int, default=32, help="connections in throughput phases")
    parser.add_argument("--latency-requests", type=int, default=2000, help="at least this many at c=1")
    parser.add_argument("--latency-seconds", type=float, default=5.0, help="at least this long at c=1")
    parser.add_argument("--skip-litellm", action="store_true")
    parser.add_argument("--client", choices=("auto", "wrk", "aiohttp"), default="auto")
    parser.add_argument("--litellm-venv", type=Path, default=LITELLM_VENV)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, ledger)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    client = "wrk" if args.client != "aiohttp" and shutil.which("wrk") else "aiohttp"
    if args.client == "wrk" and client != "wrk":
        parser.error("wrk is not installed (apt-get install -y wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="aifinops-bench-gateway-"))
    bench = Bench(args, workdir, client)
    report: dict[str, Any] = {
        "benchmark": "gateway",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": source_revision(),
        "machine": {
            "loadavg_start": os.getloadavg(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "config": {
            "duration_s": args.duration,
            "concurrency": args.concurrency,
            "client": client,
            "body": CHAT,
        },
        "targets": {},
    }
    servers: list[Server] = []
    try:
        emu_port, gw_port, ll_port = free_port(), free_port(), free_port()
        emulator = start_emulator(emu_port, workdir)
        servers.append(emulator)
        direct_url = f"http://127.0.0.1:{emu_port}/v1/chat/completions"
        report["targets"]["direct"] = measure(
            bench, "direct", direct_url, emulator.pid, emulator.pid, stream=True
        )

        gateway, data = start_gateway(gw_port, emu_port, workdir)
        servers.append(gateway)
        before = emulator_calls(emu_port)
        gw_url = f"http://127.0.0.1:{gw_port}/v1/chat/completions"
        report["targets"]["gateway"] = measure(
            bench, "gateway", gw_url, gateway.pid, emulator.pid, stream=True
        )
        upstream = emulator_calls(emu_port) - before
        report["gateway_overhead"] = gateway_overhead(gw_port)
        print("[gateway] SIGTERM, then counting ledger records", flush=True)
        report["gateway_exit_code"] = gateway.stop()
        servers.remove(gateway)
        after_term = ledger_counts(data)
        if after_term["records"] != upstream:
            print(
                "[gateway] ledger short after SIGTERM: restarting once to ship the WAL (recovery)", flush=True
            )
            gateway, _ = start_gateway(gw_port, emu_port, workdir)
            gateway.stop(sig=signal.SIGINT)
        report["metering"] = metering_check(bench, upstream, ledger_counts(data))
        report["metering"]["records_after_sigterm"] = after_term["records"]

        exe = None if args.skip_litellm else ensure_litellm(args.litellm_venv)
        if exe is not None:
            try:
                report["targets"]["litellm"] = bench_litellm(bench, exe, ll_port, emu_port, emulator, servers)
                report["litellm_overhead"] = litellm_overhead(ll_port)
                report["config"]["litellm_version"] = litellm_version(exe)
            except (RuntimeError, subprocess.CalledProcessError) as exc:
                print(f"LiteLLM skipped: {exc}", flush=True)
                report["litellm_skipped"] = str(exc)[:2000]
    finally:
        for server in reversed(servers):
            server.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    targets = report["targets"]
    gw = targets["gateway"]
    report["added_latency_ms"] = {n: added(t, targets["direct"]) for n, t in targets.items() if n != "direct"}
    report["goals"] = {
        "gateway rps >= 1500": f"{gw['throughput']['rps']:.0f} -> {'met' if gw['throughput']['rps'] >= 1500 else 'MISSED'}",
        "gateway added p50 <= 1.5 ms": (
            f"{report['added_latency_ms']['gateway']['p50_ms']:.3f} -> "
            f"{'met' if report['added_latency_ms']['gateway']['p50_ms'] <= 1.5 else 'MISSED'}"
        ),
    }
    report["machine"]["loadavg_end"] = os.getloadavg()
    print_report(report)
    print(
        f"load average at start {report['machine']['loadavg_start']}, at end {report['machine']['loadavg_end']}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
