"""A webhook receiver on loopback: keeps every POST it gets (path, headers, body) and answers
500 to the first try of each delivery on the paths told to fail once, 200 otherwise."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered


class WebhookReceiver:
    def __init__(
        self, *, fail_first_on: tuple[str, ...] = (), always: dict[str, int] | None = None
    ) -> None:
        """`always`: the status each of these paths answers, whatever comes."""
        self.received: list[Received] = []
        self._fail_first_on = fail_first_on
        self._always = always or {}
        self._failed: set[str] = set()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {key.lower(): value for key, value in self.headers.items()}
                status = receiver._answer(self.path, headers)
                with receiver._lock:
                    receiver.received.append(Received(self.path, headers, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _answer(self, path: str, headers: dict[str, str]) -> int:
        delivery = headers.get("x-fluxrouter-delivery-id", "")
        if path in self._always:
            return self._always[path]
        with self._lock:
            if path in self._fail_first_on and delivery not in self._failed:
                self._failed.add(delivery)
                return 500
        return 200

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    def on(self, path: str) -> list[Received]:
        with self._lock:
            return [seen for seen in self.received if seen.path == path]


@contextmanager
def webhook_receiver(
    *, fail_first_on: tuple[str, ...] = (), always: dict[str, int] | None = None
) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(fail_first_on=fail_first_on, always=always)
    thread = threading.Thread(target=receiver._server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver._server.shutdown()
        receiver._server.server_close()
