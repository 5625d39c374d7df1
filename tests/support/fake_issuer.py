"""An OpenID provider's discovery documents, served on a loopback address of choice: each
path prefix is an issuer of its own whose document the test writes (endpoints anywhere, or a
redirect elsewhere), and every request is noted, so a test can tell the gateway never came."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DISCOVERY = "/.well-known/openid-configuration"


class FakeIssuers:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.redirects: dict[str, str] = {}
        self.paths: list[str] = []
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.paths.append(self.path)
                name = self.path.removesuffix(DISCOVERY).strip("/")
                if name in served.redirects:
                    self.send_response(302)
                    self.send_header("Location", served.redirects[name])
                    self.end_headers()
                    return
                document = served.documents.get(name)
                if document is None or not self.path.endswith(DISCOVERY):
                    self.send_error(404)
                    return
                body = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.port = int(self.server.server_address[1])
        self.base_url = f"http://{host}:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def issuer(self, name: str, **endpoints: str) -> str:
        """The issuer `name`, its endpoints on this server unless given."""
        issuer = f"{self.base_url}/{name}"
        self.documents[name] = {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/auth",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        } | endpoints
        return issuer

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
