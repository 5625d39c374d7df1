"""The real gateway as a separate process (`fluxrouter serve`), with its logs kept for reading."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.every_token import every_token_models
from tests.support.services import REDIS_URL, free_port, postgres_database

BIN = Path(sys.executable).parent
LIMITS_RELOAD_EVERY = 0.5  # `billing.limits_reload_seconds` of the test gateways
LIMITS_RELOAD = 0.8  # how long until a limit set through one gateway holds on every other
READY_WITHIN = 120  # seconds for `serve` to answer /readyz: its imports alone take 5 s of CPU,
# several times that on a busy 2-core machine


TIER_ROUTING: dict[str, Any] = {
    "tiers": {
        "simple": "gpt-4o-mini",
        "medium": "gemini-2.5-flash",
        "complex": "claude-haiku-4-5",
        "reasoning": "gpt-4o",
    }
}
"""`routing` of the gateways that have the Anthropic and Gemini fakes: the example of
docs/routing.md#tiers, whose table of prompts the tests send through `auto`."""


def gateway_config(
    *,
    database_url: str,
    redis_url: str | None,
    upstream_url: str,
    upstream_key: str,
    extra_providers: list[dict[str, Any]] | None = None,
    anthropic_url: str | None = None,
    gemini_url: str | None = None,
) -> dict[str, Any]:
    return {
        "database": {"url": database_url},
        "redis": {"url": redis_url},
        "logging": {"level": "info", "format": "json"},
        "billing": {"limits_reload_seconds": LIMITS_RELOAD_EVERY},
        # the OIDC peers and image servers of the tests are on 127.0.0.1; 127.0.0.2 stays internal
        "outbound": {"allow": ["127.0.0.1"]},
        # one attempt per call, no circuit: the suites that read how one upstream failure is
        # answered see that failure (tests/e2e/test_routing.py configures the routing); with the
        # vendor fakes, the tiers of docs/routing.md too
        "routing": {
            "retries": 0,
            "circuit_breaker": {"enabled": False},
            **(TIER_ROUTING if anthropic_url and gemini_url else {}),
        },
        "providers": [
            {
                "name": "openai",
                "kind": "openai",
                "base_url": upstream_url,
                "api_key": "${TEST_UPSTREAM_KEY}",
                "timeouts": {"connect": 2, "first_byte": 2, "total": 10},
                "models": [
                    {
                        "name": "gpt-4o-mini",
                        "price": {"input_per_mtok": 0.15, "output_per_mtok": 0.60},
                    },
                    {"name": "gpt-4o", "price": {"input_per_mtok": 2.5, "output_per_mtok": 10}},
                    {  # a legacy text completions model
                        "name": "gpt-3.5-turbo-instruct",
                        "price": {"input_per_mtok": 1.5, "output_per_mtok": 2},
                    },
                    {
                        "name": "text-embedding-3-small",
                        "price": {"input_per_mtok": 0.02, "output_per_mtok": 0},
                    },
                    {"name": "fake-error-500"},
                    {"name": "fake-error-429"},
                    {"name": "fake-error-400"},
                    {"name": "fake-error-401-leaky"},
                    {"name": "fake-slow"},
                    {"name": "fake-stall-stream"},
                    {
                        "name": "fake-slow-stream",
                        "price": {"input_per_mtok": 1, "output_per_mtok": 2},
                    },
                    {"name": "fake-flood-stream"},
                    {  # reports cached input and reasoning output tokens
                        "name": "o-cached-reasoning",
                        "upstream": "fake-cached-reasoning",
                        "price": {
                            "input_per_mtok": 1,
                            "output_per_mtok": 4,
                            "cached_input_per_mtok": 0.5,
                        },
                    },
                    {  # ignores the output limit it is sent
                        "name": "fake-runaway",
                        "price": {"input_per_mtok": 1, "output_per_mtok": 100},
                    },
                    *every_token_models("openai"),
                ],
            },
            {
                "name": "local",
                "kind": "openai-compatible",
                "base_url": upstream_url,
                "api_key": "${TEST_UPSTREAM_KEY}",
                "models": [
                    {
                        "name": "llama3.1",
                        "upstream": "gpt-4o-mini",
                        "price": {"input_per_mtok": 0.01, "output_per_mtok": 0.02},
                    },
                    {"name": "nomic-embed", "upstream": "text-embedding-3-small"},
                    {  # reports cached input and reasoning output tokens, through chat
                        "name": "local-cached-reasoning",
                        "upstream": "fake-cached-reasoning",
                        "price": {
                            "input_per_mtok": 1,
                            "output_per_mtok": 4,
                            "cached_input_per_mtok": 0.5,
                        },
                    },
                    {  # one word every 20 ms, through the chat translation
                        "name": "local-slow-stream",
                        "upstream": "fake-slow-stream",
                        "price": {"input_per_mtok": 1, "output_per_mtok": 2},
                    },
                    {  # ignores the output limit it is sent, through the chat translation
                        "name": "local-runaway",
                        "upstream": "fake-runaway",
                        "price": {"input_per_mtok": 1, "output_per_mtok": 100},
                    },
                    *every_token_models("local"),
                    {
                        "name": "llama-instruct",
                        "upstream": "gpt-3.5-turbo-instruct",
                        "price": {"input_per_mtok": 0.02, "output_per_mtok": 0.04},
                    },
                ],
            },
            {  # a server that refuses `stream_options`: no usage chunk is asked for
                "name": "strict",
                "kind": "openai-compatible",
                "base_url": upstream_url,
                "api_key": "${TEST_UPSTREAM_KEY}",
                "stream_usage": False,
                "models": [
                    {
                        "name": "strict-llama",
                        "upstream": "gpt-4o-mini",
                        "price": {"input_per_mtok": 1, "output_per_mtok": 1},
                    }
                ],
            },
            *vendor_providers(anthropic_url, gemini_url),
            *(extra_providers or []),
        ],
    }


def vendor_providers(anthropic_url: str | None, gemini_url: str | None) -> list[dict[str, Any]]:
    """The Anthropic and Gemini providers, pointed at their fakes (same upstream key)."""
    providers: list[dict[str, Any]] = []
    if anthropic_url:
        providers.append(
            {
                "name": "anthropic",
                "kind": "anthropic",
                "base_url": anthropic_url,
                "api_key": "${TEST_UPSTREAM_KEY}",
                "timeouts": {"connect": 2, "first_byte": 2, "total": 10},
                "models": [
                    {
                        "name": "claude-haiku-4-5",
                        "max_output_tokens": 1024,
                        "price": {
                            "input_per_mtok": 3,
                            "output_per_mtok": 15,
                            "cached_input_per_mtok": 0.3,
                        },
                    },
                    *(  # no output cap of their own: room to think (test_reasoning_translated)
                        {
                            "name": name,
                            "price": {
                                "input_per_mtok": 3,
                                "output_per_mtok": 15,
                                "cached_input_per_mtok": 0.3,
                            },
                        }
                        for name in ("claude-sonnet-4-5", "claude-opus-4-7")
                    ),
                    {
                        "name": "claude-cached",
                        "upstream": "fake-cached",
                        "price": {
                            "input_per_mtok": 3,
                            "output_per_mtok": 15,
                            "cached_input_per_mtok": 0.3,
                        },
                    },
                    {"name": "claude-overloaded", "upstream": "fake-overloaded"},
                    {"name": "claude-rate-limited", "upstream": "fake-rate-limited"},
                    *every_token_models("anthropic"),
                ],
            }
        )
    if gemini_url:
        providers.append(
            {
                "name": "gemini",
                "kind": "gemini",
                "base_url": gemini_url,
                "api_key": "${TEST_UPSTREAM_KEY}",
                "allow_internal_image_urls": True,
                "timeouts": {"connect": 2, "first_byte": 2, "total": 10},
                "models": [
                    {
                        "name": "gemini-2.5-flash",
                        "price": {"input_per_mtok": 0.3, "output_per_mtok": 2.5},
                    },
                    {
                        "name": "text-embedding-004",
                        "price": {"input_per_mtok": 0.01, "output_per_mtok": 0},
                    },
                    {"name": "gemini-exhausted", "upstream": "fake-exhausted"},
                    {"name": "gemini-safety", "upstream": "fake-safety"},
                    *every_token_models("gemini"),
                    {  # ignores the output limit it is sent
                        "name": "gemini-runaway",
                        "upstream": "fake-runaway",
                        "price": {"input_per_mtok": 1, "output_per_mtok": 100},
                    },
                ],
            }
        )
        providers.append(
            {  # the default guard: images on internal addresses are refused
                "name": "gemini-guarded",
                "kind": "gemini",
                "base_url": gemini_url,
                "api_key": "${TEST_UPSTREAM_KEY}",
                "models": [{"name": "gemini-guarded-flash", "upstream": "gemini-2.5-flash"}],
            }
        )
    return providers


class GatewayProcess:
    """`fluxrouter serve` (and, with Redis, `fluxrouter worker`) on a free port."""

    def __init__(
        self,
        workdir: Path,
        config: dict[str, Any] | None,
        *,
        admin_key: str | None,
        upstream_key: str = "",
        with_worker: bool = False,
        workers: int = 1,
    ) -> None:
        """`config` None: no configuration file at all (the `make run` default); `admin_key`
        None: the gateway generates one and prints it at first start; `workers`: serving
        processes (`serve --workers`)."""
        self.workdir = workdir
        self.admin_key = admin_key or ""
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "gateway.log"
        self.worker_log_path = workdir / "worker.log"
        self.env = {
            key: value for key, value in os.environ.items() if not key.startswith("FLUXROUTER_")
        }
        self.env["TEST_UPSTREAM_KEY"] = upstream_key
        if admin_key is not None:
            self.env["FLUXROUTER_ADMIN_KEY"] = admin_key
        if config is not None:
            config_path = workdir / "fluxrouter.yaml"
            config_path.write_text(yaml.safe_dump(config))
            self.env["FLUXROUTER_CONFIG"] = str(config_path)
        self._with_worker = with_worker
        self._workers = workers
        self._procs: list[subprocess.Popen[bytes]] = []
        self._database_url = str((config or {}).get("database", {}).get("url") or "")

    @property
    def shape(self) -> str:
        """Its shape: `sqlite` (the embedded one) or `postgres` (PostgreSQL + Redis)."""
        return "sqlite" if self._database_url.startswith("sqlite") else "postgres"

    @property
    def database_url(self) -> str:
        """The gateway's database as a synchronous SQLAlchemy URL, for reading it directly."""
        return self._database_url.replace("sqlite+aiosqlite://", "sqlite://")

    def start(self) -> GatewayProcess:
        self._spawn(
            ["serve", "--port", str(self.port), "--workers", str(self._workers)], self.log_path
        )
        if self._with_worker:
            self._spawn(["worker"], self.worker_log_path)
        deadline = time.monotonic() + READY_WITHIN
        while time.monotonic() < deadline:
            if self._procs[0].poll() is not None:
                self.stop()  # its worker too: nothing is left running behind a failed start
                raise RuntimeError(f"gateway exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if (
                    httpx.get(f"{self.base_url}/readyz", timeout=5).status_code == 200
                    and self._worker_running()
                ):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        log = self.logs()[-3000:]
        self.stop()
        raise RuntimeError(f"gateway did not become ready:\n{log}")

    def _worker_running(self) -> bool:
        """Without a worker nothing waits for one; with one, the projections (usage, audit) are
        read only once it runs."""
        if not self._with_worker:
            return True
        return self.worker_log_path.exists() and (
            "fluxrouter: worker running" in self.worker_log_path.read_text(errors="replace")
        )

    def _spawn(self, args: list[str], log: Path) -> None:
        handle = log.open("ab")
        self._procs.append(
            subprocess.Popen(
                [str(BIN / "fluxrouter"), *args],
                cwd=self.workdir,
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        )

    @property
    def pid(self) -> int:
        """The process id of `fluxrouter serve`."""
        return self._procs[0].pid

    def stop(self) -> int | None:
        """Stops the processes (SIGTERM, then SIGKILL after 15 s); `fluxrouter serve`'s exit
        status."""
        for proc in reversed(self._procs):
            proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        serve = self._procs[0].returncode if self._procs else None
        self._procs.clear()
        return serve

    def logs(self) -> str:
        text = self.log_path.read_text(errors="replace")
        if self.worker_log_path.exists():
            text += self.worker_log_path.read_text(errors="replace")
        return text

    def restart(self) -> GatewayProcess:
        self.stop()
        return self.start()

    def fluxrouter(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Runs another `fluxrouter` command in the same directory and environment."""
        return subprocess.run(
            [str(BIN / "fluxrouter"), *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.base_url}/admin/v1",
            timeout=10,
            headers={"Authorization": f"Bearer {self.admin_key}"},
        )


ConfigMaker = Callable[..., dict[str, Any]]
"""`make_config(database_url=..., redis_url=... or None)` → a gateway's configuration (such as
`functools.partial(gateway_config, upstream_url=..., upstream_key=...)`)."""


@contextlib.contextmanager
def own_gateway(
    shape: str,
    workdir: Path,
    make_config: ConfigMaker,
    *,
    database_url: str | None = None,
    admin_key: str | None = None,
    upstream_key: str = "",
    with_worker: bool | None = None,
    workers: int = 1,
    **sections: dict[str, Any],
) -> Iterator[GatewayProcess]:
    """A gateway of a test's own in `workdir`, started, and stopped afterwards; `sections` set
    in its configuration (each in place of the one `make_config` gave, if any).

    `shape` `sqlite`: the embedded shape, a SQLite file in `workdir` and no Redis. `postgres`
    (or `postgresql`): PostgreSQL (`database_url`, else a new database dropped afterwards) and Redis
    under a namespace of its own, with a worker unless `with_worker` is False. `admin_key` None:
    a new random one."""
    if shape not in ("sqlite", "postgres", "postgresql"):
        raise ValueError(f"no such shape: {shape}")
    postgres = shape != "sqlite"
    database = (
        postgres_database()
        if postgres and database_url is None
        else contextlib.nullcontext(database_url)
    )
    with database as url:
        config = make_config(
            database_url=url if postgres else f"sqlite+aiosqlite:///{workdir / 'fluxrouter.db'}",
            redis_url=REDIS_URL if postgres else None,
        )
        config.update(sections)
        process = GatewayProcess(
            workdir,
            config,
            admin_key=admin_key or "fradm-" + secrets.token_urlsafe(32),
            upstream_key=upstream_key,
            with_worker=postgres if with_worker is None else with_worker,
            workers=workers,
        )
        if postgres:
            process.env["FLUXROUTER_REDIS_NAMESPACE"] = f"fluxrouter-test-{secrets.token_hex(4)}"
        process.start()
        try:
            yield process
        finally:
            process.stop()
