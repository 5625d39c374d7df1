"""The e-mail domains an org declares it owns, and what a sign-in may do with them.

A sign-in through SSO that finds an existing person of the org by their address links the
identity provider's subject to them only when the connection may: the person was provisioned
by the org's directory (SCIM), or their address is of a domain the org declares here. The
declaration is the org owner's (or the operator's) word: FluxRouter does not look the domain up
in DNS. It is what keeps a connection to an identity provider someone else controls from
claiming people merely by naming their address.
"""

from __future__ import annotations

import re
from typing import Final

from domains.shared.errors import InvalidValue
from domains.teams.events import OrgSignInDomainsSet
from domains.teams.model import Org

MAX_DOMAINS: Final = 50
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+[a-z][a-z0-9-]{{0,61}}[a-z0-9]")


def checked_domains(domains: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Lower-cased, without duplicates, each a host name of two labels or more; else
    InvalidValue (400)."""
    if len(domains) > MAX_DOMAINS:
        raise InvalidValue(f"at most {MAX_DOMAINS} domains")
    found: list[str] = []
    for domain in domains:
        name = domain.strip().lower().rstrip(".")
        if len(name) > 253 or not _DOMAIN.fullmatch(name):
            raise InvalidValue("each domain must be a host name like example.com (no wildcard)")
        found.append(name)
    return tuple(dict.fromkeys(found))


def declare(org: Org, domains: list[str] | tuple[str, ...], *, actor: str) -> bool:
    """Makes `domains` the org's sign-in domains; False when they already were."""
    org.require_live()
    wanted = checked_domains(domains)
    if wanted == org.sign_in_domains:
        return False
    org.sign_in_domains = wanted
    org.record(OrgSignInDomainsSet(org_id=org.id, domains=wanted, actor=actor))
    return True


def domain_of(email: str) -> str:
    return email.rpartition("@")[2].strip().lower().rstrip(".")


def is_declared(org: Org, email: str | None) -> bool:
    """Whether the address is of one of the org's sign-in domains (exactly: a subdomain is
    another domain)."""
    return email is not None and domain_of(email) in org.sign_in_domains
