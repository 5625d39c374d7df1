"""The README's examples run as written against the running gateway (its address and a key put
in), so what a new user copies first works."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.tenants import create_tenant

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def run(code: str, gateway: GatewayProcess, key: str) -> str:
    code = code.replace("127.0.0.1:8080", gateway.base_url.removeprefix("http://"))
    code = code.replace("fr-…", key)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_websocket_example_streams_a_reply_and_ends_with_chat_done(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    [example] = [block for block in python_blocks() if "/v1/ws" in block]
    out = run(example, gateway, create_tenant(admin, "readme-ws").key)
    assert "'type': 'ready'" in out
    assert "'type': 'chat.done'" in out
    assert "'usage'" in out


def test_the_openai_sdk_example_prints_the_reply(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    [example] = [block for block in python_blocks() if "from openai import OpenAI" in block]
    out = run(example, gateway, create_tenant(admin, "readme-openai").key)
    assert out.strip()
