"""The request log through the admin API: pages newest first (filtered, keyset-paged by an
opaque cursor), one request's records, and exports (CSV, JSON Lines).

Scoped as usage is: the operator's admin key reads every org's records; an org's owners, admins
and viewers their org's; a member the records of their own keys. A request of another org (or,
for a member, of someone else) is a 404, like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.openapi.spec import Example
from litestar.params import Parameter
from litestar.response import Stream

from application.teams.access import Principal, no_such, requests_listed
from infrastructure.queries.request_cursor import BadCursor, Cursor
from infrastructure.queries.request_log import (
    RequestFilter,
    iter_requests,
    request_page,
    request_records,
)
from interfaces.http.admin.guard import require_admin
from interfaces.http.admin.requests_export import (
    MEDIA_TYPES,
    Format,
    csv_chunks,
    format_of,
    jsonl_chunks,
)
from interfaces.http.admin.requests_schemas import (
    RequestAttemptsOut,
    RequestPageOut,
    request_out,
)
from interfaces.http.dependencies import Caller, Engine
from interfaces.http.errors import ApiError
from interfaces.http.timestamps import parse_rfc3339

NO_NUL = r"^[^\x00]*$"
Id = Annotated[str | None, Parameter(min_length=1, max_length=64, pattern=NO_NUL)]
Name = Annotated[str | None, Parameter(min_length=1, max_length=200, pattern=NO_NUL)]
Moment = Annotated[str | None, Parameter(max_length=64)]


def _scope(
    principal: Principal, org_id: str | None, user_id: str | None, **given: Any
) -> RequestFilter:
    return RequestFilter(
        org_id=principal.listed_org(org_id),
        user_id=requests_listed(principal, user_id),
        **given,
    )


class RequestsController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: reports"]

    @get(
        "/requests",
        summary="The request log: one record per model call, newest first",
        description="Every filter given applies. Page on with `cursor` = the answer's "
        "`next_cursor` (null on the last page), keeping the same filters. `format=csv` or "
        "`format=jsonl` (or `Accept: text/csv`, `Accept: application/x-ndjson`) exports every "
        "matching record from the cursor on, streamed, instead of a page.",
    )
    async def requests(
        self,
        request: Request[Any, Any, Any],
        engine: Engine,
        principal: Caller,
        from_: Annotated[
            str | None,
            Parameter(
                query="from",
                max_length=64,
                description="RFC 3339 date-time with an offset: records with `ts` at or after it",
                examples=[Example(value="2026-11-23T19:00:00Z")],
            ),
        ] = None,
        to: Annotated[
            str | None,
            Parameter(
                max_length=64,
                description="RFC 3339 date-time with an offset: records with `ts` before it",
            ),
        ] = None,
        org_id: Id = None,
        team_id: Id = None,
        user_id: Name = None,
        key_id: Id = None,
        model: Name = None,
        requested_model: Name = None,
        provider: Name = None,
        dialect: Annotated[
            str | None,
            Parameter(pattern=r"^(chat|responses|messages|gemini|completions|embeddings|ws)$"),
        ] = None,
        status: Annotated[
            str | None,
            Parameter(
                pattern=r"^(ok|error|cancelled|[1-5][0-9][0-9])$",
                description="`ok`, `error`, `cancelled`, or an HTTP status",
            ),
        ] = None,
        tag: Annotated[
            str | None,
            Parameter(
                min_length=1,
                max_length=600,
                pattern=NO_NUL,
                description="a tag of `x-fluxrouter-tags`, a `metadata` entry as `key=value`, "
                "or `user=<the body's user>`",
            ),
        ] = None,
        min_latency_ms: Annotated[float | None, Parameter(ge=0, le=1e9)] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000, description="records in a page")] = 50,
        cursor: Annotated[
            str | None,
            Parameter(
                min_length=1,
                max_length=200,
                description="continue after the previous page: its `next_cursor`",
            ),
        ] = None,
        format: Annotated[
            Format | None, Parameter(description="`json` (a page), `csv` or `jsonl` (an export)")
        ] = None,
        include: Annotated[
            str | None,
            Parameter(
                pattern=r"^bodies$",
                description="`bodies`: each record with its kept bodies (null when none)",
            ),
        ] = None,
    ) -> Response[RequestPageOut]:
        since = parse_rfc3339(from_, "from") if from_ is not None else None
        until = parse_rfc3339(to, "to") if to is not None else None
        if since is not None and until is not None and since > until:
            raise ApiError(400, "`from` is after `to`.", code="invalid_range")
        after = None
        if cursor is not None:
            try:
                after = Cursor.decode(cursor)
            except BadCursor:
                raise ApiError(
                    400,
                    "`cursor` is not a cursor this log gave: pass a page's `next_cursor`.",
                    code="invalid_cursor",
                    param="cursor",
                ) from None
        which = _scope(
            principal,
            org_id,
            user_id,
            team_id=team_id,
            key_id=key_id,
            model=model,
            requested_model=requested_model,
            provider=provider,
            dialect=dialect,
            status=status,
            tag=tag,
            min_latency_ms=min_latency_ms,
            since=since,
            until=until,
        )
        bodies = include == "bodies"
        chosen = format_of(format, request.headers.get("accept"))
        if chosen != "json":
            rows = iter_requests(engine, which, after=after, bodies=bodies)
            chunks = csv_chunks(rows, bodies=bodies) if chosen == "csv" else jsonl_chunks(rows)
            name = f"requests.{chosen}"
            return Stream(  # type: ignore[return-value]  # documented as the page
                chunks,
                media_type=MEDIA_TYPES[chosen],
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        found = await request_page(engine, which, limit=limit, after=after, bodies=bodies)
        next_cursor = found[-1].cursor.encode() if len(found) == limit else None
        page = RequestPageOut([request_out(row.values) for row in found], next_cursor)
        return Response(page)

    @get(
        "/requests/{request_id:str}",
        summary="Every record of one request (one per attempt), oldest first",
        description="An attempt whose team or key keeps bodies has its `bodies` (scrubbed).",
    )
    async def request_detail(
        self, engine: Engine, principal: Caller, request_id: str
    ) -> RequestAttemptsOut:
        if not request_id or len(request_id) > 64 or "\x00" in request_id:
            raise no_such("request")
        which = _scope(principal, None, None)
        found = await request_records(engine, request_id, which)
        if not found:
            raise no_such("request")
        return RequestAttemptsOut(request_id, [request_out(row.values) for row in found])
