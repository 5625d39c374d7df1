"""The SCIM service's storage for one org: reads straight from the directory tables, writes as
commands on the bus (so every change is an event: audited, projected, published).

A search narrows the org's people or groups in SQL by the attribute identity providers look
them up by (`userName`, `externalId`, `displayName`, `id` compared with `eq`), then matches the
whole filter on the resources; pages follow the creation order, so they are stable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from anyio import to_thread
from scim2_models import (
    ForbiddenException,
    InvalidValueException,
    NotFoundException,
    PreconditionFailedException,
    Resource,
    ResourceType,
    ResponseParameters,
    ScimFilter,
    SearchRequest,
    UniquenessException,
)
from scim2_models.path import CompareOperator, Comparison
from scim2_server.service import ScimService
from scim2_server.storage import AsyncScimStorage, SearchPage
from sqlalchemy.exc import DataError

from application.bus import MessageBus
from application.teams.directory_commands import (
    ChangeGroup,
    CreateGroup,
    DeleteGroup,
    DeleteProvisionedUser,
    ProvisionUser,
    UpdateProvisionedUser,
)
from domains.shared.errors import Conflict, DomainError, Forbidden, InvalidValue, NotFound
from domains.teams.directory import StaleVersion
from domains.teams.groups import Group as DomainGroup
from domains.teams.users import User as DomainUser
from infrastructure.queries import scim as scim_query
from infrastructure.queries.scim import Narrowing, Window
from infrastructure.settings.model import ScimSettings
from interfaces.http.scim import resources
from interfaces.http.scim.group_mapping import link_of

T = TypeVar("T")
NARROWS = {"User": ("id", "userName", "externalId"), "Group": ("id", "displayName", "externalId")}


async def _translated(call: Callable[[], Awaitable[T]]) -> T:
    """The domain's refusals as the SCIM errors they are."""
    try:
        return await call()
    except StaleVersion as exc:
        raise PreconditionFailedException(detail=exc.message) from exc
    except Conflict as exc:
        raise UniquenessException(detail=exc.message) from exc
    except NotFound as exc:
        raise NotFoundException(detail=exc.message) from exc
    except Forbidden as exc:  # the token's role may not do this (see `directory_handlers`)
        raise ForbiddenException(detail=exc.message) from exc
    except (InvalidValue, DomainError) as exc:
        raise InvalidValueException(detail=exc.message) from exc
    except DataError as exc:  # a value the database cannot hold
        raise InvalidValueException(detail="a value is out of range or not valid text") from exc


def _narrowing(name: str, scim_filter: ScimFilter[Any] | None) -> Narrowing | None:
    node = scim_filter.ast if scim_filter is not None else None
    if (
        not isinstance(node, Comparison)
        or node.op != CompareOperator.eq
        or not isinstance(node.value, str)
        or node.attr_path.sub_attr is not None
    ):
        return None
    uri = (node.attr_path.uri or "").lower()
    if uri and not uri.endswith(":user") and not uri.endswith(":group"):
        return None
    for attribute in NARROWS.get(name, ()):
        if node.attr_path.attr.lower() == attribute.lower():
            return Narrowing(attribute, node.value)
    return None


class OrgStorage(AsyncScimStorage):
    def __init__(
        self,
        service: ScimService,
        bus: MessageBus,
        engine: Any,
        org_id: str,
        actor: str,
        settings: ScimSettings,
        reach: str,
    ) -> None:
        self._service, self._bus, self._engine, self._org_id = service, bus, engine, org_id
        self._actor, self._settings = actor, settings
        self._reach = reach  # the token's role: it acts on no one above it

    def _model(self, name: str) -> type[Resource[Any]]:
        return self._service.get_model(self._service.get_resource_type(name))

    async def _users(
        self, narrowing: Narrowing | None = None, window: Window | None = None
    ) -> list[Resource[Any]]:
        records = await scim_query.users_of(self._engine, self._org_id, narrowing, window)
        groups = await scim_query.memberships_of(self._engine, [r.id for r in records])
        model = self._model("User")
        return await to_thread.run_sync(
            lambda: [resources.user_resource(model, r, groups.get(r.id, [])) for r in records]
        )

    async def _groups(
        self, narrowing: Narrowing | None = None, window: Window | None = None
    ) -> list[Resource[Any]]:
        records = await scim_query.groups_of(self._engine, self._org_id, narrowing, window)
        model = self._model("Group")
        return await to_thread.run_sync(
            lambda: [resources.group_resource(model, record) for record in records]
        )

    async def _load(
        self, name: str, narrowing: Narrowing | None, window: Window | None = None
    ) -> list[Resource[Any]]:
        if narrowing is not None and "\x00" in narrowing.value:
            return []  # nothing stored holds a NUL character (and PostgreSQL text cannot)
        try:
            if name == "User":
                return await self._users(narrowing, window)
            return await self._groups(narrowing, window)
        except DataError as exc:  # a value the database cannot compare
            raise InvalidValueException(detail="a value is out of range or not valid text") from exc

    async def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        found = await self._load(str(resource_type.name), Narrowing("id", resource_id))
        if not found:
            raise NotFoundException(detail=f"{resource_type.name} {resource_id!r} not found")
        return found[0]

    async def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        scim_filter = search_request.filter
        names = list(dict.fromkeys(str(rt.name) for rt in resource_types))
        start = search_request.start_index_0 or 0
        if scim_filter is None and len(names) == 1:  # a page read as a page
            total = await scim_query.count_of(self._engine, self._org_id, names[0])
            window = Window(start, search_request.count)
            return SearchPage(total, await self._load(names[0], None, window))
        found: list[Resource[Any]] = []
        for name in names:
            narrowing = _narrowing(name, scim_filter) if len(resource_types) == 1 else None
            candidates = await self._load(name, narrowing)
            found.extend(await to_thread.run_sync(_matching, scim_filter, candidates))
        stop = None if search_request.count is None else start + search_request.count
        return SearchPage(len(found), found[start:stop])

    async def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        if resource_type.name == "User":
            entry = resources.entry_of(resource)
            user: DomainUser = await _translated(
                lambda: self._bus.handle(
                    ProvisionUser(
                        org_id=self._org_id,
                        entry=entry,
                        role=self._settings.default_role,
                        actor=self._actor,
                        reach=self._reach,
                    )
                )
            )
            return await self.get(resource_type, user.id)
        group_in = _group(resource)
        link = link_of(self._settings, self._org_id, str(group_in.display_name or ""))
        group: DomainGroup = await _translated(
            lambda: self._bus.handle(
                CreateGroup(
                    org_id=self._org_id,
                    display_name=str(group_in.display_name or ""),
                    external_id=group_in.external_id,
                    members=resources.members_of(group_in),
                    team_name=link.team,
                    role=link.role,
                    follows_team_name=link.follows_name,
                    actor=self._actor,
                    reach=self._reach,
                )
            )
        )
        return await self.get(resource_type, group.id)

    async def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        resource_id = str(resource.id)
        version = resources.version_of(expected_version)
        if resource_type.name == "User":
            entry = resources.entry_of(resource)
            await _translated(
                lambda: self._bus.handle(
                    UpdateProvisionedUser(
                        org_id=self._org_id,
                        user_id=resource_id,
                        entry=entry,
                        expected_version=version,
                        actor=self._actor,
                        reach=self._reach,
                    )
                )
            )
        else:
            group_in = _group(resource)
            await _translated(
                lambda: self._bus.handle(
                    ChangeGroup(
                        org_id=self._org_id,
                        group_id=resource_id,
                        display_name=str(group_in.display_name or ""),
                        external_id=group_in.external_id,
                        members=resources.members_of(group_in),
                        expected_version=version,
                        actor=self._actor,
                        reach=self._reach,
                    )
                )
            )
        return await self.get(resource_type, resource_id)

    async def delete(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        expected_version: str | None = None,
    ) -> None:
        version = resources.version_of(expected_version)
        command: DeleteProvisionedUser | DeleteGroup
        if resource_type.name == "User":
            command = DeleteProvisionedUser(
                org_id=self._org_id,
                user_id=resource_id,
                expected_version=version,
                actor=self._actor,
                reach=self._reach,
            )
        else:
            command = DeleteGroup(
                org_id=self._org_id,
                group_id=resource_id,
                expected_version=version,
                actor=self._actor,
                reach=self._reach,
            )
        await _translated(lambda: self._bus.handle(command))


def _group(resource: Resource[Any]) -> Any:
    """The Group (whose model the service composed from the schemas it serves)."""
    return resource


def _matching(
    scim_filter: ScimFilter[Any] | None, candidates: list[Resource[Any]]
) -> list[Resource[Any]]:
    if scim_filter is None:
        return candidates
    return [resource for resource in candidates if _matches(scim_filter, resource)]


def _matches(scim_filter: ScimFilter[Any], resource: Resource[Any]) -> bool:
    try:
        return bool(scim_filter.match(resource))
    except (TypeError, ValueError):  # a comparison the attribute's type cannot make
        return False
