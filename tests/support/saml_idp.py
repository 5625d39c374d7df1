"""A SAML 2.0 identity provider made with pysaml2 (and Debian's xmlsec1), for signing people in
to the gateway and for forging the answers an attacker would send.

It reads the AuthnRequest from the URL the gateway redirects the browser to (HTTP-Redirect),
and answers with a response for the browser to post to the gateway's ACS (HTTP-POST). `sign`
signs an assertion in a document the test has changed, with the IdP's own key, as a real IdP
would have signed it.
"""

from __future__ import annotations

import base64
import datetime
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, saml
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.server import Server

ENTITY_ID = "https://idp.example.test/saml/metadata"
SSO_URL = "https://idp.example.test/saml/sso"
PASSWORD = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
FIRST_REQUEST_TIMEOUT = 90.0
"""Seconds a test waits for the gateway's first SAML answer after a connection is made: the
gateway loads pysaml2 only then (a second or two; far more on a busy machine)."""
ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"


def _keypair(directory: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test IdP")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / "idp.key", directory / "idp.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


class SamlIdp:
    def __init__(self, directory: Path, *, lifetime_minutes: int = 5) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.key_file, self.cert_file = _keypair(directory)
        self.xmlsec = shutil.which("xmlsec1")
        if self.xmlsec is None:
            raise RuntimeError("xmlsec1 is missing: apt-get install -y xmlsec1")
        self.lifetime_minutes = lifetime_minutes
        self._sp_metadata: str | None = None

    def _config(self, lifetime_minutes: int | None = None) -> IdPConfig:
        config = IdPConfig()
        config.load(
            {
                "entityid": ENTITY_ID,
                "xmlsec_binary": self.xmlsec,
                "key_file": str(self.key_file),
                "cert_file": str(self.cert_file),
                "metadata": {"inline": [self._sp_metadata]} if self._sp_metadata else {},
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [(SSO_URL, BINDING_HTTP_REDIRECT)],
                        },
                        "policy": {
                            "default": {
                                "lifetime": {"minutes": lifetime_minutes or self.lifetime_minutes},
                                "attribute_restrictions": None,
                            }
                        },
                        "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                        "want_authn_requests_signed": False,
                    }
                },
            }
        )
        return config

    def metadata_xml(self) -> str:
        return str(create_metadata_string(None, config=self._config(), sign=False).decode())

    def trust(self, sp_metadata: str) -> None:
        self._sp_metadata = sp_metadata

    def server(self, lifetime_minutes: int | None = None) -> Server:
        return Server(config=self._config(lifetime_minutes))

    @staticmethod
    def request_of(location: str) -> str:
        """The SAMLRequest the gateway sent the browser to the IdP with."""
        assert location.startswith(SSO_URL), location
        return parse_qs(urlsplit(location).query)["SAMLRequest"][0]

    def answer(
        self,
        location: str,
        *,
        name_id: str,
        attributes: dict[str, list[str]],
        sign_assertion: bool = True,
        destination: str | None = None,
        audience: str | None = None,
        lifetime_minutes: int | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """(the response XML, what it answered) for the request in `location`."""
        server = self.server(lifetime_minutes)
        request = server.parse_authn_request(self.request_of(location), BINDING_HTTP_REDIRECT)
        message = request.message
        acs = destination or message.assertion_consumer_service_url
        response = server.create_authn_response(
            identity=attributes,
            in_response_to=message.id,
            destination=acs,
            sp_entity_id=audience or message.issuer.text,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=name_id),
            authn={"class_ref": PASSWORD},
            sign_assertion=sign_assertion,
            sign_response=False,
        )
        return str(response), {
            "request_id": message.id,
            "acs": message.assertion_consumer_service_url,
        }

    def sign(self, xml: str) -> str:
        """Signs (again) the one assertion in `xml`, which must hold its signature template."""
        assertion_id = re.search(r"<(?:\w+:)?Assertion\s[^>]*\bID=\"([^\"]+)\"", xml)
        assert assertion_id is not None
        server = self.server()
        return str(
            server.sec.sign_statement(
                xml, ASSERTION, key_file=str(self.key_file), node_id=assertion_id.group(1)
            )
        )


def post_form(xml: str) -> dict[str, str]:
    return {"SAMLResponse": base64.b64encode(xml.encode()).decode()}


__all__ = ["BINDING_HTTP_POST", "SamlIdp", "post_form", "saml"]
