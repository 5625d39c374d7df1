"""Each worker process listens on a socket of its own in one SO_REUSEPORT group, made from the
supervisor's address when uvicorn's supervisor pickles it for the worker: real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
from collections.abc import Iterator
from multiprocessing.reduction import ForkingPickler

import pytest
import uvloop

from interfaces.http import reuse_port

pytestmark = pytest.mark.skipif(not reuse_port.BALANCED, reason="Linux balances SO_REUSEPORT")


def _as_a_worker_gets_it(address: reuse_port.GroupAddress) -> socket.socket:
    """What a worker process unpickles (uvicorn's supervisor pickles its sockets with
    multiprocessing's pickler to start each worker), listening as its server makes it once it
    starts serving."""
    sock = _unpickled(address)
    sock.listen(128)
    return sock


def _unpickled(address: reuse_port.GroupAddress) -> socket.socket:
    sock = ForkingPickler.loads(bytes(ForkingPickler.dumps(address)))
    assert isinstance(sock, socket.socket)
    return sock


@contextlib.contextmanager
def _closing(*socks: socket.socket) -> Iterator[None]:
    try:
        yield
    finally:
        for sock in socks:
            sock.close()


def _accepted_by(listeners: list[socket.socket], port: int, connections: int) -> list[int]:
    """Opens `connections` connections to the port; how many each listener accepted."""
    counts = [0] * len(listeners)
    clients, taken = [], []
    try:
        for _ in range(connections):
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        while sum(counts) < connections:
            ready, _, _ = select.select(listeners, [], [], 5)
            assert ready, f"only {sum(counts)} of {connections} connections were accepted"
            for listener in ready:
                conn, _ = listener.accept()
                taken.append(conn)
                counts[listeners.index(listener)] += 1
    finally:
        for sock in clients + taken:
            sock.close()
    return counts


def test_the_supervisors_address_is_bound_but_takes_no_connection() -> None:
    address = reuse_port.reserve("127.0.0.1", 0)
    with _closing(address):
        port = address.getsockname()[1]
        assert port != 0
        assert address.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 0
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_a_worker_still_starting_takes_no_connection() -> None:
    address = reuse_port.reserve("127.0.0.1", 0)
    serving, starting = _as_a_worker_gets_it(address), _unpickled(address)
    with _closing(address, serving, starting):
        assert starting.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 0
        assert _accepted_by([serving], address.getsockname()[1], 30) == [30]


def test_the_servers_event_loop_makes_a_workers_socket_listen() -> None:
    """What uvicorn does with a worker's socket once the app has started: `create_server` on
    uvloop, the loop it runs."""
    address = reuse_port.reserve("127.0.0.1", 0)
    sock = _unpickled(address)

    async def answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"served")
        await writer.drain()
        writer.close()

    async def serve_once() -> bytes:
        async with await asyncio.start_server(answer, sock=sock):
            reader, writer = await asyncio.open_connection("127.0.0.1", address.getsockname()[1])
            data = await reader.read()
            writer.close()
            return data

    with _closing(address):
        assert uvloop.run(serve_once()) == b"served"


def test_each_worker_gets_its_own_listening_socket_on_the_same_port() -> None:
    address = reuse_port.reserve("127.0.0.1", 0)
    first, second = _as_a_worker_gets_it(address), _as_a_worker_gets_it(address)
    with _closing(address, first, second):
        port = address.getsockname()[1]
        assert first.getsockname() == second.getsockname() == ("127.0.0.1", port)
        assert first.fileno() != second.fileno()
        for worker in (first, second):
            assert worker.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
            assert worker.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1


def test_the_kernel_spreads_connections_over_the_workers() -> None:
    address = reuse_port.reserve("127.0.0.1", 0)
    workers = [_as_a_worker_gets_it(address) for _ in range(2)]
    with _closing(address, *workers):
        counts = _accepted_by(workers, address.getsockname()[1], 80)
    # hashed at random over two: fewer than 20 of 80 on one side has a chance below 1e-5
    assert min(counts) >= 20, counts


def test_a_worker_gone_leaves_the_group_and_its_share_goes_to_the_others() -> None:
    address = reuse_port.reserve("127.0.0.1", 0)
    staying, going = _as_a_worker_gets_it(address), _as_a_worker_gets_it(address)
    with _closing(address, staying):
        going.close()
        assert _accepted_by([staying], address.getsockname()[1], 30) == [30]
        replacement = _as_a_worker_gets_it(address)  # a restarted worker joins again
        with _closing(replacement):
            counts = _accepted_by([staying, replacement], address.getsockname()[1], 80)
    assert min(counts) >= 20, counts


def test_a_port_taken_by_another_listener_is_refused() -> None:
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen(8)
    with _closing(other), pytest.raises(OSError, match="in use"):
        reuse_port.reserve("127.0.0.1", other.getsockname()[1]).close()


def test_an_ipv6_address_makes_ipv6_sockets() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        address = reuse_port.reserve("::1", 0)
    except OSError as error:
        pytest.skip(f"no IPv6 loopback here: {error}")
    worker = _as_a_worker_gets_it(address)
    with _closing(address, worker):
        assert worker.family == socket.AF_INET6
        assert worker.getsockname()[:2] == address.getsockname()[:2]


def test_a_port_another_group_listens_on_is_refused() -> None:
    """A second `serve` on the port of a running one fails instead of sharing its connections."""
    address = reuse_port.reserve("127.0.0.1", 0)
    worker = _as_a_worker_gets_it(address)
    with _closing(address, worker), pytest.raises(OSError, match="in use"):
        reuse_port.reserve("127.0.0.1", address.getsockname()[1]).close()
