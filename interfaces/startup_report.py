"""What `fluxrouter serve` says when it starts: the configuration file it read (or that there
was none), the database and Redis it uses (passwords masked), how many providers and models it
serves, and where the API documentation is."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from infrastructure.settings import Settings
from interfaces.http.connection_limits import connection_cap

MASK = "***"
WILDCARDS = ("0.0.0.0", "::", "")  # noqa: S104 — names the addresses, binds none


def start_lines(
    settings: Settings, config_path: str | None, host: str, port: int, open_files: int | None = None
) -> list[str]:
    """`open_files`: the serving processes' limit on open files, when known."""
    models = sum(len(provider.models) for provider in settings.providers)
    providers = len(settings.providers)
    lines = [
        f"configuration: {config_path}"
        if config_path
        else "configuration: none (no --config, $FLUXROUTER_CONFIG or ./fluxrouter.yaml); "
        "defaults and FLUXROUTER_* variables",
        f"database: {masked_url(settings.database.url)}",
        f"redis: {masked_url(settings.redis.url)}"
        if settings.redis.url
        else "redis: none (events, limits and revocations kept in this process)",
        f"{_count(providers, 'provider')}, {_count(models, 'model')}",
    ]
    if not models:
        lines.append(
            "warning: no models are configured, so every model a client asks for is unknown; "
            "declare providers and their models under `providers:` (docs/configuration.md)"
        )
    cap = connection_cap(settings, open_files)
    if cap < settings.server.max_connections:
        lines.append(
            f"warning: each serving process holds at most {cap} client connections, not "
            f"server.max_connections ({settings.server.max_connections}): its open-files limit "
            f"is {open_files} (raise the hard limit: `ulimit -Hn`, systemd's LimitNOFILE=)"
        )
    lines.append(f"API documentation: {public_base(settings, host, port)}/schema")
    return lines


def public_base(settings: Settings, host: str, port: int) -> str:
    if settings.server.public_url:
        return settings.server.public_url.rstrip("/")
    shown = "127.0.0.1" if host in WILDCARDS else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def masked_url(url: str) -> str:
    """The URL with its password (in the address or a `password` query parameter) masked."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key.lower() == "password" for key, _ in pairs):
            query = urlencode(
                [(key, MASK if key.lower() == "password" else value) for key, value in pairs],
                safe="*/",
            )
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # as given (a rebuilt `sqlite:///./x.db` would lose a slash)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
