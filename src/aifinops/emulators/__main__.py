"""``python -m aifinops.emulators --host 127.0.0.1 --port 9000 [--latency-ms N]``: serve the emulator."""

from __future__ import annotations

import argparse

from . import EmulatorConfig, create_emulator


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve the emulator with uvicorn (uvloop, httptools, no access log)."""
    parser = argparse.ArgumentParser(prog="python -m aifinops.emulators", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before the first byte")
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0, help="delay between streamed events")
    parser.add_argument("--output-tokens", type=int, default=16, help="default output tokens")
    parser.add_argument("--chunk-tokens", type=int, default=1, help="tokens per streamed delta")
    parser.add_argument("--api-key", action="append", dest="api_keys", help="accepted key (repeatable)")
    args = parser.parse_args(argv)
    config = EmulatorConfig(
        latency_ms=args.latency_ms,
        chunk_delay_ms=args.chunk_delay_ms,
        output_tokens=args.output_tokens,
        chunk_tokens=args.chunk_tokens,
        api_keys=args.api_keys,
    )
    import uvicorn

    uvicorn.run(
        create_emulator(config),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        ws="none",
        lifespan="off",
        log_level="warning",
        access_log=False,
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
