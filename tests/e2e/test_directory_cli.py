"""`fluxrouter orgs|teams|keys list|show` as real processes against the gateway's database, on
both shapes: the same records the admin API answers, never a key's secret."""

from __future__ import annotations

import hashlib
import json
import subprocess
from typing import Any

import httpx
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.tenants import Tenant, create_tenant

pytestmark = pytest.mark.timeout(600)  # a dozen processes a test, each a few seconds when busy


@pytest.fixture(scope="module")
def gateway(each_shape: GatewayProcess) -> GatewayProcess:
    """The gateway of the shared `admin` fixture: each shape in turn."""
    return each_shape


@pytest.fixture(scope="module")
def world(admin: httpx.Client) -> dict[str, Any]:
    """A tenant with a second team, a key for a person and a revoked key."""
    tenant = create_tenant(admin, "cli-world")
    team = admin.post("/teams", json={"org_id": tenant.org_id, "name": "cli-second"}).json()
    user = admin.post(
        "/users", json={"org_id": tenant.org_id, "email": "cli@x.io", "role": "member"}
    ).json()
    personal = admin.post(
        "/keys", json={"team_id": team["id"], "name": "personal", "user_id": user["id"]}
    ).json()
    revoked = admin.post("/keys", json={"team_id": team["id"], "name": "old"}).json()
    assert admin.delete(f"/keys/{revoked['id']}").status_code == 200
    assert admin.patch(f"/keys/{personal['id']}", json={"metadata": {"laptop": "ada"}}).is_success
    return {
        "tenant": tenant,
        "team": team,
        "user": user,
        "personal": personal,
        "revoked": revoked,
        "secrets": [tenant.key, personal["key"], revoked["key"]],
    }


def run(gateway: GatewayProcess, *args: str) -> subprocess.CompletedProcess[str]:
    done = gateway.fluxrouter(*args)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def json_lines(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def no_secret_in(text: str, secrets_: list[str]) -> None:
    for secret in secrets_:
        assert secret not in text
        assert secret[11:] not in text
        assert hashlib.sha256(secret.encode()).hexdigest() not in text


def test_lists_are_the_records_the_admin_api_answers(
    each_shape: GatewayProcess, admin: httpx.Client, world: dict[str, Any]
) -> None:
    tenant: Tenant = world["tenant"]
    orgs = json_lines(run(each_shape, "orgs", "list", "--json"))
    assert admin.get(f"/orgs/{tenant.org_id}").json() in orgs
    teams = json_lines(run(each_shape, "teams", "list", "--org", tenant.org_id, "--json"))
    assert teams == admin.get("/teams", params={"org_id": tenant.org_id}).json()["rows"]
    keys = json_lines(run(each_shape, "keys", "list", "--team", world["team"]["id"], "--json"))
    api = admin.get("/keys", params={"team_id": world["team"]["id"]}).json()["rows"]
    assert [{k: v for k, v in key.items() if k != "state"} for key in keys] == api
    assert [(key["name"], key["state"]) for key in keys] == [
        ("personal", "active"),
        ("old", "revoked"),
    ]
    mine = json_lines(run(each_shape, "keys", "list", "--user", world["user"]["id"], "--json"))
    assert [key["id"] for key in mine] == [world["personal"]["id"]]
    assert mine[0]["metadata"] == {"laptop": "ada"}

    table = run(each_shape, "keys", "list", "--team", world["team"]["id"])
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "PREFIX", "NAME", "TEAM_ID", "USER_ID", "STATE", "CREATED_AT"]
    assert len(lines) == 3
    assert lines[2].split()[:6] == [
        world["revoked"]["id"],
        world["revoked"]["prefix"],
        "old",
        world["team"]["id"],
        "-",
        "revoked",
    ]
    everything = run(each_shape, "keys", "list").stdout + run(each_shape, "orgs", "list").stdout
    assert tenant.org_id in everything
    no_secret_in(everything + table.stdout + json.dumps(keys), world["secrets"])


def test_show_prints_one_record_and_names_what_is_missing(
    each_shape: GatewayProcess, admin: httpx.Client, world: dict[str, Any]
) -> None:
    tenant: Tenant = world["tenant"]
    for kind, id_, path in (
        ("orgs", tenant.org_id, f"/orgs/{tenant.org_id}"),
        ("teams", world["team"]["id"], f"/teams/{world['team']['id']}"),
        ("keys", world["personal"]["id"], f"/keys/{world['personal']['id']}"),
    ):
        shown = json_lines(run(each_shape, kind, "show", id_, "--json"))
        api = admin.get(path).json()
        assert [{k: v for k, v in shown[0].items() if k != "state"}] == [api]
        text = run(each_shape, kind, "show", id_)
        assert text.returncode == 0, text.stderr
        fields = dict(line.split(":", 1) for line in text.stdout.splitlines())
        assert fields["id"].strip() == id_
        assert fields["name"].strip() == api["name"]
        no_secret_in(text.stdout, world["secrets"])
    key = run(each_shape, "keys", "show", world["personal"]["id"]).stdout
    assert "metadata:" in key
    assert '{"laptop":"ada"}' in key
    for kind in ("orgs", "teams", "keys"):
        missing = run(each_shape, kind, "show", "no-such-id")
        assert missing.returncode == 1
        assert missing.stdout == ""
        assert f"there is no such {kind[:-1]}: no-such-id" in missing.stderr


def test_deleted_records_are_listed_only_when_asked_for(
    each_shape: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, "cli-deleted")
    assert admin.delete(f"/teams/{tenant.team_id}").status_code == 200
    listed = json_lines(run(each_shape, "teams", "list", "--org", tenant.org_id, "--json"))
    assert listed == []
    both = json_lines(
        run(each_shape, "teams", "list", "--org", tenant.org_id, "--include-deleted", "--json")
    )
    assert [team["id"] for team in both] == [tenant.team_id]
    assert both[0]["deleted_at"] is not None


def test_help_names_each_verb_and_filter(each_shape: GatewayProcess) -> None:
    for args, words in (
        (("orgs", "--help"), ("list", "show")),
        (("teams", "list", "--help"), ("--org", "--include-deleted", "--json")),
        (("keys", "--help"), ("create", "list", "show")),
        (("keys", "list", "--help"), ("--team", "--user", "--json")),
        (("keys", "show", "--help"), ("the key id",)),
    ):
        done = run(each_shape, *args)
        assert done.returncode == 0, done.stderr
        for word in words:
            assert word in done.stdout, (args, word)
    bad = run(each_shape, "teams", "frobnicate")
    assert bad.returncode == 2
    assert "invalid choice" in bad.stderr
