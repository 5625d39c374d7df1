"""The SCIM handler: the library's, with PATCH read and applied off the event loop in linear
time (see `patching`), and searches whose `filter` is bounded in length.

What grows with a request's body (decoding and validating it, applying its operations,
rendering a large group) runs in a worker thread, so the event loop keeps serving every other
request meanwhile.
"""

from __future__ import annotations

from functools import partial
from typing import Any, cast

from anyio import to_thread
from scim2_models import InvalidFilterException, Resource, ResourceType
from scim2_server.handler import AsyncScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.routing import Operation
from scim2_server.service import ScimService
from scim2_server.storage import AsyncScimStorage

from infrastructure.settings.model import ScimSettings
from interfaces.http.scim import patching


class GatewayScimHandler(AsyncScimHandler):
    def __init__(
        self, service: ScimService, storage: AsyncScimStorage, settings: ScimSettings
    ) -> None:
        super().__init__(service, storage)
        self._settings = settings

    async def handle(self, request: ScimRequest) -> ScimResponse:
        scim_filter = next(
            (value for key, value in request.query.items() if key.lower() == "filter"), None
        )
        if scim_filter is not None and len(scim_filter) > self._settings.max_filter_length:
            raise InvalidFilterException(
                detail=f"a filter may be at most {self._settings.max_filter_length} characters"
            )
        return await super().handle(request)

    def _in_service(self, call: Any, *args: Any) -> Any:
        with self.service.provider:
            return call(*args)

    async def patch(self, request: ScimRequest) -> ScimResponse:
        with self.service.provider:
            target = self.service.route(request, Operation.patch)
            resource_type = self.service.resource_type_at(cast(str, target.endpoint))
            self.service.authorize(request, target, resource_type)
            response_parameters = self.service.read_response_parameters(
                resource_type, request.query
            )
        plan = await to_thread.run_sync(
            partial(
                self._in_service,
                patching.read_plan,
                self.service,
                resource_type,
                request.body,
                request.header("Content-Type"),
                self._settings.max_patch_operations,
            )
        )
        async with self.storage.operation():
            resource = await self._patched(
                resource_type, cast(str, target.resource_id), plan, request
            )
        response: ScimResponse = await to_thread.run_sync(
            partial(
                self._in_service,
                self.service.patch_response,
                request.base_url,
                resource,
                response_parameters,
            )
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
        patched = await to_thread.run_sync(
            partial(
                self._in_service,
                patching.apply_plan,
                self.service,
                current,
                plan,
                self.service.read_conditions(request),
            )
        )
        if patched is None:
            return current
        return await self.storage.update(resource_type, patched, expected_version=version)
