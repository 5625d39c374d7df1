"""wrk: making sure it is installed, running it with a Lua script, parsing its report."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.M)
_NON2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", re.M)
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.M)


@dataclass(frozen=True)
class WrkResult:
    connections: int
    threads: int
    duration_s: float
    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: dict[str, int]

    @property
    def failures(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ensure_wrk() -> str:
    """Path of `wrk`; installs the Debian package if missing, else exits with a clear message."""
    found = shutil.which("wrk")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt and os.geteuid() == 0:
        print("bench: wrk not found; installing it with apt-get", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = [apt, "install", "-y", "-q", "wrk"]
        if subprocess.run(install, env=env, check=False).returncode != 0:
            subprocess.run([apt, "update", "-q"], env=env, check=False)
            subprocess.run(install, env=env, check=False)
        found = shutil.which("wrk")
        if found:
            return found
    sys.exit(
        "bench: `wrk` is required but not installed, and could not be installed automatically.\n"
        "       Install it (Debian/Ubuntu: `sudo apt-get install -y wrk`, macOS: "
        "`brew install wrk`) and run `make bench` again."
    )


def wrk_version(wrk: str) -> str:
    out = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0] if first else "unknown"


def write_script(path: Path, body: bytes, key: str) -> Path:
    """A Lua script making every request a POST of `body` with a bearer key."""
    text = body.decode()
    if "]==]" in text:
        raise ValueError("request body cannot be embedded in a Lua long string")
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = [==[{text}]==]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {key}"\n'
    )
    return path


def run_wrk(
    wrk: str, url: str, script: Path, *, connections: int, duration_s: float
) -> tuple[WrkResult, str]:
    threads = 1 if connections == 1 else 2
    argv = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration_s:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr}")
    return parse(proc.stdout, connections=connections, threads=threads), proc.stdout


def parse(output: str, *, connections: int, threads: int) -> WrkResult:
    percentiles = {p: float(v) * _UNIT_MS[u] for p, v, u in _PERCENTILE.findall(output)}
    rps, total = _RPS.search(output), _TOTAL.search(output)
    if rps is None or total is None or set(percentiles) != {"50", "99"}:
        raise RuntimeError(f"could not parse wrk output:\n{output}")
    non2xx = _NON2XX.search(output)
    sock = _SOCKET.search(output)
    socket_errors = dict.fromkeys(("connect", "read", "write", "timeout"), 0)
    if sock:
        socket_errors = dict(zip(socket_errors, map(int, sock.groups()), strict=True))
    return WrkResult(
        connections=connections,
        threads=threads,
        duration_s=float(total.group(2)) * _UNIT_MS[total.group(3)] / 1000.0,
        requests=int(total.group(1)),
        requests_per_s=float(rps.group(1)),
        p50_ms=round(percentiles["50"], 3),
        p99_ms=round(percentiles["99"], 3),
        non_2xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=socket_errors,
    )
