"""What a SAML response must look like before its signature is even checked.

pysaml2 verifies signatures with xmlsec1 and the conditions it knows of; these checks close what
it leaves open, on the raw document, refusing:

- any DOCTYPE or entity declaration (entity expansion, external entities);
- any XML comment (a comment inside a NameID, say `admin@corp.com<!---->.evil.com`, is dropped
  by the canonicalization the signature covers, so the signature holds while a careless reader
  would see a shorter name);
- anything but exactly one assertion, a direct child of the response, whose own enveloped
  signature references it by its ID; duplicate IDs; a response signature that references
  something else (the signature wrapping variants, which move a signed element aside and put
  a forged one where the reader looks);
- an encrypted assertion (the service provider publishes no encryption key);
- an assertion without Conditions or without an Audience, one for another audience, one not
  sent to this ACS (Destination, Recipient), or one outside its validity window.

These refuse only; whatever is accepted is accepted after pysaml2 verified the signature over
that very assertion.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import Element, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
CLOCK_SKEW = 60.0
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class SamlRefused(Exception):
    """`reason` is a short code for the audit log; the message never quotes the document."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class ResponseFacts:
    in_response_to: str | None
    assertion_id: str
    not_on_or_after: float  # Unix time: the assertion's end, for the replay cache


def _tag(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _parse(xml: bytes) -> Element:
    if _DECLARATION.search(xml):
        raise SamlRefused("doctype", "the response declares a DOCTYPE or entities")
    parser = DefusedXMLParser(
        target=TreeBuilder(insert_comments=True, insert_pis=True),
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )
    try:
        parser.feed(xml)
        root: Element = parser.close()
    except DefusedXmlException:
        raise SamlRefused("doctype", "the response declares a DOCTYPE or entities") from None
    except (ParseError, ValueError):
        raise SamlRefused("malformed", "the response is not well-formed XML") from None
    return root


def _instant(value: str | None, what: str) -> float:
    if not value:
        raise SamlRefused("invalid_response", f"the assertion has no {what}")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise SamlRefused("invalid_response", f"the assertion's {what} is not a time") from None


def _signature_references(signature: Element) -> list[str]:
    return [reference.get("URI", "") for reference in signature.iter(_tag(DS, "Reference"))]


def _check_structure(root: Element) -> Element:
    if any(not isinstance(node.tag, str) for node in root.iter()):
        raise SamlRefused("xml_comment", "the response holds XML comments or instructions")
    if root.tag != _tag(SAMLP, "Response"):
        raise SamlRefused("malformed", "the document is not a SAML response")
    ids = [node.get("ID") for node in root.iter() if node.get("ID") is not None]
    if len(ids) != len(set(ids)):
        raise SamlRefused("signature_wrapping", "the response repeats an ID")
    if any(True for _ in root.iter(_tag(SAML, "EncryptedAssertion"))):
        raise SamlRefused("encrypted_assertion", "encrypted assertions are not supported")
    assertions = list(root.iter(_tag(SAML, "Assertion")))
    children = root.findall(_tag(SAML, "Assertion"))
    if len(assertions) != 1 or len(children) != 1:
        raise SamlRefused("signature_wrapping", "the response must hold exactly one assertion")
    assertion = children[0]
    signatures = assertion.findall(_tag(DS, "Signature"))
    if len(signatures) != 1:
        raise SamlRefused("unsigned", "the assertion is not signed")
    if _signature_references(signatures[0]) != [f"#{assertion.get('ID', '')}"]:
        raise SamlRefused("signature_wrapping", "the assertion's signature signs something else")
    if len(list(root.iter(_tag(DS, "Signature")))) != 1 + len(root.findall(_tag(DS, "Signature"))):
        raise SamlRefused("signature_wrapping", "a signature is where none belongs")
    for signature in root.findall(_tag(DS, "Signature")):
        if _signature_references(signature) != [f"#{root.get('ID', '')}"]:
            raise SamlRefused("signature_wrapping", "the response's signature signs something else")
    return assertion


def check_response(
    xml: bytes, *, acs_url: str, audience: str, now: float | None = None
) -> ResponseFacts:
    """The facts pysaml2 is then asked to verify; SamlRefused for anything refused here."""
    now = time.time() if now is None else now
    root = _parse(xml)
    assertion = _check_structure(root)
    if root.get("Destination") != acs_url:
        raise SamlRefused("wrong_destination", "the response was sent to another destination")
    conditions = assertion.find(_tag(SAML, "Conditions"))
    if conditions is None:
        raise SamlRefused("no_conditions", "the assertion has no Conditions")
    audiences = [node.text or "" for node in conditions.iter(_tag(SAML, "Audience"))]
    if not audiences:
        raise SamlRefused("no_audience", "the assertion names no audience")
    if audience not in audiences:
        raise SamlRefused("wrong_audience", "the assertion is for another audience")
    ends = _instant(conditions.get("NotOnOrAfter"), "NotOnOrAfter")
    if now >= ends + CLOCK_SKEW:
        raise SamlRefused("expired", "the assertion has expired")
    starts = conditions.get("NotBefore")
    if starts is not None and now + CLOCK_SKEW < _instant(starts, "NotBefore"):
        raise SamlRefused("not_yet_valid", "the assertion is not valid yet")
    confirmations = list(assertion.iter(_tag(SAML, "SubjectConfirmationData")))
    if not confirmations:
        raise SamlRefused("invalid_response", "the assertion has no subject confirmation")
    for data in confirmations:
        if data.get("Recipient") != acs_url:
            raise SamlRefused("wrong_recipient", "the assertion is for another recipient")
        if now >= _instant(data.get("NotOnOrAfter"), "confirmation NotOnOrAfter") + CLOCK_SKEW:
            raise SamlRefused("expired", "the assertion's subject confirmation has expired")
    return ResponseFacts(
        in_response_to=root.get("InResponseTo"),
        assertion_id=assertion.get("ID", ""),
        not_on_or_after=ends,
    )


def metadata_entity_id(xml: bytes) -> str:
    """The identity provider's entity id in its metadata, which must be usable: one entity with
    an IdP SSO descriptor and a signing certificate."""
    md = "urn:oasis:names:tc:SAML:2.0:metadata"
    try:
        root = _parse(xml)
    except SamlRefused as refused:
        raise ValueError(f"the IdP metadata is refused: {refused.message}") from None
    entities = (
        [root]
        if root.tag == _tag(md, "EntityDescriptor")
        else root.findall(_tag(md, "EntityDescriptor"))
    )
    if len(entities) != 1 or not entities[0].get("entityID"):
        raise ValueError("the IdP metadata must describe exactly one entity")
    idp = entities[0].find(_tag(md, "IDPSSODescriptor"))
    if idp is None:
        raise ValueError("the IdP metadata has no IDPSSODescriptor")
    certificates = [
        key for key in idp.findall(_tag(md, "KeyDescriptor")) if key.get("use") in (None, "signing")
    ]
    if not certificates:
        raise ValueError("the IdP metadata has no signing certificate")
    return str(entities[0].get("entityID"))
