"""`fluxrouter providers sync`: ask each provider's API for its models and compare them with the
configuration, printing the YAML for what is offered but not declared."""

from __future__ import annotations

import argparse

from application.providers.upstream_catalog import upstream_models
from infrastructure.settings import Settings
from interfaces.bootstrap import bootstrap


async def sync(args: argparse.Namespace, settings: Settings) -> int:
    container = bootstrap(settings)
    try:
        if args.provider and args.provider not in container.clients:
            print(f"fluxrouter: no provider named {args.provider} in the configuration")
            return 2
        found = await upstream_models(container.catalog, container.clients, args.provider)
    finally:
        for client in container.clients.values():
            await client.close()
        await container.engine.dispose()
    failed = False
    for entry in found:
        print(f"{entry.provider} ({entry.kind}):")
        if entry.upstream is None:
            failed = True
            print(f"  could not list models: {entry.error}")
            continue
        print(f"  {len(entry.upstream)} offered, {len(entry.configured)} configured")
        for model in entry.missing_upstream:
            print(f"  configured but not offered: {model}")
        if entry.not_configured:
            print("  offered but not configured (add under this provider's `models:`):")
            for model in entry.not_configured:
                print(f"    - {{name: {model}}}")
    return 1 if failed else 0
