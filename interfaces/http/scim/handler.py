"""The SCIM handler: the library's, with PATCH read and applied off the event loop in linear
time (see `patching`), POST and PUT bodies read off it too, and searches whose `filter` is
bounded in length.

What grows with a request's body (decoding and validating it, applying its operations,
rendering a large group) runs in a worker thread, so the event loop keeps serving every other
request meanwhile.
"""

from __future__ import annotations

from contextlib import suppress
from functools import partial
from typing import Any, cast

import msgspec
from anyio import to_thread
from scim2_models import InvalidFilterException, Resource, ResourceType
from scim2_server.handler import AsyncScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.routing import Operation
from scim2_server.service import ScimService
from scim2_server.storage import AsyncScimStorage

from infrastructure.settings.model import ScimSettings
from interfaces.http.scim import applying, patching


class GatewayScimHandler(AsyncScimHandler):
    def __init__(
        self, service: ScimService, storage: AsyncScimStorage, settings: ScimSettings
    ) -> None:
        super().__init__(service, storage)
        self._settings = settings

    def _bound_filter(self, parameters: Any) -> None:
        """A search's `filter` (query parameter or `.search` body member) within the bound."""
        if not isinstance(parameters, dict):
            return
        scim_filter = next(
            (value for key, value in parameters.items() if str(key).lower() == "filter"), None
        )
        limit = self._settings.max_filter_length
        if isinstance(scim_filter, str) and len(scim_filter) > limit:
            raise InvalidFilterException(detail=f"a filter may be at most {limit} characters")

    async def handle(self, request: ScimRequest) -> ScimResponse:
        self._bound_filter(request.query)
        return await super().handle(request)

    async def search_with_body(self, request: ScimRequest) -> ScimResponse:
        with suppress(msgspec.DecodeError):  # the library answers what is wrong with the body
            self._bound_filter(msgspec.json.decode(request.body))
        return await super().search_with_body(request)

    def _in_service(self, call: Any, *args: Any) -> Any:
        with self.service.provider:
            return call(*args)

    async def create(self, request: ScimRequest) -> ScimResponse:
        with self.service.provider:
            target = self.service.route(request, Operation.create)
            resource_type = self.service.resource_type_at(cast(str, target.endpoint))
            self.service.authorize(request, target, resource_type)
        resource = await self._off_loop(
            self.service.read_creation, resource_type, request.body, request.header("Content-Type")
        )
        async with self.storage.operation():
            created = await self.storage.create(resource_type, resource)
        response: ScimResponse = await self._off_loop(
            self.service.creation_response, request.base_url, created
        )
        return response

    async def replace(self, request: ScimRequest) -> ScimResponse:
        with self.service.provider:
            target = self.service.route(request, Operation.replace)
            resource_type = self.service.resource_type_at(cast(str, target.endpoint))
            self.service.authorize(request, target, resource_type)
            response_parameters = self.service.read_response_parameters(
                resource_type, request.query
            )
        async with self.storage.operation():
            current = await self.storage.get(resource_type, cast(str, target.resource_id))
            replacement = await self._off_loop(
                self.service.read_replacement,
                resource_type,
                request.body,
                request.header("Content-Type"),
            )
            assert current.meta is not None
            version = current.meta.version
            replaced = await self._off_loop(
                self.service.apply_replacement,
                current,
                replacement,
                self.service.read_conditions(request),
            )
            resource = (
                current
                if replaced is None
                else await self.storage.update(resource_type, replaced, expected_version=version)
            )
        response: ScimResponse = await self._off_loop(
            self.service.replacement_response, request.base_url, resource, response_parameters
        )
        with self.service.provider:
            return self.service.me_response(request, target, response)

    async def _off_loop(self, call: Any, *args: Any) -> Any:
        """`call(*args)` in a worker thread, under the service's provider."""
        return await to_thread.run_sync(partial(self._in_service, call, *args))

    async def patch(self, request: ScimRequest) -> ScimResponse:
        with self.service.provider:
            target = self.service.route(request, Operation.patch)
            resource_type = self.service.resource_type_at(cast(str, target.endpoint))
            self.service.authorize(request, target, resource_type)
            response_parameters = self.service.read_response_parameters(
                resource_type, request.query
            )
        plan = await self._off_loop(
            patching.read_plan,
            self.service,
            resource_type,
            request.body,
            request.header("Content-Type"),
            self._settings.max_patch_operations,
        )
        async with self.storage.operation():
            resource = await self._patched(
                resource_type, cast(str, target.resource_id), plan, request
            )
        response: ScimResponse = await self._off_loop(
            self.service.patch_response, request.base_url, resource, response_parameters
        )
        with self.service.provider:
            return self.service.me_response(request, target, response)

    async def _patched(
        self,
        resource_type: ResourceType,
        resource_id: str,
        plan: patching.PatchPlan,
        request: ScimRequest,
    ) -> Resource[Any]:
        current = await self.storage.get(resource_type, resource_id)
        assert current.meta is not None
        version = current.meta.version
        patched = await self._off_loop(
            applying.apply_plan, self.service, current, plan, self.service.read_conditions(request)
        )
        if patched is None:
            return current
        return await self.storage.update(resource_type, patched, expected_version=version)
