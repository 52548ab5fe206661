"""A dependency-free asyncio HTTP/1.1 load generator (keep-alive, fixed concurrency) for quick benchmarks.

``python -m aifinops.emulators.loadgen http://127.0.0.1:9000/v1/chat/completions -n 2000 -c 32``
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson

DEFAULT_BODY = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "Hello, how much did we spend?"}],
}


@dataclass(frozen=True)
class LoadResult:
    """Outcome of one load run."""

    requests: int
    errors: int
    seconds: float
    latencies_ms: tuple[float, ...]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response (content-length or chunked body) and return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def run_load(
    url: str,
    body: bytes,
    *,
    total: int = 2000,
    concurrency: int = 32,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """POST ``body`` to ``url`` ``total`` times over ``concurrency`` keep-alive connections."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    request = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer sk-load\r\nanthropic-version: 2023-06-01\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    remaining = total
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal remaining, errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while remaining > 0:
                remaining -= 1
                t0 = time.perf_counter()
                writer.write(request)
                status = await _read_response(reader)
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += status >= 400
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return LoadResult(len(latencies), errors, time.perf_counter() - start, tuple(latencies))


def main(argv: list[str] | None = None) -> None:
    """Command line: run a load and print requests/s and latency percentiles."""
    parser = argparse.ArgumentParser(prog="python -m aifinops.emulators.loadgen")
    parser.add_argument("url")
    parser.add_argument("-n", "--requests", type=int, default=2000)
    parser.add_argument("-c", "--concurrency", type=int, default=32)
    parser.add_argument("--body", help="JSON request body (default: a small chat completion)")
    args = parser.parse_args(argv)
    body = args.body.encode() if args.body else orjson.dumps(DEFAULT_BODY)
    res = asyncio.run(run_load(args.url, body, total=args.requests, concurrency=args.concurrency))
    print(
        f"{res.requests} requests, {res.errors} errors in {res.seconds:.2f}s: {res.rps:.0f} req/s, "
        f"p50 {res.percentile(0.5):.2f} ms, p99 {res.percentile(0.99):.2f} ms"
    )


if __name__ == "__main__":
    main()
