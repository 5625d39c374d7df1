"""`fluxrouter`: serve | worker | migrate | version | keys create/list/show | orgs list/show |
teams list/show | audit export/verify/checkpoint/public-key | projections rebuild."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from infrastructure.settings import ConfigError, Settings, load_settings
from interfaces.version import VERSION


def _settings(args: argparse.Namespace) -> Settings:
    try:
        settings, path = load_settings(args.config)
    except ConfigError as error:
        print(f"fluxrouter: config error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    if path is not None:
        os.environ["FLUXROUTER_CONFIG"] = os.path.abspath(path)  # worker processes read it
    return settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fluxrouter", description="FluxRouter LLM gateway")
    parser.add_argument("--config", help="the YAML configuration file")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument(
        "--no-migrate", action="store_true", help="do not apply pending migrations first"
    )

    commands.add_parser("worker", help="run the Dramatiq projection workers (needs redis.url)")
    commands.add_parser("migrate", help="apply the database migrations")
    commands.add_parser("version", help="print the version")

    keys = commands.add_parser("keys", help="virtual keys").add_subparsers(
        dest="keys_command", required=True
    )
    create = keys.add_parser("create", help="issue a virtual key and print it once")
    create.add_argument("--team", required=True, help="the team id")
    create.add_argument("--name", required=True)
    create.add_argument("--user")
    create.add_argument(
        "--model", action="append", dest="models", help="allow only this model (repeatable)"
    )
    _directory_reads(commands, keys)

    audit = commands.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit_command", required=True
    )
    export = audit.add_parser("export", help="write the audit log as JSON lines")
    export.add_argument("--out", required=True)
    export.add_argument("--from-seq", type=int, default=1)
    verify = audit.add_parser("verify", help="verify an exported file offline")
    verify.add_argument("file")
    verify.add_argument(
        "--public-key",
        action="append",
        default=[],
        dest="public_keys",
        help="check checkpoint signatures with this key: a file or the key (PEM or base64)",
    )
    verify.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        dest="checkpoints",
        help="also check against these checkpoints: a file or a directory (repeatable)",
    )
    audit.add_parser("checkpoint", help="sign a checkpoint of the audit chain's head now")
    public_key = audit.add_parser("public-key", help="print the checkpoint signing public key")
    public_key.add_argument(
        "--format", choices=["pem", "base64"], default="pem", help="PEM, or base64 of raw bytes"
    )

    providers = commands.add_parser("providers", help="providers and models").add_subparsers(
        dest="providers_command", required=True
    )
    sync = providers.add_parser("sync", help="list each provider's models from its own API")
    sync.add_argument("--provider", help="only this provider")

    projections = commands.add_parser("projections", help="read models").add_subparsers(
        dest="projections_command", required=True
    )
    rebuild = projections.add_parser("rebuild", help="rebuild a read model from the events")
    rebuild.add_argument("name", choices=["usage"])
    return parser


def _directory_reads(commands: Any, keys: Any) -> None:
    """`orgs|teams|keys list|show`, read from the database (never a key's secret)."""
    json_help = "one JSON object a line (as the admin API answers), not a table"
    orgs = commands.add_parser("orgs", help="orgs").add_subparsers(
        dest="orgs_command", required=True
    )
    teams = commands.add_parser("teams", help="teams").add_subparsers(
        dest="teams_command", required=True
    )
    listed = {
        "orgs": orgs.add_parser("list", help="every org, oldest first"),
        "teams": teams.add_parser("list", help="teams, oldest first"),
        "keys": keys.add_parser(
            "list", help="keys (revoked and expired ones too), oldest first, never a secret"
        ),
    }
    listed["teams"].add_argument("--org", help="only this org's teams (an org id)")
    listed["keys"].add_argument("--team", help="only this team's keys (a team id)")
    listed["keys"].add_argument("--user", help="only the keys issued for this user id")
    for kind in ("orgs", "teams"):
        listed[kind].add_argument(
            "--include-deleted", action="store_true", help=f"deleted {kind} too"
        )
    for command in listed.values():
        command.add_argument("--json", action="store_true", help=json_help)
    for kind, group in (("org", orgs), ("team", teams), ("key", keys)):
        show = group.add_parser("show", help=f"one {kind}'s record, a field a line")
        show.add_argument("id", help=f"the {kind} id")
        show.add_argument("--json", action="store_true", help="the record as one JSON object")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "version":
        print(f"fluxrouter {VERSION}")
        return 0
    if args.command == "audit" and args.audit_command == "verify":
        from interfaces.commands.audit_file import verify_file

        return verify_file(args.file, args.public_keys, args.checkpoints)
    settings = _settings(args)
    if args.command in ("orgs", "teams") or getattr(args, "keys_command", "create") != "create":
        import asyncio

        from interfaces.commands.directory import read_directory  # reads: no app to build

        return asyncio.run(read_directory(args, settings))
    from interfaces.commands import run

    return run.dispatch(args, settings)


if __name__ == "__main__":
    raise SystemExit(main())
