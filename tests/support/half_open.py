"""Half-open connections, as a slowloris client opens them: each connects, sends the start of a
request (its request line and one header, never the blank line that ends the head) and waits.

Run in a process of its own, since each process has its own limit on open files:

    python -m tests.support.half_open HOST PORT COUNT SOURCE_ADDRESS

It opens COUNT connections from SOURCE_ADDRESS, prints one JSON line saying what became of them
(`open`: the server still holds it; `refused`: it was answered 429 or 503 at once, by status;
`timed_out`: answered 408; `closed`: closed with no answer; `failed`: could not connect), then
holds them open until its standard input closes.
"""

from __future__ import annotations

import contextlib
import json
import resource
import socket
import sys
import time
from collections import Counter

PARTIAL_HEAD = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Slow: "
CONNECT_TIMEOUT = 5.0
OPENING_WITHIN = 150.0  # seconds for all of them; whatever is left is counted as failed
SETTLE_WITHIN = 30.0
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)  # Linux


def raise_open_files_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if min(hard, 1 << 30) < needed + 32:
        raise SystemExit(f"half_open: {needed} connections need more than the hard limit {hard}")


def open_one(host: str, port: int, source: str) -> socket.socket | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # the port is chosen at connect, per destination: the source's ports are not used up
        sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind((source, 0))
        sock.settimeout(CONNECT_TIMEOUT)
        sock.connect((host, port))
    except OSError:
        sock.close()
        return None
    with contextlib.suppress(OSError):  # refused and closed already: read below
        sock.send(PARTIAL_HEAD)
    return sock


def fate(sock: socket.socket) -> str:
    sock.setblocking(False)
    try:
        answer = sock.recv(64, socket.MSG_PEEK)
    except BlockingIOError:
        return "open"
    except OSError:
        return "closed"
    if not answer:
        return "closed"
    status = answer[9:12].decode("ascii", "replace")
    if status in ("429", "503"):
        return f"refused_{status}"
    if status == "408":
        return "timed_out"
    return f"answered_{status}"


def settled(held: list[socket.socket]) -> Counter[str]:
    """What became of the connections, once the server has taken every one of them from its
    listen queue (the kernel completes a connection before the server accepts it): once the
    number still open has not changed for a second."""
    fates = Counter(fate(sock) for sock in held)
    deadline = time.monotonic() + SETTLE_WITHIN
    while time.monotonic() < deadline:
        time.sleep(1.0)
        again = Counter(fate(sock) for sock in held)
        if again["open"] == fates["open"]:
            return again
        fates = again
    return fates


def main(argv: list[str]) -> int:
    host, port, count, source = argv[0], int(argv[1]), int(argv[2]), argv[3]
    raise_open_files_limit(count)
    started = time.monotonic()
    held: list[socket.socket] = []
    failed = 0
    for _ in range(count):
        if time.monotonic() - started > OPENING_WITHIN:
            failed += count - len(held) - failed
            break
        sock = open_one(host, port, source)
        if sock is None:
            failed += 1
        else:
            held.append(sock)
    opened_in = time.monotonic() - started
    fates = settled(held)
    fates["failed"] = failed
    report = {"opened_in": round(opened_in, 2), **fates}
    print(json.dumps(report), flush=True)
    sys.stdin.read()  # hold them until told to stop
    for sock in held:
        sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
