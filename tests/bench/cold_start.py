"""Cold start: how long each command takes from its launch until it is of use, N runs each.

- `fluxrouter serve` until `/healthz` answers 200, embedded (SQLite, no Redis) and in
  production (PostgreSQL + Redis), one serving process;
- `fluxrouter worker` until it says it is running (PostgreSQL + Redis);
- the CLI: `fluxrouter --help`, and `fluxrouter keys list` (reads the database) until it exits.

Each shape's database is migrated and the gateway started once before the measured runs (the
admin key and the audit signing key made), as in a deployment restarted: `serve` still checks
the migrations at each start. `python -m tests.bench.cold_start [--runs N]` writes
docs/benchmarks/cold-start.json and the generated section of docs/benchmarks/cold-start.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import redis
import yaml

from tests.bench import cpu
from tests.bench.machine import machine, quiet_busy_pct
from tests.support.gateway import gateway_config
from tests.support.services import REDIS_URL, free_port, postgres_database

BIN = Path(sys.executable).parent
FLUXROUTER = str(BIN / "fluxrouter")
OUT = Path(__file__).resolve().parents[2] / "docs" / "benchmarks"
BEGIN, END = "<!-- cold_start: generated -->", "<!-- cold_start: end -->"
TIMEOUT = 180.0
IMPORT_BOOTSTRAP = [sys.executable, "-c", "import interfaces.bootstrap"]


def _env(config_path: Path, namespace: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUXROUTER_")}
    env |= {
        "FLUXROUTER_CONFIG": str(config_path),
        "FLUXROUTER_ADMIN_KEY": "fradm-" + secrets.token_urlsafe(32),
        "TEST_UPSTREAM_KEY": "sk-unused",
    }
    if namespace:
        env["FLUXROUTER_REDIS_NAMESPACE"] = namespace
    return env


@contextmanager
def deployment(workdir: Path, shape: str) -> Iterator[dict[str, str]]:
    """A configuration file for `shape` (sqlite | postgres), its database migrated; the
    environment to run `fluxrouter` in."""
    workdir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        namespace = None
        if shape == "sqlite":
            db_url, redis_url = f"sqlite+aiosqlite:///{workdir}/fluxrouter.db", None
        else:
            db_url = stack.enter_context(postgres_database("fluxrouter_bench"))
            redis_url, namespace = REDIS_URL, f"fluxrouter-bench-{secrets.token_hex(4)}"
            stack.callback(_drop_redis_namespace, namespace)
        config = gateway_config(
            database_url=db_url,
            redis_url=redis_url,
            upstream_url="http://127.0.0.1:9/v1",  # never called
            upstream_key="sk-unused",
        )
        config_path = workdir / "fluxrouter.yaml"
        config_path.write_text(yaml.safe_dump(config))
        env = _env(config_path, namespace)
        subprocess.run([FLUXROUTER, "migrate"], env=env, cwd=workdir, check=True, **_quiet())
        yield env


def _quiet() -> dict[str, Any]:
    return {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def _drop_redis_namespace(namespace: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{namespace}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


Timing = tuple[float, float]
"""Wall-clock seconds, and CPU seconds (user + system) of the process and its children."""


def _until(proc: subprocess.Popen[bytes], ready: Callable[[], bool], what: str) -> Timing:
    """Polls `ready` every 10 ms; the time since `proc` was launched (its `started`) and the
    CPU its process tree had used by then."""
    started: float = proc.started  # type: ignore[attr-defined]
    while time.monotonic() - started < TIMEOUT:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before it was ready")
        try:
            if ready():
                return time.monotonic() - started, cpu.seconds(proc.pid)
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.01)
    raise RuntimeError(f"{what} not ready within {TIMEOUT:g} s")


def _launch(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        started = time.monotonic()
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    proc.started = started  # type: ignore[attr-defined]
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve_once(env: dict[str, str], cwd: Path) -> Timing:
    port = free_port()
    proc = _launch([FLUXROUTER, "serve", "--port", str(port)], env, cwd, cwd / "serve.log")
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        return _until(proc, lambda: httpx.get(url, timeout=1.0).status_code == 200, "serve")
    finally:
        _stop(proc)


def worker_once(env: dict[str, str], cwd: Path) -> Timing:
    log = cwd / f"worker-{secrets.token_hex(3)}.log"
    proc = _launch([FLUXROUTER, "worker"], env, cwd, log)
    try:
        return _until(proc, lambda: b"worker running" in log.read_bytes(), "worker")
    finally:
        _stop(proc)


def command_once(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> Timing:
    """`argv` run to its exit: its wall-clock and CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    subprocess.run(argv, env=env, cwd=cwd, check=True, **_quiet())
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, used


def summary(timings: list[Timing]) -> dict[str, Any]:
    walls = sorted(wall for wall, _ in timings)
    cpus = sorted(used for _, used in timings)
    p90 = walls[min(len(walls) - 1, round(0.9 * (len(walls) - 1)))]
    return {
        "runs_s": [round(wall, 3) for wall, _ in timings],
        "cpu_runs_s": [round(used, 3) for _, used in timings],
        "median_s": round(statistics.median(walls), 3),
        "p90_s": round(p90, 3),
        "min_s": round(walls[0], 3),
        "cpu_median_s": round(statistics.median(cpus), 3),
    }


MEASURES = {
    "serve-sqlite": "`fluxrouter serve`, embedded (SQLite, no Redis), to the first `/healthz` 200",
    "serve-postgres": "`fluxrouter serve`, PostgreSQL + Redis, to the first `/healthz` 200",
    "worker-postgres": "`fluxrouter worker`, PostgreSQL + Redis, to `worker running`",
    "cli-help": "`fluxrouter --help`, to its exit",
    "cli-keys-list": "`fluxrouter keys list` (SQLite), to its exit",
    "import-bootstrap": "`python -c 'import interfaces.bootstrap'`, to its exit",
}


def measure(runs: int, workdir: Path) -> dict[str, Any]:
    found: dict[str, list[Timing]] = {name: [] for name in MEASURES}
    busy: dict[str, float] = {}
    for shape in ("sqlite", "postgres"):
        where = workdir / shape
        with deployment(where, shape) as env:
            serve_once(env, where)  # the first start makes the admin and audit keys
            busy[shape] = quiet_busy_pct()
            for _ in range(runs):
                found[f"serve-{shape}"].append(serve_once(env, where))
                if shape == "postgres":
                    found["worker-postgres"].append(worker_once(env, where))
                else:
                    found["cli-help"].append(command_once([FLUXROUTER, "--help"], env, where))
                    keys_list = [FLUXROUTER, "keys", "list"]
                    found["cli-keys-list"].append(command_once(keys_list, env, where))
                    found["import-bootstrap"].append(command_once(IMPORT_BOOTSTRAP, env))
    return {
        "machine": machine(),
        "runs": runs,
        "cpu_busy_before_pct": busy,
        "measures": {name: summary(seconds) for name, seconds in found.items()},
    }


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        BEGIN,
        "## Latest run",
        "",
        "Generated by `make bench` (`python -m tests.bench.cold_start`): everything below, up to",
        "the end marker, is overwritten by each run ([`cold-start.json`](cold-start.json) holds",
        f"the raw figures). {results['runs']} runs of each, one after the other.",
        "",
        "*CPU* is the user + system time the process and its children had used by then (the",
        "accounting process of `serve` included): the figure other load on the machine skews",
        "least.",
        "",
        "| Measure | median | p90 | fastest | CPU (median) |",
        "|---|--:|--:|--:|--:|",
    ]
    for name, figures in results["measures"].items():
        lines.append(
            f"| {MEASURES[name]} | {figures['median_s']:.2f} s | {figures['p90_s']:.2f} s "
            f"| {figures['min_s']:.2f} s | {figures['cpu_median_s']:.2f} s |"
        )
    busy = ", ".join(f"{k} {v} %" for k, v in results["cpu_busy_before_pct"].items())
    lines += [
        "",
        f"Machine: {m['nproc']} CPUs, {m['cpu_model']}, {m['memory_gib']} GiB, Python "
        f"{m['python']}, Linux {m['kernel']}; {m['date']}. CPU busy before each shape: {busy}.",
        END,
    ]
    return "\n".join(lines) + "\n"


def write(out: Path, results: dict[str, Any]) -> str:
    """cold-start.json, and the generated section of cold-start.md (the rest kept as it is)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "cold-start.json").write_text(json.dumps(results, indent=2) + "\n")
    section = markdown(results)
    page = out / "cold-start.md"
    text = page.read_text() if page.exists() else "# Cold start\n\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section.rstrip("\n") + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    page.write_text(text)
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fluxrouter-cold-") as tmp:
        results = measure(args.runs, Path(tmp))
    print(write(args.out, results))


if __name__ == "__main__":
    main()
