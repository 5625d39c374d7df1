"""The interleaving client of the limits bench reads whole answers, of a length or in chunks, on
one keep-alive connection, sends the kinds in turn, and keeps what was not a 200 apart."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from tests.bench.interleaved import Connection, alternate, percentile, raw_request


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        key = self.headers["Authorization"].removeprefix("Bearer ")
        self.seen.append(key)
        if key == "refused":
            self._answer(429, b'{"error":"slow down"}')
        elif key == "chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b'{"echo":', body, b"}"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self._answer(200, b'{"echo":' + body + b"}")

    def _answer(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Handler.seen = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/chat/completions"
    finally:
        server.shutdown()
        server.server_close()


def test_answers_of_a_length_and_in_chunks_are_read_whole_on_one_connection(url: str) -> None:
    connection = Connection(url)
    try:
        for key in ("plain", "chunked", "plain"):
            status, body = connection.exchange(raw_request(url, b'{"n":1}', key))
            assert (status, body) == (200, b'{"echo":{"n":1}}')
    finally:
        connection.close()
    assert _Handler.seen == ["plain", "chunked", "plain"]


def test_the_kinds_go_in_turn_and_refusals_are_kept_apart(url: str) -> None:
    requests = {name: raw_request(url, b"{}", name) for name in ("plain", "refused")}
    timings = alternate(url, requests, 0.3, seed=1)
    sent = _Handler.seen
    assert len(timings.latencies["plain"]) > 5
    assert timings.latencies["refused"] == []
    assert len(timings.failures) == sent.count("refused")
    assert timings.failures[0].startswith("refused: 429")
    assert timings.requests == len(sent)
    # one of each in every pair: the two counts never differ by more than one pair
    pairs = [sorted(sent[i : i + 2]) for i in range(0, len(sent) - 1, 2)]
    assert all(pair == ["plain", "refused"] for pair in pairs)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 99.9) == 100.0
    assert percentile([3.0], 0) == 3.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
