"""Session-wide real services: the fake OpenAI upstream, and the gateway in both shapes."""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import secrets
from collections.abc import AsyncIterator, Generator, Iterator

import pytest
from hypothesis import settings

from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.gemini_upstream import FakeGemini
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import ConfigMaker, GatewayProcess, gateway_config, own_gateway
from tests.support.loop_watch import LoopWatch
from tests.support.services import postgres_database

UPSTREAM_KEY = "sk-upstream-" + secrets.token_urlsafe(24)

# CI runs the same examples every time (a property's new counterexample is found on a developer's
# run, not in a landing), and a busy 2-core machine is no reason for a deadline failure.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(expected_key=UPSTREAM_KEY, slow_seconds=5.0) as fake:
        yield fake


@pytest.fixture(scope="session")
def anthropic_upstream() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(expected_key=UPSTREAM_KEY, slow_seconds=5.0) as fake:
        yield fake


@pytest.fixture(scope="session")
def gemini_upstream() -> Iterator[FakeGemini]:
    with FakeGemini(expected_key=UPSTREAM_KEY, slow_seconds=5.0) as fake:
        yield fake


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


def session_config(
    upstream: FakeOpenAI, anthropic_upstream: FakeAnthropic, gemini_upstream: FakeGemini
) -> ConfigMaker:
    """The session gateways' configuration: the three fakes' providers."""
    return functools.partial(
        gateway_config,
        upstream_url=upstream.base_url,
        upstream_key=UPSTREAM_KEY,
        anthropic_url=anthropic_upstream.base_url,
        gemini_url=gemini_upstream.base_url,
    )


@pytest.fixture(scope="session")
def pg_gateway(
    upstream: FakeOpenAI,
    anthropic_upstream: FakeAnthropic,
    gemini_upstream: FakeGemini,
    pg_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayProcess]:
    """The production shape: PostgreSQL, Redis broker, and a separate Dramatiq worker."""
    with own_gateway(
        "postgres",
        tmp_path_factory.mktemp("gateway-pg"),
        session_config(upstream, anthropic_upstream, gemini_upstream),
        database_url=pg_url,
        upstream_key=UPSTREAM_KEY,
    ) as process:
        yield process


@pytest.fixture(scope="session")
def sqlite_gateway(
    upstream: FakeOpenAI,
    anthropic_upstream: FakeAnthropic,
    gemini_upstream: FakeGemini,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayProcess]:
    """The embedded shape: one SQLite file, no Redis, events handled in the serving process."""
    with own_gateway(
        "sqlite",
        tmp_path_factory.mktemp("gateway-sqlite"),
        session_config(upstream, anthropic_upstream, gemini_upstream),
        upstream_key=UPSTREAM_KEY,
    ) as process:
        yield process


SHAPES = ("sqlite", "postgres")
SHAPE_FIXTURES = {"sqlite": "sqlite_gateway", "postgres": "pg_gateway"}


@pytest.fixture(scope="session")
def gateway(request: pytest.FixtureRequest) -> GatewayProcess:
    """The production shape, or for a module marked `both_shapes` each shape in turn (one
    session-wide gateway per shape, shared by every module that asks for it)."""
    shape = getattr(request, "param", "postgres")
    process: GatewayProcess = request.getfixturevalue(SHAPE_FIXTURES[shape])
    return process


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`pytestmark = pytest.mark.both_shapes`: every test of the module that uses `gateway`
    runs against the embedded SQLite shape and against PostgreSQL + Redis;
    `@pytest.mark.one_shape("sqlite")` on a test of such a module runs it on that shape only
    (a test that starts a gateway of its own and borrows only a fixture of the shared one)."""
    if "gateway" not in metafunc.fixturenames:
        return
    if not metafunc.definition.get_closest_marker("both_shapes"):
        return
    one = metafunc.definition.get_closest_marker("one_shape")
    shapes = one.args if one else SHAPES
    metafunc.parametrize("gateway", shapes, indirect=True, scope="session")


@pytest.fixture(scope="session", autouse=True)
async def loop_watch() -> AsyncIterator[LoopWatch]:
    """Watches the tests' event loop for stalls (a failed test's report shows them)."""
    watch = LoopWatch(asyncio.get_running_loop()).start()
    yield watch
    watch.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that ran against a gateway process shows the end of that process's log
    (and its worker's), and any stall of the tests' own event loop while it ran, so a failure
    seen only once can still be read afterwards."""
    report = yield
    if report.failed and call.when == "call":
        funcargs = getattr(item, "funcargs", {})
        watch = funcargs.get("loop_watch")
        asynchronous = inspect.iscoroutinefunction(getattr(item, "obj", None))
        for stacks in (
            watch.since(call.start) if isinstance(watch, LoopWatch) and asynchronous else []
        ):
            report.sections.append(("the tests' event loop stalled", stacks))
        for name, process in funcargs.items():
            if isinstance(process, GatewayProcess):
                report.sections.append((f"{name} log (last 12 kB)", process.logs()[-12_000:]))
    return report
