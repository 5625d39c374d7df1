"""`logging.log_prompts: true` logs each prompt, and a key-shaped secret anywhere in it (a
content part, a tool call's arguments, a tool's answer) is scrubbed from the log, in both
shapes; the upstream still gets the prompt as it was sent."""

from __future__ import annotations

import json
import secrets

import openai

from tests.support.gateway import GatewayProcess
from tests.support.tenants import create_tenant, eventually


def test_secrets_nested_in_a_logged_prompt_never_reach_the_log(
    open_gateway: GatewayProcess,
) -> None:
    with open_gateway.admin() as admin:
        tenant = create_tenant(admin, "prompt-log")
    in_part = "sk-proj-" + secrets.token_urlsafe(32)
    in_arguments = "sk-ant-api03-" + secrets.token_urlsafe(40)
    in_tool_answer = "fr-" + secrets.token_urlsafe(32)
    marker = "marker-" + secrets.token_hex(8)  # finds this request's prompt line
    client = openai.OpenAI(
        base_url=f"{open_gateway.base_url}/v1", api_key=tenant.key, max_retries=0
    )
    answer = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": marker},
                    {"type": "text", "text": f"log in with {in_part} please"},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": "login",
                            "arguments": json.dumps({"auth": {"keys": [in_arguments]}}),
                        },
                    }
                ],
            },
            {
                "role": "tool",
                "tool_call_id": "call_1",
                "content": [{"type": "text", "text": f"logged in as {in_tool_answer}"}],
            },
        ],
    )
    assert answer.choices[0].message.content

    def prompt_line() -> dict[str, object] | None:
        for line in open_gateway.logs().splitlines():
            if marker in line and '"v1.prompt"' in line:
                parsed: dict[str, object] = json.loads(line)
                return parsed
        return None

    logged = eventually(prompt_line, timeout=10)
    text = json.dumps(logged)
    assert "[redacted]" in text
    assert "log in with [redacted] please" in text
    logs = open_gateway.logs()
    for secret in (in_part, in_arguments, in_tool_answer, tenant.key):
        assert secret not in logs
        assert secret[8:] not in logs
