"""The embedded default (`make run`): SQLite, no Redis, the projection worker in process."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.embedded import embedded_gateway
from tests.support.gateway import GatewayProcess
from tests.support.tenants import create_tenant, eventually

ADMIN_KEY_LINE = re.compile(r"fradm-[A-Za-z0-9_-]{32,}")


def test_first_start_needs_no_configuration_and_prints_the_admin_key_once(
    tmp_path: Path,
) -> None:
    process = GatewayProcess(tmp_path, None, admin_key=None).start()
    try:
        printed = ADMIN_KEY_LINE.findall(process.log_path.read_text())
        assert len(printed) == 1
        process.admin_key = printed[0]
        assert (tmp_path / "fluxrouter.db").exists()
        with process.admin() as admin:
            assert admin.post("/orgs", json={"name": "first"}).status_code == 201
        process.restart()
        assert ADMIN_KEY_LINE.findall(process.log_path.read_text()) == printed
        with process.admin() as admin:
            assert admin.post("/orgs", json={"name": "second"}).status_code == 201
            # the first start's configuration, then the two orgs; the restart changed nothing
            assert admin.get("/audit/verify", params={"full": "true"}).json()["checked"] == 3
            actions = [row["action"] for row in admin.get("/audit").json()["rows"]]
            assert actions == ["config.change", "org.create", "org.create"]
    finally:
        process.stop()


@pytest.fixture(scope="module")
def embedded(
    upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    with embedded_gateway(
        tmp_path_factory.mktemp("gateway-sqlite"), upstream.base_url, UPSTREAM_KEY
    ) as process:
        yield process


def test_sdk_usage_audit_and_cli_on_sqlite(embedded: GatewayProcess, tmp_path: Path) -> None:
    with embedded.admin() as admin:
        tenant = create_tenant(admin, "embedded")
    client = openai.OpenAI(base_url=f"{embedded.base_url}/v1", api_key=tenant.key, max_retries=0)
    messages: Any = [{"role": "user", "content": "one two three"}]
    plain = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    streamed = "".join(
        chunk.choices[0].delta.content or ""
        for chunk in client.chat.completions.create(
            model="llama3.1", messages=messages, stream=True
        )
        if chunk.choices
    )
    assert streamed == plain.choices[0].message.content == "Echo: one two three"

    def usage() -> list[dict[str, Any]]:
        with embedded.admin() as admin:
            rows = admin.get("/usage", params={"group_by": "provider"}).json()["rows"]
        return rows if sum(row["requests"] for row in rows) == 2 else []

    rows = {row["provider"]: row for row in eventually(usage)}
    assert rows["openai"]["input_tokens"] == plain.usage.prompt_tokens  # type: ignore[union-attr]
    assert rows["local"]["output_tokens"] == 4

    # The read model rebuilds from the event history to the same figures.
    rebuilt = embedded.fluxrouter("projections", "rebuild", "usage")
    assert rebuilt.returncode == 0, rebuilt.stderr
    with embedded.admin() as admin:
        after = admin.get("/usage", params={"group_by": "provider"}).json()["rows"]
    assert {row["provider"]: row for row in after} == rows

    # Export the audit log and verify it offline; then tamper with it.
    export = tmp_path / "audit.jsonl"
    assert embedded.fluxrouter("audit", "export", "--out", str(export)).returncode == 0
    records = [json.loads(line) for line in export.read_text().splitlines()]
    lines = [json.dumps(record) for record in records if "seq" in record]  # the rows
    assert any(json.loads(line)["action"] == "chat.completion" for line in lines)
    assert embedded.fluxrouter("audit", "verify", str(export)).returncode == 0
    tampered = [json.loads(line) for line in lines]
    tampered[1]["data"]["name"] = "someone-else"
    export.write_text("\n".join(json.dumps(row) for row in tampered) + "\n")
    broken = embedded.fluxrouter("audit", "verify", str(export))
    assert broken.returncode == 1
    assert f"seq {tampered[1]['seq']}" in broken.stderr


def test_keys_create_on_the_command_line(embedded: GatewayProcess) -> None:
    with embedded.admin() as admin:
        tenant = create_tenant(admin, "cli")
    made = embedded.fluxrouter("keys", "create", "--team", tenant.team_id, "--name", "ci-bot")
    assert made.returncode == 0, made.stderr
    key = re.search(r"key:\s+(fr-\S+)", made.stdout)
    assert key is not None
    client = openai.OpenAI(base_url=f"{embedded.base_url}/v1", api_key=key.group(1), max_retries=0)
    assert "gpt-4o-mini" in {model.id for model in client.models.list()}
    unknown = embedded.fluxrouter("keys", "create", "--team", "nope", "--name", "x")
    assert unknown.returncode == 1
    assert "not found" in unknown.stdout


def test_budgets_hold_on_one_node_and_survive_a_restart(embedded: GatewayProcess) -> None:
    """Without Redis the budget ledger lives in process; a restart rebuilds it from the
    database's spend instead of starting from zero."""
    messages: Any = [{"role": "user", "content": " ".join(f"w{i}" for i in range(20))}]
    with embedded.admin() as admin:
        probe, tenant = create_tenant(admin, "probe"), create_tenant(admin, "budgeted")

    def ask(key: str) -> int | str:
        """The tokens used, or the code of the refusal."""
        client = openai.OpenAI(base_url=f"{embedded.base_url}/v1", api_key=key, max_retries=0)
        try:
            answer = client.chat.completions.create(
                model="gpt-4o-mini", messages=messages, max_tokens=21
            )
        except openai.RateLimitError as refused:
            return str(refused.code)
        assert answer.usage is not None
        return answer.usage.total_tokens

    one = ask(probe.key)
    assert isinstance(one, int)
    with embedded.admin() as admin:
        answer = admin.put(
            f"/keys/{tenant.key_id}/limits", json={"period": "total", "max_tokens": 5 * one}
        )
    assert answer.status_code == 200, answer.text
    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(ask, [tenant.key] * 10))
    used = [tokens for tokens in outcomes if isinstance(tokens, int)]
    # all ten arrive at once, each holding its largest cost (its prompt as counted, plus 21):
    # as many as fit side by side are served, never more than the budget's five
    assert 3 <= len(used) <= 5
    assert {code for code in outcomes if isinstance(code, str)} == {"budget_exceeded"}
    assert sum(used) <= 5 * one
    for _ in range(5):  # one at a time, what the burst left room for: until less than one fits
        more = ask(tenant.key)
        if isinstance(more, str):
            assert more == "budget_exceeded"
            break
        used.append(more)
    assert 4 <= len(used) <= 5
    assert sum(used) <= 5 * one

    def recorded() -> int:
        with embedded.admin() as admin:
            periods = admin.get(f"/keys/{tenant.key_id}/spend").json()["periods"]
        return int(periods[2]["spent_tokens"])

    eventually(lambda: recorded() == sum(used))
    embedded.stop()
    embedded.start()
    # what was spent before the restart still counts: less than one request's worth is left
    assert [ask(tenant.key) for _ in range(3)] == ["budget_exceeded"] * 3
    assert recorded() == sum(used)
