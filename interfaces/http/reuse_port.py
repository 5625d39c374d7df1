"""One listening socket per worker process, so that the kernel spreads connections evenly.

uvicorn's `--workers` binds one socket in its supervisor and hands that socket to every worker.
The workers then race to accept from one queue, and the kernel wakes the most recently idle one
first. A few workers take most connections, and a worker that was busy while a client opened its
connections can get none of them; keep-alive keeps it that way.

On Linux, here each worker listens on a socket of its own, all in one `SO_REUSEPORT` group, and
the kernel hashes every new connection to one of them. The supervisor keeps the address bound
without listening: that reserves the port and fails at once when it is taken (by another group
too), and a socket that does not listen is given no connections. Only processes of the same user
can join the group.

uvicorn's supervisor passes its sockets to each worker it starts (or restarts) by pickling them.
The supervisor's socket is pickled as its address, and unpickled in the worker as a new socket
in the group: every worker, restarted ones too, gets its own. It listens, and so takes its share
of new connections, only once the worker's server starts serving, after the app's startup.

A listening socket that closes (its worker stopped or died) resets the connections still waiting
in its queue, unless the kernel hands them to the group's other sockets: Linux 5.14 and newer do
with the `net.ipv4.tcp_migrate_req=1` setting.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

# What the kernel does with the group: Linux balances connections across its sockets; other
# systems accept the option but give every connection to one socket.
BALANCED = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def joined(family: socket.AddressFamily, host: str, port: int) -> socket.socket:
    """A socket in the group: bound, not listening. A worker's listens once its server starts
    (uvicorn's server calls `listen` when it starts serving, after the app's startup), so no
    connection waits on a worker that is still starting."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


class GroupAddress(socket.socket):
    """The supervisor's socket: bound to the group's address, never listening. Pickled, it
    becomes a worker's own socket in the group (`joined`)."""

    def __reduce__(self) -> tuple[Any, ...]:
        host, port = self.getsockname()[:2]
        return (joined, (self.family, host, port))


def reserve(host: str, port: int) -> GroupAddress:
    """The group's address bound in the supervisor; OSError when the port is taken, by a group
    too (another `serve` on the same port would otherwise join it and share its connections).
    Port 0 takes a free port, which every worker then shares."""
    family = _family(host)
    with socket.socket(family, socket.SOCK_STREAM) as alone:
        alone.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        alone.bind((host, port))  # refused for a port any socket listens on, grouped or not
        port = alone.getsockname()[1]
    plain = joined(family, host, port)
    return GroupAddress(plain.family, plain.type, plain.proto, fileno=plain.detach())


def single(host: str, port: int) -> socket.socket:
    """One worker's listening address, bound (not in a group, not listening yet) before the
    server starts; OSError when the port is taken, as `reserve` does for several workers."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock
