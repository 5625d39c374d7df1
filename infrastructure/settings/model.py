"""The shape of FluxRouter's configuration, and the checks msgspec cannot express.

Every struct is frozen and rejects unknown fields, so a typo in the YAML file is an error.
Defaults here are the defaults of the documented ``fluxrouter.yaml``.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import msgspec

from infrastructure.net.addresses import allow_entry_problem

PROVIDER_KINDS = ("openai", "anthropic", "gemini", "openai-compatible")
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("json", "console")
UNPRICED_POLICIES = ("refuse", "tokens_only")
PRICE_MAX_DECIMALS = 6
SECRET_KEYS = frozenset({"api_key", "admin.key", "client_secret"})
"""Fields whose values must never be echoed: a bare field name matches at any depth."""

_PROVIDER_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")


class ServerSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    workers: int = 1
    max_request_bytes: int = 8388608
    cors_origins: list[str] = msgspec.field(default_factory=list)
    """Origins browsers may call the API from (`https://app.example.com`, or `*`: any); empty:
    CORS is off and no CORS header is ever sent."""
    refused_credentials_burst: int = 100
    """Credentials one client address may have refused at once (0: no limit)..."""
    refused_credentials_per_second: float = 10.0
    """... and more each second; past that, its requests with credentials not already accepted
    are answered 429 with no lookup (docs/security.md)."""
    header_timeout: float = 15.0
    """Seconds a client has to finish a request's headers: from the moment its connection opens,
    and on a kept-alive connection from the first byte of its next request. Then the connection
    is closed (after a 408 when part of a request had come)."""
    body_timeout: float = 60.0
    """Seconds a client has to finish a request's body once its headers are in; then it is
    answered 408 and the connection closed."""
    max_connections: int = 10000
    """Open client connections one serving process holds at most (WebSockets included); one
    more is answered 503 and closed at once. Lowered at start to what the process's open-files
    limit leaves after the database, Redis and upstream connections."""
    max_connections_per_ip: int = 500
    """Open connections one serving process holds from one client address (an IPv6 client: its
    /64); one more is answered 429 and closed at once. Connections from `trusted_proxies` are
    not counted per address."""
    trusted_proxies: list[str] = msgspec.field(default_factory=list)
    """Addresses or networks (`10.0.0.5`, `10.0.0.0/8`) of reverse proxies in front of the
    gateway: their `X-Forwarded-For` names the client, and their connections are exempt from
    `max_connections_per_ip` (the proxy limits its clients). Empty: no one is trusted, the
    client is the socket's peer."""


class DatabaseSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    url: str = "sqlite+aiosqlite:///./fluxrouter.db"
    pool_size: int = 10
    migrate_url: str | None = None
    """Where migrations run (null: `url`). On PostgreSQL a different user than `url`'s owns the
    tables; `fluxrouter migrate` then grants `url`'s user only what the gateway needs."""

    @property
    def migration_url(self) -> str:
        return self.migrate_url if self.migrate_url is not None else self.url


class RedisSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    url: str | None = None
    namespace: str = "fluxrouter"  # prefix of every key and queue, so deployments can share one


class AdminSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    key: str = ""
    """Empty: a key is generated once and printed at first start."""


class LoggingSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    level: str = "info"
    format: str = "json"
    log_prompts: bool = False


class WorkerSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    embedded: bool = True
    """Run the projection worker inside the gateway when there is no redis."""
    accounting_process: bool = True
    """`serve`: each serving process writes its finished calls' accounting (outbox, usage, audit
    rows, checkpoints) from a child process of its own, on another core."""


class AccountingSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The spool: each serving process journals its calls on local disk before the database has
    them, and the next start replays what a process left (docs/operations.md)."""

    spool_dir: str = "./accounting-spool"
    """Where the spool files are (one a serving process); relative paths as the other files."""
    spool_fsync_seconds: float = 0.02
    """How often what was journaled is made durable (fsync): what a power cut can lose. A
    killed process loses nothing: each record is written to the file as the call is recorded."""
    spool_segment_bytes: int = 16 * 2**20
    """Past this size, once the database has everything, a process starts a fresh file."""
    stop_flush_seconds: float = 5.0
    """At shutdown, how long the last write to the database may take before the process stops
    anyway (what it did not write stays in the spool for the next start)."""


class Timeouts(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    connect: float = 5.0
    first_byte: float = 60.0
    total: float = 600.0


class BillingSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    unpriced: str = "refuse"
    """A USD-budgeted request for a model without a price: refused, or served counting tokens
    against token budgets and $0 against USD budgets (recorded as unpriced)."""
    default_max_output_tokens: int = 4096
    """The output reserved for a request that sets no limit, on a model without one."""
    limits_reload_seconds: float = 2.0
    """How often each replica rereads budgets, rate limits and prices from the database (a
    change made through this replica applies at once)."""


class AuditSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    signing_key_file: str = "./fluxrouter-audit-signing.key"
    """The Ed25519 private key that signs checkpoints (PEM); generated at first start if absent.
    Every gateway process of a deployment must use the same key."""
    checkpoint_dir: str = "./audit-checkpoints"
    """Where each checkpoint is also written as a file, outside the database."""
    checkpoint_every_seconds: float = 60.0
    """A checkpoint once the oldest unanchored row is this old (0: only `audit checkpoint`)."""
    checkpoint_every_rows: int = 1000
    """A checkpoint once this many rows are unanchored."""
    refusal_rows_longest_seconds: float = 60.0
    """Refused credentials alike (surface, reason, address) are one `auth.refused` row a second;
    while they go on, each next row waits 8 times as long, at most this long."""


class OutboxSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    max_retries: int = 5
    """Retries of an undelivered event after its first delivery; then it is a dead letter."""
    retry_base_seconds: float = 15.0
    """The first retry this long after the event was written; each next one waits twice as
    long."""
    retry_max_seconds: float = 600.0
    """The longest wait between two retries."""
    sweep_every_seconds: float = 5.0
    """How often the relay looks for events due for a retry."""


class WebSocketSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`GET /v1/ws`: the chat protocol's limits and timers (docs/websocket.md)."""

    max_generations: int = 8
    """Generations one connection may run at once; one more is refused with an error."""
    max_message_bytes: int = 1048576
    """A larger client message is answered with an error (the connection stays open)."""
    idle_timeout: float = 300.0
    """Seconds without a client message and with nothing running before the server closes."""
    ping_interval: float = 20.0
    """Seconds between the server's WebSocket pings (0: none)."""
    ping_timeout: float = 20.0
    """Seconds a ping may go unanswered before the connection is dropped."""
    auth_timeout: float = 5.0
    """Seconds a connection without credentials has to send its `auth` message."""
    send_queue: int = 64
    """Messages waiting for a slow reader before the generations feeding them pause."""
    max_connections_per_key: int = 50
    """Open connections one virtual key may hold on one serving process; one more is refused
    (`429 too_many_connections`, close 4429)."""

    @property
    def frame_limit(self) -> int:
        """The largest message the transport reads at all (a larger one closes the connection
        with 1009); messages between `max_message_bytes` and this get an error instead."""
        return max(2 * self.max_message_bytes, self.max_message_bytes + 65536)


class ScimGroupMapping(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A directory group (by its name, case-insensitively) linked to another team, or granting
    a role instead; `org` (an org id) limits the mapping to that org."""

    group: str
    team: str | None = None
    role: str | None = None
    org: str | None = None


class ScimSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """SCIM provisioning (docs/scim.md)."""

    default_role: str = "member"
    """The role of a person the directory provisions, unless a group grants another."""
    groups: list[ScimGroupMapping] = msgspec.field(default_factory=list)
    """Groups linked to a team of another name, or granting a role; any other group is linked
    to the team of its own name (created if need be)."""
    max_patch_operations: int = 1000
    """The most operations one PATCH may carry; more are refused with a 400 `tooMany`."""
    max_filter_length: int = 2000
    """The longest `filter` a search may carry, in characters; a longer one is a 400
    `invalidFilter`."""
    max_request_bytes: int = 1048576
    """The largest SCIM request body; a larger one is refused with a SCIM 413."""


class SsoConnectionSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A single sign-on connection declared here (docs/sso.md); at every start it is created,
    or made what this says. `id` is the connection's id in its URLs."""

    id: str
    org: str
    kind: str
    issuer: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scopes: list[str] | None = None
    groups_claim: str | None = None
    idp_metadata_xml: str | None = None
    idp_metadata_file: str | None = None
    require_signed_assertions: bool = True
    """Must stay true: FluxRouter accepts only signed SAML assertions."""
    role_map: dict[str, dict[str, str]] = msgspec.field(default_factory=dict)
    default_role: str = "member"


class SsoSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Single sign-on for people using the admin API from a browser (docs/sso.md)."""

    secret_key_file: str = "./fluxrouter-sso-secret.key"
    """The AES-256 key that seals OIDC client secrets (base64); generated at first start.
    Every gateway process of a deployment must use the same file."""
    saml_key_file: str = "./fluxrouter-saml-sp.key"
    """The SAML service provider's RSA private key (PEM); generated at first start."""
    saml_cert_file: str = "./fluxrouter-saml-sp.crt"
    """Its self-signed certificate, published in the SP metadata; generated with the key."""
    xmlsec_binary: str | None = None
    """Where xmlsec1 is (null: found on the PATH)."""
    session_idle_seconds: float = 3600.0
    """An SSO session unused this long ends."""
    session_absolute_seconds: float = 43200.0
    """An SSO session ends this long after sign-in, however busy."""
    login_timeout_seconds: float = 600.0
    """How long a sign-in may take at the identity provider."""
    connections: list[SsoConnectionSettings] = msgspec.field(default_factory=list)


class ImageFetchSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The images a request names by URL and the gateway downloads (Gemini takes bytes inline)."""

    max_bytes: int = 20 * 1024 * 1024
    """One image larger than this is refused (400)."""
    max_total_bytes: int = 20 * 1024 * 1024
    """The images of one request together (Gemini takes 20 MB of inline data a request)."""
    max_per_request: int = 16
    """Image URLs one request may name."""
    concurrent_per_request: int = 4
    """Downloads one request runs at once."""
    concurrent: int = 16
    """Downloads the serving process runs at once, for all requests together."""


class OutboundSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What the gateway fetches from URLs others chose (OIDC issuers, the endpoints their
    discovery names, image URLs): internal addresses are refused and https is required unless
    the address or host is on `allow`."""

    allow: list[str] = msgspec.field(default_factory=list)
    """Addresses, networks (CIDR) and host names fetched from although internal, and over
    plain http: `127.0.0.1` for an identity provider on the same machine."""
    images: ImageFetchSettings = msgspec.field(default_factory=ImageFetchSettings)


class Price(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """USD per one million tokens."""

    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cached_input_per_mtok: Decimal | None = None


class ModelSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: str
    upstream: str | None = None
    max_output_tokens: int | None = None
    price: Price | None = None

    @property
    def upstream_name(self) -> str:
        return self.upstream if self.upstream is not None else self.name


class ProviderSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: str
    kind: str
    base_url: str
    models: list[ModelSettings]
    api_key: str | None = None
    timeouts: Timeouts = msgspec.field(default_factory=Timeouts)
    max_connections: int = 100
    # image URLs in requests are fetched by the gateway for kinds that need the bytes (gemini);
    # internal addresses (loopback, private networks) are refused unless this is true
    allow_internal_image_urls: bool = False
    # openai kinds: ask for the usage chunk when streaming (`stream_options.include_usage`);
    # false for servers that refuse `stream_options` (their stream usage is then estimated)
    stream_usage: bool = True


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    redis: RedisSettings = msgspec.field(default_factory=RedisSettings)
    admin: AdminSettings = msgspec.field(default_factory=AdminSettings)
    logging: LoggingSettings = msgspec.field(default_factory=LoggingSettings)
    workers: WorkerSettings = msgspec.field(default_factory=WorkerSettings)
    accounting: AccountingSettings = msgspec.field(default_factory=AccountingSettings)
    billing: BillingSettings = msgspec.field(default_factory=BillingSettings)
    audit: AuditSettings = msgspec.field(default_factory=AuditSettings)
    outbox: OutboxSettings = msgspec.field(default_factory=OutboxSettings)
    websocket: WebSocketSettings = msgspec.field(default_factory=WebSocketSettings)
    scim: ScimSettings = msgspec.field(default_factory=ScimSettings)
    sso: SsoSettings = msgspec.field(default_factory=SsoSettings)
    outbound: OutboundSettings = msgspec.field(default_factory=OutboundSettings)
    providers: list[ProviderSettings] = msgspec.field(default_factory=list)


def quote(text: str, limit: int = 80) -> str:
    """``text`` as a one-line double-quoted string for error messages, shortened if long."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return json.dumps(text, ensure_ascii=False)


def is_secret(path: str) -> bool:
    """True when the key at ``path`` (``providers[0].api_key``) holds a secret."""
    return path in SECRET_KEYS or path.rsplit(".", 1)[-1] in SECRET_KEYS


def problems(settings: Settings) -> Iterator[tuple[str, str]]:
    """Yield ``(key path, what is wrong)`` for every rule the converted settings break."""
    server = settings.server
    yield from _int_range("server.port", server.port, 1, 65535)
    yield from _int_range("server.workers", server.workers, 1)
    yield from _int_range("server.max_request_bytes", server.max_request_bytes, 1)
    yield from _int_range("server.refused_credentials_burst", server.refused_credentials_burst, 0)
    per_second = server.refused_credentials_per_second
    if not (math.isfinite(per_second) and per_second > 0):
        yield "server.refused_credentials_per_second", f"must be a number > 0, got {per_second}"
    if server.public_url is not None:
        yield from _url("server.public_url", server.public_url)
    yield from _origins("server.cors_origins", server.cors_origins)
    yield from _connections(server)
    if not settings.database.url:
        yield "database.url", "must not be empty"
    yield from _int_range("database.pool_size", settings.database.pool_size, 1)
    yield from _migrate_url(settings.database)
    if settings.redis.url is not None:
        yield from _url("redis.url", settings.redis.url, ("redis", "rediss", "unix"))
    yield from _one_of("logging.level", settings.logging.level, LOG_LEVELS)
    yield from _one_of("logging.format", settings.logging.format, LOG_FORMATS)
    yield from _one_of("billing.unpriced", settings.billing.unpriced, UNPRICED_POLICIES)
    billing_max = settings.billing.default_max_output_tokens
    yield from _int_range("billing.default_max_output_tokens", billing_max, 1)
    if not 0.05 <= settings.billing.limits_reload_seconds <= 3600:
        reload_every = settings.billing.limits_reload_seconds
        yield "billing.limits_reload_seconds", f"must be between 0.05 and 3600, got {reload_every}"
    yield from _audit(settings.audit)
    yield from _outbox(settings.outbox)
    yield from _accounting(settings.accounting)
    yield from _websocket(settings.websocket)
    yield from _scim(settings.scim)
    yield from _sso(settings.sso)
    yield from _outbound(settings.outbound)
    seen: set[str] = set()
    for i, provider in enumerate(settings.providers):
        path = f"providers[{i}]"
        if not _PROVIDER_NAME.fullmatch(provider.name):
            wrong = f"must match [a-z0-9][a-z0-9._-]*, got {quote(provider.name)}"
            yield f"{path}.name", wrong
        elif provider.name in seen:
            yield f"{path}.name", f"duplicate provider name {quote(provider.name)}"
        seen.add(provider.name)
        yield from _one_of(f"{path}.kind", provider.kind, PROVIDER_KINDS)
        yield from _url(f"{path}.base_url", provider.base_url)
        yield from _no_credentials(f"{path}.base_url", provider.base_url, provider.api_key)
        for field in ("connect", "first_byte", "total"):
            seconds = getattr(provider.timeouts, field)
            if not (math.isfinite(seconds) and seconds > 0):
                yield f"{path}.timeouts.{field}", f"must be a number of seconds > 0, got {seconds}"
        yield from _int_range(f"{path}.max_connections", provider.max_connections, 1)
        yield from _models(path, provider.models)


_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|\*")


def _origins(path: str, origins: list[str]) -> Iterator[tuple[str, str]]:
    """Each an origin as browsers send it (scheme://host[:port], no path), or `*`."""
    for index, origin in enumerate(origins):
        if not _ORIGIN.fullmatch(origin):
            wrong = f"must be an origin like https://app.example.com (or *), got {quote(origin)}"
            yield f"{path}[{index}]", wrong


def _connections(server: ServerSettings) -> Iterator[tuple[str, str]]:
    for field, low, high in (("header_timeout", 0.1, 3600.0), ("body_timeout", 0.1, 86400.0)):
        seconds = getattr(server, field)
        if not (math.isfinite(seconds) and low <= seconds <= high):
            yield f"server.{field}", f"must be between {low:g} and {high:g} seconds, got {seconds}"
    yield from _int_range("server.max_connections", server.max_connections, 1, 10_000_000)
    per_ip = server.max_connections_per_ip
    yield from _int_range("server.max_connections_per_ip", per_ip, 1, 10_000_000)
    for index, proxy in enumerate(server.trusted_proxies):
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            wrong = f"must be an IP address or network (10.0.0.0/8), got {quote(proxy)}"
            yield f"server.trusted_proxies[{index}]", wrong


def _migrate_url(database: DatabaseSettings) -> Iterator[tuple[str, str]]:
    # The URLs hold passwords: the message names the kinds of database, never the URL.
    if database.migrate_url is None or not database.url:
        return
    kind, app_kind = _backend(database.migrate_url), _backend(database.url)
    if not database.migrate_url.strip():
        yield "database.migrate_url", "must not be empty (null: the same as database.url)"
    elif kind != app_kind:
        wrong = f"must name the same kind of database as database.url ({app_kind}), got {kind}"
        yield "database.migrate_url", wrong


def _backend(url: str) -> str:
    """``postgresql`` for ``postgresql+psycopg://…``: the scheme without its driver."""
    return url.partition(":")[0].partition("+")[0].strip().lower() or "no scheme"


def _outbox(outbox: OutboxSettings) -> Iterator[tuple[str, str]]:
    yield from _int_range("outbox.max_retries", outbox.max_retries, 0, 100)
    for field, low in (
        ("retry_base_seconds", 0.1),
        ("retry_max_seconds", 0.1),
        ("sweep_every_seconds", 0.05),
    ):
        seconds = getattr(outbox, field)
        if not (math.isfinite(seconds) and low <= seconds <= 86400):
            yield f"outbox.{field}", f"must be between {low} and 86400, got {seconds}"
    if outbox.retry_max_seconds < outbox.retry_base_seconds:
        yield "outbox.retry_max_seconds", "must not be below outbox.retry_base_seconds"


def _accounting(accounting: AccountingSettings) -> Iterator[tuple[str, str]]:
    if not accounting.spool_dir.strip():
        yield "accounting.spool_dir", "must not be empty"
    for field, low, high in (("spool_fsync_seconds", 0.001, 10), ("stop_flush_seconds", 0, 600)):
        seconds = getattr(accounting, field)
        if not (math.isfinite(seconds) and low <= seconds <= high):
            yield f"accounting.{field}", f"must be between {low} and {high}, got {seconds}"
    yield from _int_range("accounting.spool_segment_bytes", accounting.spool_segment_bytes, 2**16)


def _audit(audit: AuditSettings) -> Iterator[tuple[str, str]]:
    for field in ("signing_key_file", "checkpoint_dir"):
        if not getattr(audit, field).strip():
            yield f"audit.{field}", "must not be empty"
    every = audit.checkpoint_every_seconds
    if not (math.isfinite(every) and 0 <= every <= 86400):
        yield "audit.checkpoint_every_seconds", f"must be between 0 and 86400, got {every}"
    yield from _int_range("audit.checkpoint_every_rows", audit.checkpoint_every_rows, 1)
    longest = audit.refusal_rows_longest_seconds
    if not (math.isfinite(longest) and 1 <= longest <= 3600):
        yield "audit.refusal_rows_longest_seconds", f"must be between 1 and 3600, got {longest}"


def _scim(scim: ScimSettings) -> Iterator[tuple[str, str]]:
    roles = ("owner", "admin", "member", "viewer")
    yield from _one_of("scim.default_role", scim.default_role, roles)
    yield from _int_range("scim.max_patch_operations", scim.max_patch_operations, 1, 100_000)
    yield from _int_range("scim.max_filter_length", scim.max_filter_length, 16, 1_000_000)
    yield from _int_range("scim.max_request_bytes", scim.max_request_bytes, 1024, 1 << 30)
    for index, mapping in enumerate(scim.groups):
        if (mapping.team is None) == (mapping.role is None):
            yield f"scim.groups[{index}]", "must name either a `team` or a `role`"
        if mapping.role is not None:
            yield from _one_of(f"scim.groups[{index}].role", mapping.role, roles)
        if mapping.team is not None and not mapping.team.strip():
            yield f"scim.groups[{index}].team", "must not be blank"


def _sso(sso: SsoSettings) -> Iterator[tuple[str, str]]:
    for field in ("secret_key_file", "saml_key_file", "saml_cert_file"):
        if not getattr(sso, field).strip():
            yield f"sso.{field}", "must not be empty"
    for field, low in (
        ("session_idle_seconds", 60.0),
        ("session_absolute_seconds", 60.0),
        ("login_timeout_seconds", 10.0),
    ):
        seconds = getattr(sso, field)
        if not (math.isfinite(seconds) and low <= seconds <= 31 * 86400):
            yield f"sso.{field}", f"must be between {low:g} and {31 * 86400} seconds, got {seconds}"
    seen: set[str] = set()
    roles = ("owner", "admin", "member", "viewer")
    for index, connection in enumerate(sso.connections):
        path = f"sso.connections[{index}]"
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,31}", connection.id):
            yield f"{path}.id", f"must match [a-z0-9][a-z0-9-]{{0,31}}, got {quote(connection.id)}"
        elif connection.id in seen:
            yield f"{path}.id", f"duplicate connection id {quote(connection.id)}"
        seen.add(connection.id)
        yield from _one_of(f"{path}.kind", connection.kind, ("oidc", "saml"))
        yield from _one_of(f"{path}.default_role", connection.default_role, roles)
        if connection.kind == "oidc":
            for field in ("issuer", "client_id", "client_secret"):
                if not getattr(connection, field):
                    yield f"{path}.{field}", "is required for an oidc connection"
            if connection.issuer:
                yield from _url(f"{path}.issuer", connection.issuer)
        elif connection.kind == "saml":
            if not connection.require_signed_assertions:
                yield (
                    f"{path}.require_signed_assertions",
                    "must be true: unsigned SAML assertions are never accepted",
                )
            if (connection.idp_metadata_xml is None) == (connection.idp_metadata_file is None):
                yield path, "must give either `idp_metadata_xml` or `idp_metadata_file`"
        for group, grant in connection.role_map.items():
            if set(grant) - {"team", "role"} or not grant:
                yield f"{path}.role_map.{group}", "must hold a `team`, a `role` or both"
            elif "role" in grant:
                yield from _one_of(f"{path}.role_map.{group}.role", grant["role"], roles)


def _outbound(outbound: OutboundSettings) -> Iterator[tuple[str, str]]:
    for index, entry in enumerate(outbound.allow):
        wrong = allow_entry_problem(entry)
        if wrong is not None:
            yield f"outbound.allow[{index}]", f"{wrong}, got {quote(entry)}"
    images = outbound.images
    yield from _int_range("outbound.images.max_bytes", images.max_bytes, 1, 1 << 30)
    yield from _int_range("outbound.images.max_total_bytes", images.max_total_bytes, 1, 1 << 32)
    yield from _int_range("outbound.images.max_per_request", images.max_per_request, 0, 10_000)
    per_request = images.concurrent_per_request
    yield from _int_range("outbound.images.concurrent_per_request", per_request, 1, 1000)
    yield from _int_range("outbound.images.concurrent", images.concurrent, 1, 10_000)


def _websocket(ws: WebSocketSettings) -> Iterator[tuple[str, str]]:
    yield from _int_range("websocket.max_generations", ws.max_generations, 1, 1000)
    yield from _int_range("websocket.max_message_bytes", ws.max_message_bytes, 1024, 1 << 30)
    yield from _int_range("websocket.send_queue", ws.send_queue, 1, 100_000)
    per_key = ws.max_connections_per_key
    yield from _int_range("websocket.max_connections_per_key", per_key, 1, 1_000_000)
    timers = (
        ("idle_timeout", ws.idle_timeout, 1.0),
        ("ping_interval", ws.ping_interval, 0.0),
        ("ping_timeout", ws.ping_timeout, 1.0),
        ("auth_timeout", ws.auth_timeout, 0.1),
    )
    for field, seconds, low in timers:
        if not (math.isfinite(seconds) and low <= seconds <= 86400):
            yield f"websocket.{field}", f"must be between {low:g} and 86400 seconds, got {seconds}"


def _models(provider_path: str, models: list[ModelSettings]) -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    for j, model in enumerate(models):
        path = f"{provider_path}.models[{j}]"
        if not model.name.strip():
            yield f"{path}.name", "must not be empty"
        elif model.name in seen:
            yield f"{path}.name", f"duplicate model name {quote(model.name)} within this provider"
        seen.add(model.name)
        if model.upstream is not None and not model.upstream.strip():
            yield f"{path}.upstream", "must not be empty (omit it to use the model name)"
        if model.max_output_tokens is not None:
            yield from _int_range(f"{path}.max_output_tokens", model.max_output_tokens, 1)
        if model.price is not None:
            for field in ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok"):
                amount = getattr(model.price, field)
                if amount is not None:
                    yield from _price(f"{path}.price.{field}", amount)


def _price(path: str, amount: Decimal) -> Iterator[tuple[str, str]]:
    if not amount.is_finite():
        yield path, f"must be a finite number, got {amount:f}"
    elif amount < 0:
        yield path, f"must not be negative, got {amount:f}"
    elif -min(0, int(amount.normalize().as_tuple().exponent)) > PRICE_MAX_DECIMALS:
        yield path, f"at most {PRICE_MAX_DECIMALS} decimal places allowed, got {amount:f}"


def _int_range(
    path: str, value: int, low: int, high: int | None = None
) -> Iterator[tuple[str, str]]:
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        yield path, f"must be {bound}, got {value}"


def _one_of(path: str, value: str, allowed: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    if value not in allowed:
        yield path, f"must be one of {', '.join(allowed)}"


def _url(
    path: str, value: str, schemes: tuple[str, ...] = ("http", "https")
) -> Iterator[tuple[str, str]]:
    try:
        parts = urlsplit(value)
        valid = parts.scheme in schemes and (parts.scheme == "unix" or bool(parts.hostname))
    except ValueError:
        valid = False
    if not valid:
        kinds = "an http(s)" if schemes == ("http", "https") else "a " + "/".join(schemes)
        yield path, f"must be {kinds} URL, got {quote(without_userinfo(value))}"


def _no_credentials(path: str, url: str, api_key: str | None) -> Iterator[tuple[str, str]]:
    """A provider's credentials go in `api_key`, a secret field that is never shown; a
    `user:password@` in its base URL would be shown wherever the URL is, and aiohttp cannot send
    it beside the key's header. The message never repeats the URL."""
    try:
        parts = urlsplit(url)
        has_userinfo = parts.username is not None or parts.password is not None
    except ValueError:
        return
    if not has_userinfo:
        return
    also = " (this provider sets api_key as well)" if api_key else ""
    yield (
        path,
        (
            f"must not hold credentials (user:password@host){also}: put the provider's key in "
            "api_key, and the URL without them"
        ),
    )


def without_userinfo(url: str) -> str:
    """The URL without its `user:password@`, for showing it anywhere."""
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return url
    except ValueError:
        return re.sub(r"//[^/?#]*@", "//", url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
