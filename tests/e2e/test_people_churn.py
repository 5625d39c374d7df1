"""Fifty people provisioned, deactivated, reactivated and deleted while chat traffic flows, on
both shapes: every admin call succeeds and none stalls, every chat completes, no event ends in
the dead letters, and the audit chain verifies. (How fast the calls answer is measured by
`python -m tests.bench.deactivation`, docs/benchmarks/deactivation.md.)"""

from __future__ import annotations

import pytest

from tests.support.gateway import GatewayProcess
from tests.support.people_churn import churn_people

STALL = 5.0
"""No admin call takes this long; the deadlock this guards against made them wait 30 s."""


@pytest.fixture(
    params=[
        "sqlite_gateway",
        pytest.param("pg_gateway", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ]
)
def shape(request: pytest.FixtureRequest) -> GatewayProcess:
    process: GatewayProcess = request.getfixturevalue(request.param)
    return process


@pytest.mark.timeout(300)  # 250 admin calls and a stream of chats, on a busy machine too
def test_fifty_people_come_and_go_while_chat_flows_without_a_stall_or_a_dead_letter(
    shape: GatewayProcess,
) -> None:
    churn = churn_people(shape, people=50, timeout=STALL * 2)

    assert churn.failures == []
    assert {kind: len(seconds) for kind, seconds in churn.timings.items()} == {
        "create": 50,
        "deactivate": 50,
        "reactivate": 50,
        "delete": 50,
    }
    assert churn.slowest < STALL, f"an admin call took {churn.slowest:.1f} s"
    assert churn.chats > 0
    assert churn.chat_failures == []
    with shape.admin() as admin:
        pending = admin.get("/dead-letters", params={"pending": "true"})
        assert pending.status_code == 200
        assert pending.json()["dead_letters"] == []
        assert admin.get("/audit/verify").json()["ok"] is True
    assert "bus.subscriber_failed" not in shape.logs()
