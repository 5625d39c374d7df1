"""`fluxrouter keys create`: issue a key from the command line, through the bus."""

from __future__ import annotations

import argparse

from application.teams.commands import IssueKey
from domains.shared.errors import DomainError
from domains.teams.model import VirtualKey
from infrastructure.settings import Settings
from interfaces.bootstrap import bootstrap


async def create_key(args: argparse.Namespace, settings: Settings) -> int:
    container = bootstrap(settings)
    try:
        key: VirtualKey
        key, secret = await container.bus.handle(
            IssueKey(
                team_id=args.team,
                name=args.name,
                actor="cli",
                user_id=args.user,
                models=tuple(args.models) if args.models else None,
            )
        )
    except DomainError as error:
        print(f"fluxrouter: {error.message}")
        return 1
    finally:
        await container.engine.dispose()
    print(f"id:     {key.id}\nprefix: {key.prefix}\nkey:    {secret}\n(shown once)")
    return 0
