"""The public SCIM conformance suite (scim2-tester, run by scim2-cli's `test` command) against
the running gateway, with a fresh org's SCIM token."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.gateway import GatewayProcess
from tests.support.scim import scim_org

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

SCIM2 = Path(sys.executable).parent / "scim2"


def test_scim2_tester_passes_every_check(gateway: GatewayProcess) -> None:
    org = scim_org(gateway, "conformance")
    env = dict(os.environ, SCIM_CLI_HEADERS=f"Authorization: Bearer {org.token}")
    run = subprocess.run(
        [str(SCIM2), "--url", f"{gateway.base_url}/scim/v2", "test"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = run.stdout.splitlines()
    statuses = [line.split()[0] for line in lines if re.match(r"^[A-Z]+ \w", line)]
    failed = [line for line in lines if re.match(r"^(ERROR|CRITICAL) ", line)]
    assert run.returncode == 0, f"{failed}\n{run.stdout[-6000:]}\n{run.stderr[-2000:]}"
    print(f"scim2-tester: {statuses.count('SUCCESS')} SUCCESS of {len(statuses)} checks")
    assert statuses.count("SUCCESS") >= 100, run.stdout[-3000:]
    assert not failed
    assert org.token not in gateway.logs()
