"""Real processes: `kill -9` the gateway under load, restart it, and every 2xx has exactly one record.
Also: CLI commands keep working while a server holds the ledger."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import duckdb
import pytest

from aifinops.core.records import make_record_id
from tests.emulators.conftest import RunningEmulator
from tests.gateway.conftest import free_port, spawn_aifinops, upstreams

pytestmark = pytest.mark.slow


def _start(config: Path, data: Path, port: int) -> subprocess.Popen:
    args = ["--config", str(config), "--data-dir", str(data), "serve", "--port", str(port)]
    return spawn_aifinops(args, port, ready="/readyz")


async def _load(port: int, seconds: float, ok_ids: list[str], kill_at: float, proc: subprocess.Popen) -> int:
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    started = time.monotonic()
    sent = 0

    async def worker(session: aiohttp.ClientSession, n: int) -> None:
        nonlocal sent
        while time.monotonic() - started < seconds:
            stream = n % 3 == 0
            body = {
                "model": "gpt-4o",
                "messages": [{"role": "user", "content": "hi [emulator output_tokens=8]"}],
                "stream": stream,
            }
            sent += 1
            try:
                async with session.post(url, json=body) as resp:
                    await resp.read()  # a stream cut by the kill raises here: its 2xx did not complete
                    if resp.status == 200:
                        ok_ids.append(resp.headers["x-aifinops-request-id"])
            except (TimeoutError, aiohttp.ClientError):
                await asyncio.sleep(0.01)

    async def killer() -> None:
        await asyncio.sleep(kill_at)
        proc.send_signal(signal.SIGKILL)

    async with aiohttp.ClientSession(headers={"authorization": "Bearer sk-client"}) as session:
        await asyncio.gather(killer(), *(worker(session, i) for i in range(16)))
    return sent


def test_kill_9_under_load_loses_no_served_request(emulator: RunningEmulator, tmp_path: Path) -> None:
    config = tmp_path / "aifinops.yaml"
    config.write_text(upstreams(emulator))
    data = tmp_path / "data"
    port = free_port()
    proc = _start(config, data, port)
    ok_ids: list[str] = []
    asyncio.run(_load(port, seconds=2.0, ok_ids=ok_ids, kill_at=1.2, proc=proc))
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    assert len(ok_ids) > 50, "the load did not get going before the kill"
    assert (data / "wal").exists()
    proc = _start(config, data, port)  # recovery ships the dead process's WAL first
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    con = duckdb.connect(str(data / "ledger.duckdb"), read_only=True)
    counts = dict(
        con.execute("SELECT record_id, count(*) FROM records WHERE source = 'gateway' GROUP BY 1").fetchall()
    )
    con.close()
    missing = [i for i in ok_ids if counts.get(make_record_id("gateway", i)) != 1]
    assert not missing, f"{len(missing)} of {len(ok_ids)} served requests have no single record"
    assert max(counts.values()) == 1


def test_cli_goes_through_a_running_server(emulator: RunningEmulator, tmp_path: Path) -> None:
    config = tmp_path / "aifinops.yaml"
    config.write_text(upstreams(emulator))
    data = tmp_path / "data"
    port = free_port()
    proc = _start(config, data, port)
    try:
        env = {**os.environ}
        base = [sys.executable, "-m", "aifinops", "--config", str(config), "--data-dir", str(data)]
        records = Path(__file__).parent.parent / "data" / "ingest" / "records.csv"
        done = subprocess.run(
            [*base, "ingest", "records", str(records), "--format", "json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["inserted"] > 0
        report = subprocess.run(
            [*base, "report", "costs", "--since", "2000-01-01", "--by", "team", "--format", "json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert report.returncode == 0, report.stderr
        assert {r["team"] for r in json.loads(report.stdout)} >= {"support", "search"}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
