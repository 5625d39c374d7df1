"""A large, realistic audit log for benchmarks: a valid hash chain, built in Python (RFC 8785 +
SHA-256, exactly as the gateway hashes) and loaded with COPY.

Thirty days of traffic: mostly chat completions and embeddings by a few hundred keys (a few keys
make most calls) over six models, and admin changes (teams, keys, budgets, users) now and then.
`ts` follows `seq` as the gateway writes it: nearly in order, with neighbours sometimes swapped
(concurrent appends) and now and then a row minutes late (an event the outbox relay retried).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import psycopg

from domains.audit.chain import GENESIS_HASH, format_ts, row_hash

START = datetime(2026, 10, 24, tzinfo=UTC)
SPAN = timedelta(days=30)
MODELS = (
    "openai/gpt-4o-mini",
    "openai/gpt-4o",
    "anthropic/claude-sonnet-4-5",
    "gemini/gemini-2.5-flash",
    "local/llama3.1",
    "openai/text-embedding-3-small",
)
ADMIN_ACTIONS = (
    ("team.create", "team"),
    ("key.create", "key"),
    ("key.revoke", "key"),
    ("budget.set", "team"),
    ("rate_limit.set", "key"),
    ("user.create", "user"),
)
COLUMNS = ("seq", "ts", "actor", "action", "target", "data", "prev_hash", "hash", "event_id")


@dataclass
class Population:
    """Who acts on what: the keys (by weight), teams and users the rows name."""

    seed: int = 7
    rng: random.Random = field(init=False)
    keys: list[str] = field(init=False)
    key_weights: list[float] = field(init=False)
    teams: list[str] = field(init=False)
    users: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.keys = [f"{self.rng.getrandbits(96):024x}" for _ in range(400)]
        self.key_weights = [1 / (rank + 1) for rank in range(len(self.keys))]  # Zipf
        self.teams = [f"{self.rng.getrandbits(96):024x}" for _ in range(120)]
        self.users = [f"{self.rng.getrandbits(96):024x}" for _ in range(60)]


def rows(count: int, population: Population) -> Iterator[tuple[Any, ...]]:
    """`count` rows of one valid chain, as COPY tuples in `COLUMNS` order."""
    rng = population.rng
    step = SPAN / count
    prev = GENESIS_HASH
    keys = rng.choices(population.keys, population.key_weights, k=count)
    for index in range(count):
        seq = index + 1
        moment = START + step * index + timedelta(microseconds=rng.randrange(50_000))
        luck = rng.random()
        if luck < 0.0001:
            moment -= timedelta(seconds=rng.uniform(60, 600))  # retried by the outbox relay
        elif luck < 0.005:
            moment -= timedelta(seconds=rng.uniform(0, 2) * step.total_seconds())
        ts = format_ts(moment)
        actor, action, target, data = _fact(rng, population, keys[index], index)
        digest = row_hash(
            seq=seq,
            ts=ts,
            actor=actor,
            action=action,
            target=target,
            data=data,
            prev_hash=prev,
        )
        yield (seq, ts, actor, action, target, _json(data), prev, digest, f"{seq:032x}")
        prev = digest


def _fact(
    rng: random.Random, population: Population, key: str, index: int
) -> tuple[str, str, str, dict[str, Any]]:
    luck = rng.random()
    if luck < 0.02:
        action, kind = ADMIN_ACTIONS[rng.randrange(len(ADMIN_ACTIONS))]
        people = ("admin", "cli", *(f"user:{user}" for user in population.users[:8]))
        actor = people[rng.randrange(len(people))]
        team = population.teams[rng.randrange(len(population.teams))]
        subject = {"team": team, "key": key, "user": population.users[index % 60]}[kind]
        return actor, action, f"{kind}:{subject}", {"team_id": team, "name": f"n{index}"}
    embeddings = luck < 0.07
    model = MODELS[5] if embeddings else MODELS[rng.randrange(5)]
    tokens_in, tokens_out = rng.randrange(5, 4000), 0 if embeddings else rng.randrange(1, 800)
    data = {
        "request_id": f"req_{index:012x}",
        "team_id": population.teams[int(key, 16) % len(population.teams)],
        "org_id": "org_bench",
        "user_id": None,
        "status": 200,
        "outcome": "ok",
        "stream": bool(rng.getrandbits(1)),
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "cached_tokens": 0,
        "usage_reported": True,
        "cost_usd": f"{(tokens_in * 15 + tokens_out * 60) / 100_000_000:.6f}",
        "priced": True,
    }
    action = "embeddings.create" if embeddings else "chat.completion"
    return f"key:{key}", action, f"model:{model}", data


def _json(data: dict[str, Any]) -> str:
    return msgspec.json.encode(data).decode()


def fill(dsn: str, count: int, population: Population) -> None:
    """COPY `count` chained rows into the (empty) audit log at `dsn` (a libpq URL), then ANALYZE
    it, as autovacuum would after a load this size."""
    with psycopg.connect(dsn) as conn:
        with conn.cursor() as cur:
            copy_sql = f"COPY audit_log ({', '.join(COLUMNS)}) FROM STDIN"
            with cur.copy(copy_sql) as copy:
                for row in rows(count, population):
                    copy.write_row(row)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE audit_log")
