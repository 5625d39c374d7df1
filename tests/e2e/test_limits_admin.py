"""Budgets, rate limits, spend and prices through the admin API of the real gateway: exact
decimals both ways, removal, spend after real completions, 404s, refused fields, the audit log."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config, own_gateway
from tests.support.tenants import Tenant, create_tenant, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

PROBLEM = "application/problem+json"
# the rates a price that names only input, output and cached input leaves unset
UNSET_RATES: dict[str, Any] = {
    "cache_write_5m_per_mtok": None,
    "cache_write_1h_per_mtok": None,
    "reasoning_output_per_mtok": None,
    "tiers": [],
}


def put_raw(admin: httpx.Client, path: str, body: str) -> httpx.Response:
    """A body sent as written, so a JSON number like 12345678.123456789012 is never a float."""
    return admin.put(path, content=body.encode(), headers={"content-type": "application/json"})


def spend_of(admin: httpx.Client, path: str) -> dict[str, dict[str, Any]]:
    answer = admin.get(f"{path}/spend")
    assert answer.status_code == 200, answer.text
    return {row["period"]: row for row in answer.json()["periods"]}


def audit_rows(admin: httpx.Client, action: str, target: str) -> list[dict[str, Any]]:
    rows = admin.get("/audit", params={"action": action, "limit": 1000}).json()["rows"]
    return [row for row in rows if row["target"] == target]


def test_budgets_are_stored_exactly_read_back_and_removed(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "budgets")
        team = f"/teams/{tenant.team_id}"
        set_month = put_raw(admin, f"{team}/budget", '{"period": "month", "max_usd": 0.1}')
        assert set_month.status_code == 200, set_month.text
        assert set_month.json() == {
            "scope": "team",
            "id": tenant.team_id,
            "period": "month",
            "max_usd": "0.1",
            "max_tokens": None,
        }
        big = put_raw(
            admin,
            f"/orgs/{tenant.org_id}/budget",
            '{"period": "total", "max_usd": 12345678.123456789012, "max_tokens": 9007199254740991}',
        )
        assert big.status_code == 200, big.text
        assert big.json()["max_usd"] == "12345678.123456789012"
        assert big.json()["max_tokens"] == 2**53 - 1  # the largest JSON keeps exact everywhere
        as_text = admin.put(
            f"/keys/{tenant.key_id}/budget", json={"period": "day", "max_usd": "0.000000000001"}
        )
        assert as_text.json()["max_usd"] == "0.000000000001"

        assert spend_of(admin, team)["month"]["max_usd"] == "0.1"
        assert spend_of(admin, team)["day"]["max_usd"] is None
        org_total = spend_of(admin, f"/orgs/{tenant.org_id}")["total"]
        assert org_total["max_usd"] == "12345678.123456789012"
        assert org_total["remaining_usd"] == "12345678.123456789012"
        assert org_total["remaining_tokens"] == 2**53 - 1
        assert spend_of(admin, f"/keys/{tenant.key_id}")["day"]["max_usd"] == "0.000000000001"

        replaced = admin.put(f"{team}/budget", json={"period": "month", "max_tokens": 5000})
        assert replaced.json()["max_usd"] is None  # a PUT replaces the period's whole budget
        assert spend_of(admin, team)["month"]["max_tokens"] == 5000
        removed = admin.put(f"{team}/budget", json={"period": "month", "max_usd": None})
        assert removed.status_code == 200
        assert removed.json()["max_usd"] is None
        assert removed.json()["max_tokens"] is None
        month = spend_of(admin, team)["month"]
        assert (month["max_usd"], month["max_tokens"], month["remaining_usd"]) == (None, None, None)

        target = f"team:{tenant.team_id}"
        assert [row["data"]["max_usd"] for row in audit_rows(admin, "budget.set", target)] == [
            "0.1",
            None,
        ]
        (removal,) = audit_rows(admin, "budget.remove", target)
        assert removal["actor"] == "admin"
        assert removal["data"] == {"period": "month", "max_usd": None, "max_tokens": None}
        (org_row,) = audit_rows(admin, "budget.set", f"org:{tenant.org_id}")
        assert org_row["data"]["max_usd"] == "12345678.123456789012"
        assert admin.get("/audit/verify").json()["ok"] is True


def test_key_and_team_limits_replace_only_what_the_body_names(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "limits")
        key = f"/keys/{tenant.key_id}/limits"
        first = admin.put(key, json={"rpm": 60, "tpm": 100_000})
        assert first.status_code == 200, first.text
        assert first.json() == {
            "scope": "key",
            "id": tenant.key_id,
            "rpm": 60,
            "tpm": 100_000,
            "budgets": [],
        }
        with_budget = put_raw(admin, key, '{"max_usd": 2.50, "period": "day"}').json()
        assert (with_budget["rpm"], with_budget["tpm"]) == (60, 100_000)  # left as they were
        assert with_budget["budgets"] == [
            {
                "scope": "key",
                "id": tenant.key_id,
                "period": "day",
                "max_usd": "2.5",
                "max_tokens": None,
            }
        ]
        monthly = admin.put(key, json={"max_tokens": 1000}).json()  # the period defaults to month
        assert [(b["period"], b["max_tokens"]) for b in monthly["budgets"]] == [
            ("day", None),
            ("month", 1000),
        ]
        only_rpm = admin.put(key, json={"rpm": 5}).json()
        assert (only_rpm["rpm"], only_rpm["tpm"]) == (5, None)  # the rate limits are replaced
        assert len(only_rpm["budgets"]) == 2
        cleared = admin.put(key, json={"rpm": None, "max_usd": None, "period": "day"}).json()
        assert (cleared["rpm"], cleared["tpm"]) == (None, None)
        assert [b["period"] for b in cleared["budgets"]] == ["month"]
        spend = admin.get(f"/keys/{tenant.key_id}/spend").json()
        assert (spend["rpm"], spend["tpm"]) == (None, None)

        team = admin.put(f"/teams/{tenant.team_id}/limits", json={"tpm": 500})
        assert team.status_code == 200, team.text
        assert team.json() == {
            "scope": "team",
            "id": tenant.team_id,
            "rpm": None,
            "tpm": 500,
            "budgets": [],
        }
        assert admin.get(f"/teams/{tenant.team_id}/spend").json()["tpm"] == 500
        assert admin.put(f"/teams/{tenant.team_id}/limits", json={}).json()["tpm"] == 500

        rows = audit_rows(admin, "rate_limit.set", f"key:{tenant.key_id}")
        assert [row["data"] for row in rows] == [
            {"rpm": 60, "tpm": 100_000},
            {"rpm": 5, "tpm": None},
            {"rpm": None, "tpm": None},
        ]
        assert {row["actor"] for row in rows} == {"admin"}


def chat(
    gateway: GatewayProcess, tenant: Tenant, text: str, *, model: str = "gpt-4o-mini"
) -> dict[str, Any]:
    answer = httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {tenant.key}"},
        json={"model": model, "messages": [{"role": "user", "content": text}]},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    usage: dict[str, Any] = answer.json()["usage"]
    return usage


def test_spend_after_completions_is_exact_in_every_window(
    gateway: GatewayProcess, upstream: FakeOpenAI
) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "spending")
        assert admin.put(
            f"/keys/{tenant.key_id}/budget", json={"period": "month", "max_usd": "0.01"}
        ).is_success
        usages = [chat(gateway, tenant, "count these words " * n) for n in (1, 2, 3)]
        tokens = sum(u["prompt_tokens"] + u["completion_tokens"] for u in usages)
        cost = sum(
            (
                u["prompt_tokens"] * Decimal("0.15") + u["completion_tokens"] * Decimal("0.60")
                for u in usages
            ),
            Decimal(0),
        ) / Decimal(1_000_000)

        def settled() -> dict[str, dict[str, Any]] | None:
            seen = spend_of(admin, f"/keys/{tenant.key_id}")
            return seen if seen["total"]["spent_tokens"] == tokens else None

        periods = eventually(settled)
        now = datetime.now(UTC)
        assert periods["day"]["window"] == f"{now:%Y-%m-%d}"
        assert periods["month"]["window"] == f"{now:%Y-%m}"
        assert periods["total"]["window"] == "total"
        for period in ("day", "month", "total"):
            assert Decimal(periods[period]["spent_usd"]) == cost
            assert periods[period]["spent_tokens"] == tokens
        month = periods["month"]
        assert (month["reserved_usd"], month["reserved_tokens"]) == ("0", 0)
        assert Decimal(month["remaining_usd"]) == Decimal("0.01") - cost
        assert month["remaining_tokens"] is None
        assert periods["day"]["max_usd"] is None
        assert periods["day"]["remaining_usd"] is None
        for scope in (f"/teams/{tenant.team_id}", f"/orgs/{tenant.org_id}"):
            assert Decimal(spend_of(admin, scope)["total"]["spent_usd"]) == cost


def test_unknown_ids_are_404_problems_in_the_same_words(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        for scope, what in (("orgs", "org"), ("teams", "team"), ("keys", "key")):
            missing = admin.put(f"/{scope}/nope/budget", json={"period": "day", "max_usd": 1})
            assert missing.status_code == 404
            assert missing.headers["content-type"].startswith(PROBLEM)
            assert missing.json()["detail"] == f"There is no such {what}."
            spend = admin.get(f"/{scope}/nope/spend")
            assert spend.status_code == 404
            assert spend.json()["detail"] == f"There is no such {what}."
        assert admin.put("/keys/nope/limits", json={"rpm": 1}).status_code == 404
        assert admin.put("/teams/nope/limits", json={"rpm": 1}).status_code == 404
        assert httpx.get(f"{gateway.base_url}/admin/v1/prices").status_code == 401


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/teams/{team}/budget", '{"period": "day", "max_usd": 1, "scope_id": "other"}'),
        ("/teams/{team}/budget", '{"period": "day", "scope": "org"}'),
        ("/keys/{key}/limits", '{"rpm": 1, "org_id": "other"}'),
        ("/teams/{team}/limits", '{"rpm": 1, "max_usd": 5}'),
        ("/teams/{team}/budget", '{"period": "week", "max_usd": 1}'),
        ("/teams/{team}/budget", '{"max_usd": 1}'),
        ("/teams/{team}/budget", '{"period": "day", "max_usd": -0.01}'),
        ("/teams/{team}/budget", '{"period": "day", "max_usd": "NaN"}'),
        ("/teams/{team}/budget", '{"period": "day", "max_usd": "-Infinity"}'),
        ("/teams/{team}/budget", '{"period": "day", "max_usd": 1e400}'),
        ("/teams/{team}/budget", '{"period": "day", "max_usd": "ten"}'),
        ("/teams/{team}/budget", '{"period": "day", "max_usd": 0.0000000000001}'),
        ("/teams/{team}/budget", '{"period": "day", "max_tokens": -1}'),
        ("/teams/{team}/budget", '{"period": "day", "max_tokens": 1.5}'),
        ("/teams/{team}/budget", '{"period": "day", "max_tokens": 9007199254740992}'),
        ("/keys/{key}/limits", '{"tpm": 9007199254740992}'),
        ("/keys/{key}/limits", '{"rpm": -1}'),
        ("/keys/{key}/limits", '{"tpm": "many"}'),
        ("/keys/{key}/limits", '{"max_usd": -5, "rpm": 10}'),
        ("/teams/{team}/budget", '{"period": "day", "max_usd": 1'),
    ],
)
def test_bad_bodies_are_refused_as_problems_and_change_nothing(
    gateway: GatewayProcess, tenant_for_bad_bodies: Tenant, path: str, body: str
) -> None:
    tenant = tenant_for_bad_bodies
    with gateway.admin() as admin:
        url = path.format(team=tenant.team_id, key=tenant.key_id)
        refused = put_raw(admin, url, body)
        assert refused.status_code in (400, 422), refused.text
        assert refused.headers["content-type"].startswith(PROBLEM)
        assert refused.json()["status"] == refused.status_code
        for scope in (f"/teams/{tenant.team_id}", f"/keys/{tenant.key_id}"):
            spend = admin.get(f"{scope}/spend").json()
            assert (spend["rpm"], spend["tpm"]) == (None, None)
            assert all(row["max_usd"] is None for row in spend["periods"])


@pytest.fixture(scope="module")
def tenant_for_bad_bodies(gateway: GatewayProcess) -> Tenant:
    with gateway.admin() as admin:
        return create_tenant(admin, "refused")


@pytest.fixture(scope="module")
def priced_gateway(
    upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """A gateway of its own (SQLite, the embedded shape), so the prices set here reach no other
    test: the YAML prices `lab/yaml-priced`; the other `lab` models are priced by these tests."""
    workdir = tmp_path_factory.mktemp("gateway-prices")
    lab = {
        "name": "lab",
        "kind": "openai-compatible",
        "base_url": upstream.base_url,
        "api_key": "${TEST_UPSTREAM_KEY}",
        "models": [
            {
                "name": "yaml-priced",
                "upstream": "gpt-4o-mini",
                "price": {"input_per_mtok": 0.15, "output_per_mtok": 0.6},
            },
            {"name": "admin-priced", "upstream": "gpt-4o-mini"},
            {"name": "meta/llama-3-8b", "upstream": "gpt-4o-mini"},
            {"name": "unpriced", "upstream": "gpt-4o-mini"},
            {"name": "admin-every-token", "upstream": "fake-every-token"},
        ],
    }
    with own_gateway(
        "sqlite",
        workdir,
        functools.partial(
            gateway_config,
            upstream_url=upstream.base_url,
            upstream_key=UPSTREAM_KEY,
            extra_providers=[lab],
        ),
        admin_key="fradm-" + "p" * 40,
        upstream_key=UPSTREAM_KEY,
    ) as process:
        yield process


def test_prices_are_listed_with_their_source_and_set_where_the_yaml_is_silent(
    priced_gateway: GatewayProcess,
) -> None:
    def lab_prices(admin: httpx.Client) -> dict[str, dict[str, Any]]:
        listed = admin.get("/prices")
        assert listed.status_code == 200, listed.text
        return {row["model"]: row for row in listed.json() if row["provider"] == "lab"}

    with priced_gateway.admin() as admin:
        before = lab_prices(admin)
        assert before["yaml-priced"] == {
            "provider": "lab",
            "model": "yaml-priced",
            "input_per_mtok": "0.15",
            "output_per_mtok": "0.6",
            "cached_input_per_mtok": None,
            **UNSET_RATES,
            "source": "config",
        }
        assert before["admin-priced"]["source"] is None
        assert before["admin-priced"]["input_per_mtok"] is None

        body = (
            '{"input_per_mtok": 0.000001, "output_per_mtok": "12.5", "cached_input_per_mtok": 0.1}'
        )
        priced = put_raw(admin, "/prices/lab/admin-priced", body)
        assert priced.status_code == 200, priced.text
        assert priced.json() == {
            "provider": "lab",
            "model": "admin-priced",
            "input_per_mtok": "0.000001",
            "output_per_mtok": "12.5",
            "cached_input_per_mtok": "0.1",
            **UNSET_RATES,
            "source": "admin",
        }
        slashed = admin.put(
            "/prices/lab/meta/llama-3-8b", json={"input_per_mtok": 1, "output_per_mtok": 2}
        )
        assert slashed.status_code == 200, slashed.text
        assert slashed.json()["model"] == "meta/llama-3-8b"
        after = lab_prices(admin)
        assert after["admin-priced"] == priced.json()
        assert after["meta/llama-3-8b"]["source"] == "admin"
        assert after["unpriced"]["source"] is None
        assert after["yaml-priced"] == before["yaml-priced"]

        yaml_wins = admin.put(
            "/prices/lab/yaml-priced", json={"input_per_mtok": 9, "output_per_mtok": 9}
        )
        assert yaml_wins.status_code == 409
        assert yaml_wins.headers["content-type"].startswith(PROBLEM)
        unknown = admin.put(
            "/prices/lab/no-such-model", json={"input_per_mtok": 1, "output_per_mtok": 1}
        )
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith(PROBLEM)
        for bad in (
            '{"input_per_mtok": 0.0000001, "output_per_mtok": 1}',  # finer than the YAML allows
            '{"input_per_mtok": -1, "output_per_mtok": 1}',
            '{"input_per_mtok": 1}',
            '{"input_per_mtok": 1, "output_per_mtok": 1, "provider": "other"}',
        ):
            refused = put_raw(admin, "/prices/lab/unpriced", bad)
            assert refused.status_code in (400, 422), bad
            assert refused.headers["content-type"].startswith(PROBLEM)
        assert lab_prices(admin)["unpriced"]["source"] is None

        (row,) = [
            row
            for row in admin.get("/audit", params={"action": "price.set"}).json()["rows"]
            if row["target"] == "model:lab/admin-priced"
        ]
        assert row["actor"] == "admin"
        assert row["data"] == {
            "input_per_mtok": "0.000001",
            "output_per_mtok": "12.5",
            "cached_input_per_mtok": "0.1",
        }


EVERY_RATE_BODY = """{
  "input_per_mtok": "2", "output_per_mtok": 8, "cached_input_per_mtok": 0.5,
  "cache_write_5m_per_mtok": "2.5", "cache_write_1h_per_mtok": 4,
  "reasoning_output_per_mtok": "12",
  "tiers": [
    {"above_input_tokens": 1100, "input_per_mtok": 4, "output_per_mtok": 16,
     "cached_input_per_mtok": 1, "reasoning_output_per_mtok": 24}
  ]
}"""


def test_a_price_with_every_rate_and_tiers_is_set_listed_audited_and_charged(
    priced_gateway: GatewayProcess,
) -> None:
    path = "/prices/lab/admin-every-token"
    with priced_gateway.admin() as admin:
        priced = put_raw(admin, path, EVERY_RATE_BODY)
        assert priced.status_code == 200, priced.text
        tier = {
            "above_input_tokens": 1100,
            "input_per_mtok": "4",
            "output_per_mtok": "16",
            "cached_input_per_mtok": "1",
            "cache_write_5m_per_mtok": None,
            "cache_write_1h_per_mtok": None,
            "reasoning_output_per_mtok": "24",
        }
        assert priced.json() == {
            "provider": "lab",
            "model": "admin-every-token",
            "input_per_mtok": "2",
            "output_per_mtok": "8",
            "cached_input_per_mtok": "0.5",
            "cache_write_5m_per_mtok": "2.5",
            "cache_write_1h_per_mtok": "4",
            "reasoning_output_per_mtok": "12",
            "tiers": [tier],
            "source": "admin",
        }
        listed = {row["model"]: row for row in admin.get("/prices").json()}
        assert listed["admin-every-token"] == priced.json()
        (row,) = [
            row
            for row in admin.get("/audit", params={"action": "price.set"}).json()["rows"]
            if row["target"] == "model:lab/admin-every-token"
        ]
        assert row["data"]["reasoning_output_per_mtok"] == "12"
        assert row["data"]["tiers"] == [
            {key: value for key, value in tier.items() if value is not None}
            | {"cached_input_per_mtok": "1"}
        ]

        # a short prompt at the model's rates, a long one (past 1100 tokens once the fake's
        # 1024 cached ones are added) at the tier's: every kind at its rate
        tenant = create_tenant(admin, "admin-every-token")
        shown = [
            chat(priced_gateway, tenant, text, model="admin-every-token")
            for text in ("one two three", " ".join(["word"] * 150))
        ]
        expected = Decimal(0)
        for usage, (plain_in, cached, plain_out, reasoning) in zip(
            shown, ((2, "0.5", 8, 12), (4, 1, 16, 24)), strict=True
        ):
            read = usage["prompt_tokens_details"]["cached_tokens"]
            thought = usage["completion_tokens_details"]["reasoning_tokens"]
            assert (read, thought) == (1024, 64)
            expected += (
                (usage["prompt_tokens"] - read) * Decimal(plain_in)
                + read * Decimal(cached)
                + (usage["completion_tokens"] - thought) * Decimal(plain_out)
                + thought * Decimal(reasoning)
            ) / 1_000_000

        def charged() -> dict[str, Any] | None:
            rows = admin.get("/usage", params={"group_by": "key"}).json()["rows"]
            mine = [r for r in rows if r["key"] == tenant.key_id and r["requests"] == 2]
            return mine[0] if mine else None

        usage_row = eventually(charged)
        assert Decimal(usage_row["cost_usd"]) == expected
        assert (usage_row["cached_tokens"], usage_row["reasoning_tokens"]) == (2048, 128)

        # setting the price again replaces it, tiers included
        plain = admin.put(path, json={"input_per_mtok": 1, "output_per_mtok": 2})
        assert plain.status_code == 200, plain.text
        assert plain.json()["tiers"] == []
        assert {row["model"]: row for row in admin.get("/prices").json()}[
            "admin-every-token"
        ] == plain.json()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            '{"input_per_mtok": 2, "output_per_mtok": 8, "tiers": [{"above_input_tokens": 10,'
            ' "input_per_mtok": 1, "output_per_mtok": 8}]}',
            "`tiers[0].input_per_mtok` must not be below the rate under this tier (1 < 2).",
        ),
        (
            '{"input_per_mtok": 2, "output_per_mtok": 8, "reasoning_output_per_mtok": 20,'
            ' "tiers": [{"above_input_tokens": 10, "input_per_mtok": 2, "output_per_mtok": 16}]}',
            "`tiers[0].reasoning_output_per_mtok` must not be below the rate under this tier"
            " (16 < 20).",
        ),
        (
            '{"input_per_mtok": 2, "output_per_mtok": 8, "tiers": ['
            '{"above_input_tokens": 10, "input_per_mtok": 2, "output_per_mtok": 8},'
            '{"above_input_tokens": 10, "input_per_mtok": 3, "output_per_mtok": 9}]}',
            "`tiers[1].above_input_tokens` must be above the tier before it (10).",
        ),
        (
            '{"input_per_mtok": 2, "output_per_mtok": 8, "cache_write_1h_per_mtok": "0.0000001"}',
            "`cache_write_1h_per_mtok` may have at most 6 decimal places.",
        ),
        (
            '{"input_per_mtok": 2, "output_per_mtok": 8, "tiers": [{"above_input_tokens": -1,'
            ' "input_per_mtok": 2, "output_per_mtok": 8}]}',
            ("tiers[0].above_input_tokens", "Expected `int` >= 0"),
        ),
        (
            '{"input_per_mtok": 2, "output_per_mtok": 8, "tiers": [{"above_input_tokens": 10,'
            ' "input_per_mtok": 2}]}',
            ("tiers[0]", "Object missing required field `output_per_mtok`"),
        ),
        (
            '{"input_per_mtok": 2, "output_per_mtok": 8, "tiers": [{"above_input_tokens": 10,'
            ' "input_per_mtok": 2, "output_per_mtok": 8, "cache_write_10m_per_mtok": 1}]}',
            ("tiers[0]", "Object contains unknown field `cache_write_10m_per_mtok`"),
        ),
        (
            '{"input_per_mtok": 2, "output_per_mtok": 8, "tiers": '
            + "["
            + ",".join(
                f'{{"above_input_tokens": {n}, "input_per_mtok": 2, "output_per_mtok": 8}}'
                for n in range(17)
            )
            + "]}",
            ("tiers", "Expected `array` of length <= 16"),
        ),
        (
            '{"input_per_mtok": 2, "output_per_mtok": 8, "tiers": {}}',
            ("tiers", "Expected `array`, got `object`"),
        ),
    ],
)
def test_a_bad_price_is_refused_with_a_problem_naming_what_is_wrong(
    priced_gateway: GatewayProcess, body: str, detail: str | tuple[str, str]
) -> None:
    with priced_gateway.admin() as admin:
        refused = put_raw(admin, "/prices/lab/unpriced", body)
        assert refused.status_code in (400, 422), refused.text
        assert refused.headers["content-type"].startswith(PROBLEM)
        problem = refused.json()
        assert problem["status"] == refused.status_code
        if isinstance(detail, str):  # a rule of prices: the detail says which and why
            assert problem["detail"] == detail
        else:  # the body's shape: each error names its key
            key, message = detail
            assert [(error["key"], error["message"]) for error in problem["errors"]] == [
                (key, message)
            ]
        assert {row["model"]: row for row in admin.get("/prices").json()}["unpriced"][
            "source"
        ] is None


def test_spend_reads_on_the_embedded_shape_too(priced_gateway: GatewayProcess) -> None:
    with priced_gateway.admin() as admin:
        tenant = create_tenant(admin, "embedded-spend")
        assert admin.put(
            f"/teams/{tenant.team_id}/budget", json={"period": "day", "max_tokens": 100_000}
        ).is_success
        usage = chat(priced_gateway, tenant, "one two three")
        tokens = usage["prompt_tokens"] + usage["completion_tokens"]

        def today() -> dict[str, Any] | None:
            row = spend_of(admin, f"/teams/{tenant.team_id}")["day"]
            return row if row["spent_tokens"] == tokens else None

        day = eventually(today)
        assert day["max_tokens"] == 100_000
        assert day["remaining_tokens"] == 100_000 - tokens - day["reserved_tokens"]
        assert Decimal(day["spent_usd"]) == (
            usage["prompt_tokens"] * Decimal("0.15") + usage["completion_tokens"] * Decimal("0.6")
        ) / Decimal(1_000_000)
