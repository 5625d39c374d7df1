"""What the SCIM service announces and tolerates.

The schemas are RFC 7643's User (with the enterprise extension) and Group. The service
announces PATCH, filters and ETags (every resource has a version), and neither bulk requests,
sorting nor password changes. Its policy accepts what Okta and Microsoft Entra ID send as they
send it: attributes no schema declares are dropped, a PATCH `remove` carrying a value removes
what the value names, and a `replace` on a filtered path that matches nothing (such as
`emails[type eq "work"].value`) creates the entry the filter describes. Operation names match
case-insensitively, and a PATCH value's keys may be attribute paths (`name.givenName`, extension
URNs); the library applies those to the nested attributes.
"""

from __future__ import annotations

from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    External,
    Filter,
    Patch,
    Reference,
    Resource,
    ResponseParameters,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
)
from scim2_server.responses import ScimResponse
from scim2_server.service import ScimService
from scim2_server.utils import load_default_resource_types, load_default_schemas

MAX_RESULTS = 1000

BEARER = AuthenticationScheme(
    type=AuthenticationScheme.Type.oauthbearertoken,
    name="OAuth Bearer Token",
    description="The org's SCIM token (POST /admin/v1/orgs/{id}/scim-tokens), as a bearer token",
    spec_uri=Reference[External]("https://datatracker.ietf.org/doc/html/rfc6750"),
    primary=True,
)


def service_config() -> ServiceProviderConfig:
    return ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[BEARER],
    )


POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


class GatewayScimService(ScimService):
    """A PATCH of a person is answered 200 with the person, as Okta and Entra ID read it; a
    PATCH of a group 204 without a body (unless attributes were asked for), as both expect."""

    def patch_response(
        self,
        base_url: str,
        resource: Resource[Any],
        response_parameters: ResponseParameters[Any],
    ) -> ScimResponse:
        if resource.meta is not None and resource.meta.resource_type == "Group":
            return super().patch_response(base_url, resource, response_parameters)
        return self.resource_response(
            self.publish(base_url, resource),
            Context.RESOURCE_REPLACEMENT_RESPONSE,
            response_parameters,
        )


def build_service() -> ScimService:
    """The protocol engine: parsing, PATCH, filters, attribute selection, the error schema."""
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(),
        load_default_resource_types().values(),
        config=service_config(),
        policy=POLICY,
    )
    return GatewayScimService(provider)
