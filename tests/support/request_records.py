"""Request-log records for tests: one plain successful call, changed where a test says."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from domains.billing.request_log import RequestRecord


def request_record(at: datetime, **changed: Any) -> RequestRecord:
    """A call that ended at `at`: org `org-f`, a chat through `openai/gpt-x`, 200, one token in
    and one out, no tag; `changed` sets any other field."""
    fields: dict[str, Any] = {
        "id": secrets.token_hex(16),
        "ts": at,
        "request_id": secrets.token_hex(8),
        "org_id": "org-f",
        "team_id": "team-f",
        "user_id": None,
        "key_id": "key-f",
        "dialect": "chat",
        "transport": "http",
        "stream": False,
        "requested_model": "gpt-x",
        "model": "gpt-x",
        "upstream_model": "gpt-x",
        "provider": "openai",
        "deployment": "openai/gpt-x",
        "route": "simple",
        "status": 200,
        "outcome": "ok",
        "error_code": "",
        "cancelled": False,
        "latency_ms": 10.0,
        "ttft_ms": None,
        "prompt_tokens": 1,
        "cached_tokens": 0,
        "cache_write_tokens": 0,
        "completion_tokens": 1,
        "reasoning_tokens": 0,
        "cost_picousd": 1,
        "priced": True,
        "usage_reported": True,
        "cache": "off",
        "tags": (),
        "metadata": None,
        "end_user": None,
    }
    fields.update(changed)
    return RequestRecord(**fields)
