"""Relative paths in the configuration, made absolute once it is loaded, so every command finds
the same files wherever it is run from.

A relative path is taken from the directory of the configuration file; with no file, from the
data directory: the directory of the SQLite database file when `database.url` names one (a
relative database path being taken from the working directory), else the working directory.
The paths: the SQLite file of `database.url` and `database.migrate_url`, `audit.signing_key_file`,
`audit.checkpoint_dir`, `accounting.spool_dir`, the `sso` key and certificate files,
`sso.xmlsec_binary` when it names a path rather than a program on the PATH, and each SSO
connection's `idp_metadata_file`.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from infrastructure.settings.model import Settings


def _absolute(path: str, base: Path) -> str:
    return path if os.path.isabs(path) else str(base / path)


def sqlite_file(url: str) -> str | None:
    """The database file a SQLite URL names, None for another database or an in-memory one."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    return None if name.startswith("file:") else name


def _sqlite_url(url: str, base: Path) -> str:
    """The URL with its relative file path made absolute, written as given otherwise."""
    name = sqlite_file(url)
    if name is None or os.path.isabs(name):
        return url
    scheme, _, rest = url.partition("://")
    path, mark, query = rest[1:].partition("?")  # sqlite:///<path>[?query]
    return f"{scheme}:///{_absolute(path, base)}{mark}{query}"


def data_directory(settings: Settings, cwd: Path) -> Path:
    """Where relative paths are taken from when there is no configuration file."""
    name = sqlite_file(settings.database.url)
    return Path(_absolute(name, cwd)).parent if name is not None else cwd


def resolve_paths(settings: Settings, base: Path) -> Settings:
    """The settings with every relative path taken from `base`."""
    database, audit, sso = settings.database, settings.audit, settings.sso
    migrate = database.migrate_url
    xmlsec = sso.xmlsec_binary
    return msgspec.structs.replace(
        settings,
        database=msgspec.structs.replace(
            database,
            url=_sqlite_url(database.url, base),
            migrate_url=_sqlite_url(migrate, base) if migrate is not None else None,
        ),
        accounting=msgspec.structs.replace(
            settings.accounting, spool_dir=_absolute(settings.accounting.spool_dir, base)
        ),
        audit=msgspec.structs.replace(
            audit,
            signing_key_file=_absolute(audit.signing_key_file, base),
            checkpoint_dir=_absolute(audit.checkpoint_dir, base),
        ),
        sso=msgspec.structs.replace(
            sso,
            secret_key_file=_absolute(sso.secret_key_file, base),
            saml_key_file=_absolute(sso.saml_key_file, base),
            saml_cert_file=_absolute(sso.saml_cert_file, base),
            xmlsec_binary=_absolute(xmlsec, base) if xmlsec and os.sep in xmlsec else xmlsec,
            connections=[
                msgspec.structs.replace(
                    connection,
                    idp_metadata_file=_absolute(connection.idp_metadata_file, base),
                )
                if connection.idp_metadata_file is not None
                else connection
                for connection in sso.connections
            ],
        ),
    )
