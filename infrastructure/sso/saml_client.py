"""pysaml2 for the service provider (`saml_sp`): its configuration, the SP metadata, the
AuthnRequest and the response's verification. Imported only where SAML is used (pysaml2 and its
XML schema take seconds to import)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string


@dataclass(frozen=True)
class SpSettings:
    entity_id: str
    acs_url: str
    key_file: str
    cert_file: str
    xmlsec_binary: str


def _config(metadata_xml: str, sp: SpSettings) -> SPConfig:
    config = SPConfig()
    config.load(
        {
            "entityid": sp.entity_id,
            "xmlsec_binary": sp.xmlsec_binary,
            "key_file": sp.key_file,
            "cert_file": sp.cert_file,
            "metadata": {"inline": [metadata_xml]},
            "allow_unknown_attributes": True,
            "accepted_time_diff": 60,
            "service": {
                "sp": {
                    "endpoints": {
                        "assertion_consumer_service": [(sp.acs_url, BINDING_HTTP_POST)],
                    },
                    "allow_unsolicited": False,
                    "want_assertions_signed": True,
                    "want_response_signed": False,
                    "authn_requests_signed": False,
                }
            },
        }
    )
    return config


def sp_metadata(metadata_xml: str, sp: SpSettings) -> str:
    config = _config(metadata_xml, sp)
    return str(create_metadata_string(None, config=config, sign=False).decode())


def redirect_request(metadata_xml: str, sp: SpSettings, *, idp_entity_id: str) -> tuple[str, str]:
    """(the request's id, the IdP's URL to send the browser to, carrying the request)."""
    client = Saml2Client(config=_config(metadata_xml, sp))
    request_id, info = client.prepare_for_authenticate(
        entityid=idp_entity_id, binding=BINDING_HTTP_REDIRECT
    )
    location = dict(info["headers"])["Location"]
    return str(request_id), str(location)


def parse_response(
    metadata_xml: str, sp: SpSettings, saml_response: str, *, request_id: str
) -> Any:
    """pysaml2's verified response (its own kinds of errors raised), answering `request_id`."""
    client = Saml2Client(config=_config(metadata_xml, sp))
    return client.parse_authn_request_response(
        saml_response, BINDING_HTTP_POST, outstanding={request_id: "/"}
    )
