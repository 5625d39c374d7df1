"""`fluxrouter serve` on a port already taken, with one worker as with several: one clear line
and exit status 1, before it says it is serving and before anything starts, in both shapes
(one worker used to print "serving", then uvicorn's own error, and hang or exit 3)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.gateway import GatewayProcess


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_on_a_taken_port_is_refused_in_one_line(
    open_gateway: GatewayProcess, workers: str
) -> None:
    if workers == "2" and "FLUXROUTER_REDIS_NAMESPACE" not in open_gateway.env:
        pytest.skip("several workers need Redis")
    second = open_gateway.fluxrouter(
        "serve", "--workers", workers, "--port", str(open_gateway.port)
    )
    output = second.stdout + second.stderr
    assert second.returncode == 1, output
    assert f"fluxrouter: cannot listen on 127.0.0.1:{open_gateway.port}: " in second.stderr
    assert "serving on" not in output
    assert "Traceback" not in output
    assert "ERROR:" not in output  # uvicorn's own line
    assert "accounting.process_started" not in output  # nothing was started
    # the gateway holding the port is untouched
    assert httpx.get(f"{open_gateway.base_url}/readyz", timeout=10).status_code == 200
