"""`fluxrouter dead-letters list | replay ID`: the events the outbox relay gave up on."""

from __future__ import annotations

import argparse
import dataclasses
import json
from datetime import datetime

from domains.shared.errors import DomainError
from infrastructure.messaging.dead_letters import DeadLetterView
from infrastructure.settings import Settings
from interfaces.bootstrap import bootstrap

CLI_ACTOR = "cli"


def _as_json(letter: DeadLetterView) -> str:
    fields = dataclasses.asdict(letter)
    return json.dumps(
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}
    )


def _as_line(letter: DeadLetterView) -> str:
    state = f"replayed {letter.replayed_at:%Y-%m-%dT%H:%M:%SZ}" if letter.replayed_at else "pending"
    return (
        f"{letter.id}  {letter.dead_lettered_at:%Y-%m-%dT%H:%M:%SZ}  {letter.event_type}  "
        f"{letter.subscriber or '-'}  {letter.error_class or '-'}  "
        f"attempts={letter.attempts}  {state}"
    )


async def list_letters(args: argparse.Namespace, settings: Settings) -> int:
    container = bootstrap(settings)
    try:
        letters = await container.relay.dead_letters.page(
            after=args.after, limit=args.limit, pending=True if args.pending else None
        )
    finally:
        await container.engine.dispose()
        container.sync_engine.dispose()
    for letter in letters:
        print(_as_json(letter) if args.json else _as_line(letter))
    if not letters and not args.json:
        print("fluxrouter: no dead letters")
    return 0


async def replay_letter(args: argparse.Namespace, settings: Settings) -> int:
    container = bootstrap(settings)
    try:
        replay = await container.relay.replay(
            args.id, actor=CLI_ACTOR, publish=container.bus.publish
        )
        delivered = await container.relay.dead_letters.delivered(replay.event.event_id)
    except DomainError as error:
        print(f"fluxrouter: {error.message}")
        return 1
    finally:
        await container.engine.dispose()
        container.sync_engine.dispose()
    if delivered:
        print(f"fluxrouter: replayed {args.id}: event {replay.event.event_id} delivered")
        return 0
    print(
        f"fluxrouter: replayed {args.id}: event {replay.event.event_id} failed again; "
        "the gateway's relay retries it"
    )
    return 3
