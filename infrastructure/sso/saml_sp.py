"""The SAML 2.0 service provider (pysaml2 over Debian's xmlsec1): the SP metadata, the
AuthnRequest (HTTP-Redirect binding), and reading a response posted to the ACS (HTTP-POST).

Assertions must be signed (pysaml2's `want_assertions_signed`, and the structure checks in
`saml_checks`); unsolicited responses are refused. Which request a response answers, and
whether an assertion was seen before, is kept by the caller (single use, shared by replicas):
`read_response` is told the request it may answer only once that request was taken.

The SP's RSA key and self-signed certificate live in two files, generated at first start (the
key mode 0600, never logged, never in the database).

pysaml2 itself is behind `saml_client`, imported on first use or, once a SAML connection is
declared or read, in the background (`load_in_background`): a deployment without SAML never
imports it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime
import importlib
import os
import secrets
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domains.teams.sso import Identity
from infrastructure.sso.saml_checks import ResponseFacts, SamlRefused, check_response
from infrastructure.sso.saml_checks import metadata_entity_id as _metadata_entity_id

if TYPE_CHECKING:  # pysaml2 is imported where SAML is used (seconds of imports)
    from infrastructure.sso import saml_client

MAX_RESPONSE_BYTES = 512 * 1024
EMAIL_ATTRIBUTES = (
    "email",
    "mail",
    "emailAddress",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
)
NAME_ATTRIBUTES = (
    "displayName",
    "name",
    "http://schemas.microsoft.com/identity/claims/displayname",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
)
DEFAULT_GROUPS_ATTRIBUTE = "groups"


def _write_private(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


class SamlServiceProvider:
    def __init__(self, *, key_file: str, cert_file: str, xmlsec_binary: str) -> None:
        self.key_file = key_file
        self.cert_file = cert_file
        self.xmlsec_binary = xmlsec_binary
        self._loading: threading.Thread | None = None

    def ensure_keys(self) -> None:
        """Generates the SP's key and certificate when either file is missing."""
        key_path, cert_path = Path(self.key_file), Path(self.cert_file)
        if key_path.exists() and cert_path.exists():
            return
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FluxRouter SAML SP")])
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_private(key_path, pem, 0o600)
        _write_private(cert_path, certificate.public_bytes(serialization.Encoding.PEM), 0o644)

    def idp_entity_id(self, metadata_xml: str) -> str:
        """ValueError for metadata that is unusable (no entity, no signing certificate). Read
        when a SAML connection is declared, created or changed: pysaml2 is loaded beside."""
        entity_id = _metadata_entity_id(metadata_xml.encode())
        self.load_in_background()
        return entity_id

    def load_in_background(self) -> None:
        """Loads pysaml2 (seconds of imports) in a thread of its own, once: a deployment with
        a SAML connection has it ready for its first sign-in; one without never loads it."""
        if self._loading is None and "infrastructure.sso.saml_client" not in sys.modules:
            self._loading = threading.Thread(
                target=importlib.import_module,
                args=("infrastructure.sso.saml_client",),
                name="saml-load",
                daemon=True,
            )
            self._loading.start()

    def _settings(self, *, entity_id: str, acs_url: str) -> saml_client.SpSettings:
        from infrastructure.sso import saml_client  # pysaml2, on first use

        return saml_client.SpSettings(
            entity_id=entity_id,
            acs_url=acs_url,
            key_file=self.key_file,
            cert_file=self.cert_file,
            xmlsec_binary=self.xmlsec_binary,
        )

    def metadata(self, metadata_xml: str, *, entity_id: str, acs_url: str) -> str:
        from infrastructure.sso import saml_client

        sp = self._settings(entity_id=entity_id, acs_url=acs_url)
        return saml_client.sp_metadata(metadata_xml, sp)

    def authn_request(
        self, metadata_xml: str, *, idp_entity_id: str, entity_id: str, acs_url: str
    ) -> tuple[str, str]:
        """(the request's id, the IdP's URL to send the browser to, carrying the request)."""
        from infrastructure.sso import saml_client

        sp = self._settings(entity_id=entity_id, acs_url=acs_url)
        return saml_client.redirect_request(metadata_xml, sp, idp_entity_id=idp_entity_id)

    @staticmethod
    def decode_response(saml_response: str) -> bytes:
        if len(saml_response) > MAX_RESPONSE_BYTES * 2:
            raise SamlRefused("malformed", "the response is too large")
        try:
            return base64.b64decode(saml_response, validate=False)
        except (binascii.Error, ValueError):
            raise SamlRefused("malformed", "the response is not base64") from None

    @staticmethod
    def facts(xml: bytes, *, acs_url: str, entity_id: str) -> ResponseFacts:
        return check_response(xml, acs_url=acs_url, audience=entity_id)

    def read_response(
        self,
        metadata_xml: str,
        saml_response: str,
        *,
        request_id: str,
        entity_id: str,
        acs_url: str,
        groups_attribute: str | None,
    ) -> Identity:
        """The person a response vouches for, once pysaml2 verified it answers `request_id`."""
        from infrastructure.sso import saml_client

        sp = self._settings(entity_id=entity_id, acs_url=acs_url)
        try:
            response = saml_client.parse_response(
                metadata_xml, sp, saml_response, request_id=request_id
            )
        except Exception as error:  # pysaml2 raises many kinds; none is shown
            raise SamlRefused(_reason_of(error), "the response did not verify") from None
        if response is None or response.assertion is None:
            raise SamlRefused("invalid_response", "the response holds no assertion")
        if not response.assertion.signature:
            raise SamlRefused("unsigned", "the assertion is not signed")
        name_id = response.name_id
        subject = (name_id.text or "").strip() if name_id is not None else ""
        if not subject:
            raise SamlRefused("no_subject", "the assertion names no subject")
        attributes: dict[str, list[Any]] = dict(response.ava or {})
        email = _first(attributes, EMAIL_ATTRIBUTES)
        if email is None and "@" in subject:
            email = subject
        groups = attributes.get(groups_attribute or DEFAULT_GROUPS_ATTRIBUTE, [])
        return Identity(
            subject=subject,
            email=email,
            user_name=email,
            display_name=_first(attributes, NAME_ATTRIBUTES),
            groups=tuple(str(group) for group in groups if isinstance(group, str)),
        )


def _first(attributes: dict[str, list[Any]], names: tuple[str, ...]) -> str | None:
    for name in names:
        values = attributes.get(name)
        if values and isinstance(values[0], str) and values[0].strip():
            return values[0].strip()
    return None


def _reason_of(error: Exception) -> str:
    name = type(error).__name__
    if "Signature" in name or "Signed" in name or "Sigver" in name or "Verification" in name:
        return "bad_signature"
    if name in ("ResponseLifetimeExceed", "ToEarly"):
        return "expired"
    if name in ("UnsolicitedResponse",):
        return "unsolicited"
    return "invalid_response"
