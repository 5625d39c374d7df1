"""The accounting process: a real child (`python -m interfaces.accounting.child`) on a real
SQLite database, fed by the serving process's side (`AccountingProcess`) over its pipes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from application.billing.commands import SetPrice
from application.conversations.commands import StoreResponses
from application.providers.commands import RecordCompletions
from application.teams.commands import CreateOrg, CreateTeam
from infrastructure.db.tables import audit_log, outbox, stored_responses, usage_records
from interfaces.accounting import frames
from interfaces.accounting.process import AccountingProcess, AccountingUnavailable
from tests.integration.conftest import serving_container
from tests.support.stored_responses import store_response
from tests.unit.samples import completion

PROVIDER = {
    "name": "openai",
    "kind": "openai",
    "base_url": "http://127.0.0.1:9/v1",
    "api_key": "sk-unused-by-these-tests",
    "models": [
        {"name": "gpt-4o-mini", "price": {"input_per_mtok": 1, "output_per_mtok": 2}},
        {"name": "gpt-4o"},  # priced through the admin API
    ],
}


@pytest.fixture
def configured(tmp_path: Path, migrated_sqlite: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The configuration file the child reads, as `serve` hands it to its processes."""
    config = {
        "database": {"url": migrated_sqlite},
        "audit": {
            "signing_key_file": str(tmp_path / "audit.key"),
            "checkpoint_dir": str(tmp_path / "checkpoints"),
        },
        "providers": [PROVIDER],
        "billing": {"limits_reload_seconds": 3600},  # only a change told reloads them
    }
    path = tmp_path / "fluxrouter.yaml"
    path.write_text(yaml.safe_dump(config))
    for name in [name for name in os.environ if name.startswith("FLUXROUTER_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("FLUXROUTER_CONFIG", str(path))
    return migrated_sqlite


@pytest.fixture
async def accounting(configured: str) -> AsyncIterator[AccountingProcess]:
    process = AccountingProcess()
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


def calls(prefix: str, count: int, **fields: object) -> RecordCompletions:
    return RecordCompletions(
        completions=tuple(completion(request_id=f"{prefix}-{n}", **fields) for n in range(count))
    )


async def counts(url: str) -> dict[str, int]:
    async with serving_container(url) as container, container.engine.connect() as conn:
        return {
            table.name: (await conn.execute(select(func.count()).select_from(table))).scalar_one()
            for table in (outbox, usage_records, audit_log)
        }


async def costs(url: str) -> dict[str, int]:
    async with serving_container(url) as container, container.engine.connect() as conn:
        rows = await conn.execute(select(usage_records.c.request_id, usage_records.c.cost_picousd))
        return {request_id: cost for request_id, cost in rows}


async def test_a_batch_is_written_by_the_child_before_it_answers(
    accounting: AccountingProcess, configured: str
) -> None:
    before = await counts(configured)
    await accounting.handle(calls("a", 3, input_tokens=1_000_000, output_tokens=0))
    after = await counts(configured)
    # each call: its outbox row, its usage row and that usage's outbox row; its audit row
    assert after["usage_records"] - before["usage_records"] == 3
    assert after["outbox"] - before["outbox"] == 6
    assert after["audit_log"] - before["audit_log"] == 3
    # priced by the child from the configuration: 1 USD a million input tokens
    assert set((await costs(configured)).values()) == {10**12}


async def test_a_child_killed_holding_a_batch_is_replaced_and_nothing_is_written_twice(
    accounting: AccountingProcess, configured: str
) -> None:
    first = calls("k", 4)
    await accounting.handle(first)
    child = accounting.pid
    assert child is not None
    os.kill(child, signal.SIGKILL)  # as if it died after its commit, before its answer
    retried = RecordCompletions(completions=(*first.completions, *calls("n", 2).completions))
    for _ in range(3):  # the recorder's retries: the first may meet the dead child's pipes
        try:
            await accounting.handle(retried)
            break
        except AccountingUnavailable:
            await asyncio.sleep(0.1)
    else:
        pytest.fail("the accounting process was not started again")
    assert accounting.started == 2
    assert accounting.pid != child
    written = await costs(configured)
    assert sorted(written) == [*(f"k-{n}" for n in range(4)), "n-0", "n-1"]
    assert (await counts(configured))["usage_records"] == 6


def responses(org_team: tuple[str, str], *ids: str) -> StoreResponses:
    return StoreResponses(
        responses=[
            store_response(
                response={"id": rid, "object": "response", "model": "gpt-4o-mini", "output": []},
                input_items=[{"id": "msg_0", "type": "message", "role": "user", "content": []}],
                org_id=org_team[0],
                team_id=org_team[1],
                key_id="k1",
                user_id=None,
                previous_response_id=None,
                retention_seconds=3600.0,
            )
            for rid in ids
        ]
    )


async def stored_ids(url: str) -> list[str]:
    async with serving_container(url) as container, container.engine.connect() as conn:
        return sorted((await conn.execute(select(stored_responses.c.id))).scalars())


async def test_stored_responses_are_written_by_the_child_all_or_none(
    accounting: AccountingProcess, configured: str
) -> None:
    async with serving_container(configured) as container:
        org = await container.bus.handle(CreateOrg(name="stored", actor="test"))
        team = await container.bus.handle(CreateTeam(org_id=org.id, name="t", actor="test"))
    ours = (org.id, team.id)
    await accounting.handle(responses(ours, "resp_a", "resp_b"))
    assert await stored_ids(configured) == ["resp_a", "resp_b"]
    # one id stored already: the batch is refused whole, and the child goes on
    with pytest.raises(AccountingUnavailable):
        await accounting.handle(responses(ours, "resp_c", "resp_a"))
    assert await stored_ids(configured) == ["resp_a", "resp_b"]
    await accounting.handle(responses(ours, "resp_c").responses[0])  # one, as itself
    await accounting.handle(calls("after", 1))
    assert await stored_ids(configured) == ["resp_a", "resp_b", "resp_c"]
    assert accounting.started == 1
    assert "after-0" in await costs(configured)


async def test_a_price_changed_here_prices_the_next_batch_there(
    accounting: AccountingProcess, configured: str
) -> None:
    async with serving_container(configured) as container:
        await container.bus.handle(
            SetPrice(
                provider="openai",
                model="gpt-4o",
                input_per_mtok=Decimal(5),
                output_per_mtok=Decimal(0),
                cached_input_per_mtok=None,
                actor="test",
            )
        )
    accounting.limits_changed()  # what the serving process's subscriber does
    await accounting.handle(calls("p", 1, model="gpt-4o", input_tokens=10**6, cached_tokens=0))
    assert (await costs(configured))["p-0"] == 5 * 10**12  # output priced at 0


async def test_stopping_lets_the_child_finish_and_exit(configured: str) -> None:
    process = AccountingProcess()
    await process.handle(calls("s", 2))  # started on the first batch
    child = process.pid
    await process.stop()
    assert process.pid is None
    assert child is not None
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
    assert (await counts(configured))["usage_records"] == 2


@pytest.mark.parametrize(
    "garbage",
    [b"X\x00\x00\x00\x00", b"C\x00\x00\x00\x05[1,2", b"C\x00\x00\x00\x03{}]", b"C\x00"],
    ids=["unknown kind", "cut payload", "not calls", "cut header"],
)
def test_the_child_refuses_what_is_not_a_frame(configured: str, garbage: bytes) -> None:
    child = subprocess.run(
        [sys.executable, "-m", "interfaces.accounting.child"],
        input=garbage,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert child.stdout[:1] == frames.READY
    assert child.stdout[1:] == b""  # no batch answered
    assert child.returncode == 2
    assert b"accounting.bad_frame" in child.stderr
    assert b"Traceback" not in child.stderr


def test_a_child_whose_serving_process_is_gone_exits_without_a_traceback(configured: str) -> None:
    """A serving process killed outright leaves its child answering into a closed pipe."""
    child = subprocess.Popen(
        [sys.executable, "-m", "interfaces.accounting.child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None
    child.stdout.close()  # nobody reads the answers any more
    _, errors = child.communicate(timeout=60)
    assert child.returncode == 0, errors
    assert b"accounting.serving_process_gone" in errors
    assert b"Traceback" not in errors
