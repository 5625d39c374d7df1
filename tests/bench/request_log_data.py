"""Generated request log records of a realistic shape: 20 orgs, 200 teams, 2,000 keys (their
traffic Zipf-like: a few keys make most of it), 5,000 people, 30 models of 6 providers (each key
using a few), retries, errors, streams, `auto` tiers, tags, metadata and end users.

`Population.copy_lines` makes the rows of a time slice as lines of PostgreSQL's COPY text
format, in time order; `Population.record` one `RequestRecord` for the writer's path."""

from __future__ import annotations

import bisect
import itertools
import json
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domains.billing.request_log import TAG_SEPARATOR, RequestRecord

PROVIDERS = ("openai", "anthropic", "google", "mistral", "groq", "bedrock")
DIALECTS = (
    ("chat", 60),
    ("responses", 15),
    ("messages", 15),
    ("embeddings", 5),
    ("gemini", 3),
    ("completions", 1),
    ("ws", 1),
)
# (status, outcome, error_code, weight per 10,000)
ENDINGS = (
    (200, "ok", "", 9_620),
    (429, "error", "rate_limit_exceeded", 150),
    (500, "error", "upstream_server_error", 100),
    (502, "error", "upstream_bad_gateway", 50),
    (504, "error", "upstream_timeout", 50),
    (400, "error", "invalid_request_error", 10),
    (499, "cancelled", "", 20),
)
TIERS = ("simple", "medium", "complex", "reasoning")
TAGS = (
    *(f"feature={name}" for name in ("search", "chat", "summary", "extract", "translate")),
    *(f"feature=f{i}" for i in range(15)),
    *(f"agent=a{i}" for i in range(20)),
    "env=prod",
    "env=staging",
    "nightly",
    "batch",
    "eval",
)


def _hex(bits: random.Random, n: int = 32) -> str:
    return f"{bits.getrandbits(4 * n):0{n}x}"


def _weighted(pairs: tuple[tuple[object, int], ...]) -> tuple[list[object], list[int]]:
    values = [value for value, _ in pairs]
    return values, list(itertools.accumulate(weight for _, weight in pairs))


@dataclass(frozen=True)
class Key:
    id: str
    team_id: str
    org_id: str
    user_id: str | None
    models: tuple[int, ...]


class Population:
    """Who calls, with what: the same for a seed."""

    def __init__(
        self, seed: int = 26, *, orgs: int = 20, teams: int = 200, keys: int = 2000
    ) -> None:
        r = self.random = random.Random(seed)
        self.orgs = [_hex(r) for _ in range(orgs)]
        self.teams = [(_hex(r), self.orgs[i % orgs]) for i in range(teams)]
        self.users = {org: [f"u{_hex(r, 12)}" for _ in range(250)] for org in self.orgs}
        self.models = [
            (f"{provider}-model-{i}", provider)
            for i, provider in zip(range(30), itertools.cycle(PROVIDERS), strict=False)
        ]
        self.keys: list[Key] = []
        for i in range(keys):
            team_id, org_id = self.teams[i % teams]
            owner = r.choice(self.users[org_id]) if r.random() < 0.9 else None
            used = tuple(r.sample(range(len(self.models)), r.randint(1, 4)))
            self.keys.append(Key(_hex(r), team_id, org_id, owner, used))
        r.shuffle(self.keys)
        self._key_weights = list(
            itertools.accumulate(1 / (rank + 1) ** 0.9 for rank in range(keys))
        )
        self._dialects = _weighted(DIALECTS)
        self._endings = _weighted(tuple((ending[:3], ending[3]) for ending in ENDINGS))
        self.end_users = [f"cust-{i}" for i in range(10_000)]

    def key(self) -> Key:
        r = self.random
        return self.keys[bisect.bisect(self._key_weights, r.random() * self._key_weights[-1])]

    def _pick(self, table: tuple[list[object], list[int]]) -> object:
        values, cumulative = table
        return values[bisect.bisect(cumulative, self.random.random() * cumulative[-1])]

    def fields(self, ts: datetime) -> dict[str, object]:
        """One record's values (as the request log stores them)."""
        r = self.random
        key = self.key()
        model, provider = self.models[r.choice(key.models)]
        dialect = str(self._pick(self._dialects))
        status, outcome, error_code = self._pick(self._endings)  # type: ignore[misc]
        auto = r.random() < 0.1
        stream = dialect != "embeddings" and r.random() < 0.5
        latency = min(600_000.0, math.exp(r.gauss(6.7, 0.9)))
        ok = outcome == "ok"
        prompt = int(math.exp(r.gauss(6.5, 1.2))) if ok else 0
        cached = prompt // 2 if ok and r.random() < 0.2 else 0
        completion = int(math.exp(r.gauss(5.0, 1.0))) if ok and dialect != "embeddings" else 0
        reasoning = completion // 3 if completion and r.random() < 0.1 else 0
        tags: list[str] = []
        if r.random() < 0.6:
            tags = r.sample(TAGS, r.randint(1, 3))
        metadata = {"session": _hex(r, 8)} if r.random() < 0.05 else None
        end_user = r.choice(self.end_users) if r.random() < 0.1 else None
        searchable = [*tags, *(f"{k}={v}" for k, v in (metadata or {}).items())]
        if end_user is not None:
            searchable.append(f"user={end_user}")
        said = None
        if tags or metadata or end_user is not None:
            said = {"tags": tags, "metadata": metadata, "user": end_user}
        route = f"strategy=simple-shuffle deployment={provider}/{model}"
        if auto:
            route = f"auto tier={r.choice(TIERS)} -> {route}"
        return {
            "ts": ts,
            "id": _hex(r),
            "org_id": key.org_id,
            "team_id": key.team_id,
            "user_id": key.user_id,
            "key_id": key.id,
            "dialect": dialect,
            "transport": "websocket" if dialect == "ws" else "http",
            "stream": stream,
            "requested_model": "auto" if auto else model,
            "model": model,
            "upstream_model": f"{model}-2026-01-01",
            "provider": provider,
            "deployment": f"{provider}/{model}",
            "route": route,
            "status": status,
            "outcome": outcome,
            "error_code": error_code,
            "cancelled": outcome == "cancelled",
            "latency_ms": round(latency, 3),
            "ttft_ms": round(latency * r.uniform(0.05, 0.4), 3) if stream else None,
            "prompt_tokens": prompt,
            "cached_tokens": cached,
            "cache_write_tokens": 0,
            "completion_tokens": completion,
            "reasoning_tokens": reasoning,
            "cost_picousd": (prompt * 2_500 + completion * 10_000) * 1_000 if ok else 0,
            "priced": True,
            "usage_reported": True,
            "cache": "off",
            "saved_picousd": 0,
            "tags": TAG_SEPARATOR + TAG_SEPARATOR.join(searchable) + TAG_SEPARATOR
            if searchable
            else None,
            "caller_metadata": said,
        }

    def copy_lines(self, columns: list[str], start: datetime, end: datetime, n: int) -> bytes:
        """`n` records with `ts` in [start, end), in time order, as COPY text lines of
        `columns` (a column the generator does not know is null)."""
        span = (end - start).total_seconds()
        moments = sorted(self.random.random() * span for _ in range(n))
        lines = []
        request_id = ""
        for offset in moments:
            values = self.fields(start + timedelta(seconds=offset))
            if not request_id or self.random.random() > 0.05:  # 5%: a retry of the one before
                request_id = f"req-{_hex(self.random, 24)}"
            values["request_id"] = request_id
            lines.append("\t".join(_text(values.get(name)) for name in columns))
        return ("\n".join(lines) + "\n").encode()

    def record(self, ts: datetime) -> RequestRecord:
        values = self.fields(ts)
        said = values.pop("caller_metadata") or {}
        values.pop("tags")
        return RequestRecord(
            **values,  # type: ignore[arg-type]
            request_id=f"req-{_hex(self.random, 24)}",
            tags=tuple(said.get("tags") or ()),
            metadata=said.get("metadata"),
            end_user=said.get("user"),
        )


def _text(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, dict):
        return json.dumps(value).replace("\\", "\\\\")
    return str(value)
