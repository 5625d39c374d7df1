"""What the connection limits cost: uvicorn serving a bare ASGI app with the gateway's protocol
held to limits (`GuardedHttpToolsProtocol`) and without them (`CombinedWritesHttpToolsProtocol`),
in turn, round after round, so that the machine's drift falls on both alike.

Usage: ``python -m tests.bench.connection_limits [--rounds 5] [--seconds 5]``. wrk (32 clients)
measures requests/s on kept-alive connections (the cost per request: the timer of a request's
head and the parser callbacks), and with `Connection: close` (the cost per connection: counting
it in and out, per address, and its timer). The app answers at once, so that nothing hides the
difference; the gateway's requests cost far more than this app's, and the same difference is a
smaller share of them.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.loadgen import ensure_wrk
from tests.support.services import free_port

PROTOCOLS = {
    "without limits": "interfaces.http.combined_writes:CombinedWritesHttpToolsProtocol",
    "with limits": "interfaces.http.guarded_protocol:GuardedHttpToolsProtocol",
}
CLIENTS = 32

SERVER = """
import sys, uvicorn
from interfaces.http import connection_limits

connection_limits.configure(connection_limits.ConnectionLimits(
    max_connections=10000, per_address=100000, header_timeout=15.0, body_timeout=60.0))

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"15")]})
    await send({"type": "http.response.body", "body": b'{"status":"ok"}'})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), http=sys.argv[2], loop="uvloop",
            log_level="warning", access_log=False, lifespan="off")
"""


def _serve(protocol: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), protocol], cwd=Path(__file__).parents[2]
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        probe = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{port}/"], check=False
        )
        if probe.returncode == 0:
            return proc, port
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the bench server did not start")


def _wrk(port: int, seconds: int, close: bool) -> float:
    command = ["wrk", "-t2", f"-c{CLIENTS}", f"-d{seconds}s", f"http://127.0.0.1:{port}/"]
    if close:
        command[1:1] = ["-H", "Connection: close"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.connection_limits")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args(argv)
    ensure_wrk()
    servers = {name: _serve(protocol) for name, protocol in PROTOCOLS.items()}
    results: dict[tuple[str, bool], list[float]] = {}
    try:
        for round_ in range(args.rounds):
            for close in (False, True):
                for name, (_, port) in servers.items():
                    rate = _wrk(port, args.seconds, close)
                    results.setdefault((name, close), []).append(rate)
                    kind = "new connection each" if close else "kept alive"
                    print(f"round {round_ + 1}, {kind}, {name}: {rate:,.0f} requests/s")
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait()
    for close in (False, True):
        kind = "a new connection per request" if close else "kept-alive connections"
        base = statistics.mean(results[("without limits", close)])
        held = statistics.mean(results[("with limits", close)])
        cost_us = (1 / held - 1 / base) * 1e6
        print(
            f"{kind}: {base:,.0f} without limits, {held:,.0f} with ({held / base:.3f}x; "
            f"{cost_us:+.2f} µs of one core's time per request)"
        )


if __name__ == "__main__":
    main()
