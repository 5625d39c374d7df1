"""The npm `oidc-provider` (installed under tests/peers/oidc by `make peers`) as a real OpenID
provider on loopback: one confidential client, and accounts with the claims the tests give."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.services import free_port

PEER_DIR = Path(__file__).resolve().parent.parent / "peers" / "oidc"


class OidcPeer:
    def __init__(self, *, redirect_uris: list[str], accounts: dict[str, dict[str, Any]]) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.client_id = "fluxrouter-" + secrets.token_hex(4)
        self.client_secret = "peer-secret-" + secrets.token_urlsafe(24)
        self._config = {
            "port": self.port,
            "issuer": self.issuer,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": redirect_uris,
            "accounts": accounts,
        }
        self._proc: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    def start(self, workdir: Path) -> OidcPeer:
        node = shutil.which("node")
        if node is None or not (PEER_DIR / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError("the OIDC peer is not installed: run `make peers`")
        self.log_path = workdir / "oidc-peer.log"
        env = {**os.environ, "OIDC_PEER": json.dumps(self._config)}
        self._proc = subprocess.Popen(
            [node, str(PEER_DIR / "provider.mjs")],
            cwd=PEER_DIR,
            env=env,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"the OIDC peer exited:\n{self.log_path.read_text()[-2000:]}")
            try:
                url = f"{self.issuer}/.well-known/openid-configuration"
                if httpx.get(url, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the OIDC peer did not start")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self._proc = None
