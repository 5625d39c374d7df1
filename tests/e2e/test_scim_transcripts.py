"""Okta's and Microsoft Entra ID's provisioning cycles, replayed from their request transcripts
(tests/e2e/scim_transcripts/*.json) against the running gateway: each answer must be the one
that identity provider expects."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.scim import SCIM_JSON, scim_org

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

TRANSCRIPTS = sorted((Path(__file__).parent / "scim_transcripts").glob("*.json"))
VARIABLE = re.compile(r"\$\{(\w+)\}")


def substitute(value: Any, saved: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = VARIABLE.fullmatch(value)
        if whole:
            return saved[whole.group(1)]
        return VARIABLE.sub(lambda m: str(saved[m.group(1)]), value)
    if isinstance(value, list):
        return [substitute(item, saved) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, saved) for key, item in value.items()}
    return value


def matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and matches(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return isinstance(actual, list) and all(
            any(matches(item, candidate) for candidate in actual) for item in expected
        )
    return bool(expected == actual)


def dig(document: Any, path: str) -> Any:
    for part in path.split("."):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


def replay(gateway: GatewayProcess, steps: list[dict[str, Any]]) -> None:
    org = scim_org(gateway, "transcript")
    saved: dict[str, Any] = {"org_id": org.org_id}
    collected: dict[str, list[str]] = {}
    headers = {"Authorization": f"Bearer {org.token}", "Content-Type": SCIM_JSON}
    with httpx.Client(timeout=20) as http, gateway.admin() as admin:
        for step in steps:
            if "generate" in step:
                for n in range(1, step["generate"]["count"] + 1):
                    body = substitute(step["generate"]["template"], saved | {"n": n})
                    made = http.post(
                        f"{gateway.base_url}/scim/v2/Users", json=body, headers=headers
                    )
                    assert made.status_code == 201, made.text
                continue
            if "unique" in step:
                ids = collected[step["unique"]["collect"]]
                assert len(set(ids)) == len(ids) == step["unique"]["count"], step["name"]
                continue
            path = substitute(step["path"], saved)
            body = substitute(step.get("body"), saved)
            if step.get("via") == "admin":
                answer = admin.request(step["method"], path, json=body)
            else:
                answer = http.request(
                    step["method"],
                    f"{gateway.base_url}/scim/v2{path}",
                    headers=headers,
                    content=json.dumps(body) if body is not None else None,
                )
            where = f"{step['name']}: {step['method']} {path} -> {answer.status_code} {answer.text}"
            assert answer.status_code == step["status"], where
            assert answer.status_code < 500, where
            if answer.status_code == 204:
                assert answer.content == b"", where
                continue
            document = answer.json()
            if step.get("via") != "admin":
                assert answer.headers["content-type"].startswith(SCIM_JSON), where
            if "body" in step.get("expect", {}):
                assert matches(substitute(step["expect"]["body"], saved), document), where
            for key in step.get("expect", {}).get("absent", []):
                assert key not in json.dumps(document) if "." in key else key not in document, where
            for name, key in step.get("save", {}).items():
                saved[name] = dig(document, key)
            if "collect" in step:
                collected.setdefault(step["collect"], []).extend(
                    resource["id"] for resource in document["Resources"]
                )


@pytest.mark.parametrize("transcript", TRANSCRIPTS, ids=lambda path: path.stem)
def test_identity_provider_transcript(gateway: GatewayProcess, transcript: Path) -> None:
    replay(gateway, json.loads(transcript.read_text())["steps"])
