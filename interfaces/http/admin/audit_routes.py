"""The audit log through the admin API: rows (filtered, keyset-paged), verification against
the signed checkpoints, and the public key of those signatures.

The audit log is one hash chain over every org, so only the admin key reads or verifies it.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, get
from litestar.exceptions import ServiceUnavailableException
from litestar.openapi.spec import Example
from litestar.params import Parameter

from infrastructure.audit.verification import verify_online
from infrastructure.queries.audit import audit_page
from infrastructure.security.audit_signing import ALGORITHM
from interfaces.http.admin.guard import require_admin
from interfaces.http.dependencies import AuditKey, Caller, Checkpoints, Engine
from interfaces.http.errors import ApiError
from interfaces.http.timestamps import parse_rfc3339

MAX_SEQ = 2**63 - 1
NO_NUL = r"^[^\x00]*$"


class AuditRowOut(msgspec.Struct):
    seq: int
    ts: str
    actor: str
    action: str
    target: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPageOut(msgspec.Struct):
    rows: list[AuditRowOut]
    next_after_seq: int | None


class AuditVerifyOut(msgspec.Struct, omit_defaults=True):
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    full: bool
    checkpoints: int
    signatures_checked: bool
    first_bad_seq: int | None = None
    reason: str | None = None
    checkpoint_seq: int | None = None
    chain: str | None = None
    notes: list[str] = msgspec.field(default_factory=list)


class AuditPublicKeyOut(msgspec.Struct):
    algorithm: str
    key_id: str
    pem: str
    raw_base64: str


class AuditController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: audit"]

    @get(
        "/audit",
        summary="Audit log rows, oldest first, keyset-paged by seq",
        description="Every filter given applies. Page on with `after_seq` = the answer's "
        "`next_after_seq` (null on the last page), keeping the same filters.",
    )
    async def audit(
        self,
        engine: Engine,
        principal: Caller,
        after_seq: Annotated[int, Parameter(ge=0, le=MAX_SEQ)] = 0,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
        actor: Annotated[str | None, Parameter(max_length=300, pattern=NO_NUL)] = None,
        action: Annotated[str | None, Parameter(max_length=100, pattern=NO_NUL)] = None,
        target: Annotated[str | None, Parameter(max_length=300, pattern=NO_NUL)] = None,
        from_: Annotated[
            str | None,
            Parameter(
                query="from",
                max_length=64,
                description="RFC 3339 date-time with an offset: rows with `ts` at or after it",
                examples=[Example(value="2026-11-23T19:00:00Z")],
            ),
        ] = None,
        to: Annotated[
            str | None,
            Parameter(
                max_length=64,
                description="RFC 3339 date-time with an offset: rows with `ts` before it",
                examples=[Example(value="2026-11-24T00:00:00+01:00")],
            ),
        ] = None,
    ) -> AuditPageOut:
        principal.require_root()
        since = parse_rfc3339(from_, "from") if from_ is not None else None
        until = parse_rfc3339(to, "to") if to is not None else None
        if since is not None and until is not None and since > until:
            raise ApiError(400, "`from` is after `to`.", code="invalid_range")
        rows = await audit_page(
            engine,
            after_seq=after_seq,
            limit=limit,
            actor=actor,
            action=action,
            target=target,
            since=since,
            until=until,
        )
        out = [AuditRowOut(**row.as_dict()) for row in rows]
        return AuditPageOut(rows=out, next_after_seq=out[-1].seq if len(out) == limit else None)

    @get(
        "/audit/verify",
        summary="Verify the hash chain against the signed checkpoints",
        description="Incremental: every checkpoint (database and checkpoint directory) is "
        "checked, and hashes are recomputed from the newest one that still matches; "
        "`full=true` recomputes every row.",
    )
    async def audit_verify(
        self,
        engine: Engine,
        principal: Caller,
        audit_key: AuditKey,
        checkpointer: Checkpoints,
        full: bool = False,
    ) -> AuditVerifyOut:
        principal.require_root()
        if audit_key is None or checkpointer is None:
            raise ServiceUnavailableException("the audit signing key is not loaded")
        check = await verify_online(engine, audit_key, checkpointer.directory, full=full)
        return AuditVerifyOut(
            ok=check.ok,
            checked=check.checked,
            head_seq=check.head_seq,
            head_hash=check.head_hash,
            full=full,
            checkpoints=check.checkpoints,
            signatures_checked=check.signatures_checked,
            first_bad_seq=check.first_bad_seq,
            reason=check.reason,
            checkpoint_seq=check.checkpoint_seq,
            chain=check.chain,
            notes=list(check.notes),
        )

    @get("/audit/public-key", summary="The public key that checkpoint signatures verify with")
    async def audit_public_key(self, principal: Caller, audit_key: AuditKey) -> AuditPublicKeyOut:
        principal.require_root()
        key = audit_key
        if key is None:
            raise ServiceUnavailableException("the audit signing key is not loaded")
        return AuditPublicKeyOut(
            algorithm=ALGORITHM,
            key_id=key.key_id,
            pem=key.public_pem(),
            raw_base64=key.public_base64(),
        )
