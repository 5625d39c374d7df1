"""`fluxrouter`: serve | worker | migrate | version | keys create/list/show |
orgs list/show/budget-cap | policies test |
teams list/show | audit export/verify/checkpoint/public-key | projections rebuild |
dead-letters list/replay."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from interfaces.version import VERSION

if TYPE_CHECKING:  # read once the command is known (`--help` needs none of it)
    from infrastructure.settings import Settings


def _settings(args: argparse.Namespace) -> tuple[Settings, str | None]:
    from infrastructure.settings import ConfigError, load_settings

    try:
        settings, path = load_settings(args.config)
    except ConfigError as error:
        print(f"fluxrouter: config error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    if path is not None:
        os.environ["FLUXROUTER_CONFIG"] = os.path.abspath(path)  # worker processes read it
    return settings, path


def _global_options(*, top: bool) -> argparse.ArgumentParser:
    """`--config` is taken before or after the command: on the command it is left out of the
    namespace unless given, so it never hides the one given before."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--config",
        metavar="PATH",
        default=None if top else argparse.SUPPRESS,
        help="the YAML configuration file (default: $FLUXROUTER_CONFIG, else ./fluxrouter.yaml "
        "if present)",
    )
    return options


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fluxrouter",
        description="FluxRouter LLM gateway",
        parents=[_global_options(top=True)],
    )
    parser.add_argument(
        "--version", action="version", version=f"fluxrouter {VERSION}", help="print the version"
    )
    common = _global_options(top=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(group: Any, name: str, help: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = group.add_parser(
            name, help=help, description=help, parents=[common]
        )
        return parser

    serve = command(commands, "serve", "run the gateway")
    serve.add_argument("--host", help="listen on this address (default: server.host)")
    serve.add_argument("--port", type=int, help="listen on this port (default: server.port)")
    serve.add_argument(
        "--workers",
        type=int,
        help="serving processes, one a core; above 1 needs redis.url (default: server.workers)",
    )
    serve.add_argument(
        "--no-migrate", action="store_true", help="do not apply pending migrations first"
    )

    command(commands, "worker", "run the Dramatiq projection workers (needs redis.url)")
    command(commands, "migrate", "apply the database migrations")
    command(commands, "version", "print the version")

    keys = command(commands, "keys", "virtual keys").add_subparsers(
        dest="keys_command", required=True, metavar="COMMAND"
    )
    create = command(keys, "create", "issue a virtual key and print it once")
    create.add_argument("--team", required=True, help="the id of the team the key belongs to")
    create.add_argument("--name", required=True, help="a name for the key, shown in listings")
    create.add_argument("--user", help="the id of the user the key is issued to")
    create.add_argument(
        "--model", action="append", dest="models", help="allow only this model (repeatable)"
    )
    _directory_reads(command, commands, keys)

    audit = command(commands, "audit", "the audit log").add_subparsers(
        dest="audit_command", required=True, metavar="COMMAND"
    )
    export = command(audit, "export", "write the audit log as JSON lines")
    export.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    export.add_argument(
        "--from-seq", type=int, default=1, help="start at this sequence number (default: 1)"
    )
    verify = command(audit, "verify", "verify an exported file offline (needs no database)")
    verify.add_argument("file", help="a file written by `fluxrouter audit export`")
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
    command(audit, "checkpoint", "sign a checkpoint of the audit chain's head now")
    public_key = command(audit, "public-key", "print the checkpoint signing public key")
    public_key.add_argument(
        "--format", choices=["pem", "base64"], default="pem", help="PEM, or base64 of raw bytes"
    )

    providers = command(commands, "providers", "providers and models").add_subparsers(
        dest="providers_command", required=True, metavar="COMMAND"
    )
    sync = command(providers, "sync", "list each provider's models from its own API")
    sync.add_argument("--provider", help="only this provider")

    _policies(command, commands)

    spool = command(commands, "spool", "the accounting spool (docs/operations.md)").add_subparsers(
        dest="spool_command", required=True, metavar="COMMAND"
    )
    command(spool, "status", "the spool's files: owner, records, calls under way")

    projections = command(commands, "projections", "read models").add_subparsers(
        dest="projections_command", required=True, metavar="COMMAND"
    )
    rebuild = command(projections, "rebuild", "rebuild a read model from the events")
    rebuild.add_argument("name", choices=["usage"], help="the read model to rebuild")

    letters = command(
        commands, "dead-letters", "events the outbox relay gave up delivering"
    ).add_subparsers(dest="dead_letters_command", required=True, metavar="COMMAND")
    listing = command(letters, "list", "list dead letters, oldest first")
    listing.add_argument("--pending", action="store_true", help="only those not replayed")
    listing.add_argument("--after", help="only those after this id (the last one printed)")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    replay = command(letters, "replay", "deliver a dead letter's event again")
    replay.add_argument("id", help="the dead letter's id")
    return parser


def _policies(command: Any, commands: Any) -> None:
    """`policies test`: a sample request against the configured routing policies."""
    policies = command(commands, "policies", "routing policies").add_subparsers(
        dest="policies_command", required=True, metavar="COMMAND"
    )
    sample = command(
        policies,
        "test",
        "show which routing policy rule a sample request meets, its effects and where the "
        "request would go (exit 1 if it would be refused)",
    )
    sample.add_argument("--model", required=True, help="the model the request asks for")
    sample.add_argument("--org", help="the caller's org id")
    sample.add_argument("--team", help="the caller's team id")
    sample.add_argument("--key", help="the caller's key id")
    sample.add_argument("--user", help="the caller's user id")
    sample.add_argument("--tags", help="the request's tags, comma separated (x-fluxrouter-tags)")
    sample.add_argument("--tier", help="the request's complexity tier (the auto virtual model's)")


def _directory_reads(command: Any, commands: Any, keys: Any) -> None:
    """`orgs|teams|keys list|show`, read from the database (never a key's secret); `command`
    adds a subcommand with its help and the options every command takes."""
    json_help = "one JSON object a line (as the admin API answers), not a table"
    orgs = command(commands, "orgs", "orgs").add_subparsers(
        dest="orgs_command", required=True, metavar="COMMAND"
    )
    teams = command(commands, "teams", "teams").add_subparsers(
        dest="teams_command", required=True, metavar="COMMAND"
    )
    listed = {
        "orgs": command(orgs, "list", "every org, oldest first"),
        "teams": command(teams, "list", "teams, oldest first"),
        "keys": command(
            keys, "list", "keys (revoked and expired ones too), oldest first, never a secret"
        ),
    }
    listed["teams"].add_argument("--org", help="only this org's teams (an org id)")
    listed["keys"].add_argument("--team", help="only this team's keys (a team id)")
    listed["keys"].add_argument("--user", help="only the keys issued for this user id")
    for kind in ("orgs", "teams"):
        listed[kind].add_argument(
            "--include-deleted", action="store_true", help=f"deleted {kind} too"
        )
    for parser in listed.values():
        parser.add_argument("--json", action="store_true", help=json_help)
    cap = command(
        orgs,
        "budget-cap",
        "cap an org's budget for a period (org admins may not set one above it nor remove it), "
        "or lift the cap",
    )
    cap.add_argument("id", help="the org id")
    cap.add_argument(
        "--period", choices=["day", "month", "total"], default="month", help="default: month"
    )
    cap.add_argument("--max-usd", metavar="USD", help="at most this many US dollars")
    cap.add_argument("--max-tokens", type=int, metavar="N", help="at most this many tokens")
    cap.add_argument("--lift", action="store_true", help="remove the cap for the period")
    for kind, group in (("org", orgs), ("team", teams), ("key", keys)):
        show = command(group, "show", f"one {kind}'s record, a field a line")
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
    settings, path = _settings(args)
    if args.command == "policies":  # the configuration alone: no database
        from interfaces.commands.policies import test_request

        return test_request(args, settings)
    writes = getattr(args, "orgs_command", "") == "budget-cap"  # the rest of orgs only reads
    reads = args.command in ("orgs", "teams") and not writes
    if reads or getattr(args, "keys_command", "create") != "create":
        import asyncio

        from interfaces.commands.directory import read_directory  # reads: no app to build

        return asyncio.run(read_directory(args, settings))
    from interfaces.commands import run

    return run.dispatch(args, settings, path)


if __name__ == "__main__":
    raise SystemExit(main())
