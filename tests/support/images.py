"""A tiny PNG, as bytes, as a data URL, and served over HTTP on loopback."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A 1x1 red pixel.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
DATA_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/elsewhere":  # a redirect, as an attacker's public URL might send
            self.send_response(302)
            self.send_header("Location", "/pixel.png")
            self.end_headers()
            return
        if self.path != "/pixel.png":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def image_server() -> Iterator[str]:
    """Yields the URL of the PNG, served on 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/pixel.png"
    finally:
        server.shutdown()
        server.server_close()


class ImageHost:
    """Images of any size served on a loopback address of choice (`127.0.0.2` is as internal
    as `127.0.0.1`, and not on the test gateways' allow list), counting the requests it gets.
    `/declared/<name>` sends a Content-Length, `/undeclared/<name>` ends the body at close;
    `/to/<url>` redirects there."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.images: dict[str, bytes] = {}
        self.paths: list[str] = []
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.paths.append(self.path)
                if self.path.startswith("/to/"):
                    self.send_response(302)
                    self.send_header("Location", self.path.removeprefix("/to/"))
                    self.end_headers()
                    return
                kind, _, name = self.path.strip("/").partition("/")
                data = served.images.get(name.split("?")[0])
                if data is None or kind not in ("declared", "undeclared"):
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                if kind == "declared":
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.host = host
        self.port = int(self.server.server_address[1])
        self.base_url = f"http://{host}:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, name: str, *, declared: bool = True) -> str:
        return f"{self.base_url}/{'declared' if declared else 'undeclared'}/{name}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
