"""An org's sign-in domains: what a declaration keeps, refuses, and audits."""

from __future__ import annotations

import pytest

from application.audit.formatting import audit_facts
from domains.shared.errors import InvalidValue
from domains.teams.events import OrgSignInDomainsSet
from domains.teams.model import Org
from domains.teams.sign_in_domains import declare, is_declared


def test_domains_are_kept_lower_cased_once_and_audited() -> None:
    org = Org.create("Acme", actor="admin")
    org.pull_events()
    assert declare(org, ["Acme.COM", "acme.com.", "eu.acme.com"], actor="user:u-1")
    (event,) = org.pull_events()
    assert isinstance(event, OrgSignInDomainsSet)
    assert audit_facts(event).data == {"domains": ["acme.com", "eu.acme.com"]}
    assert not declare(org, ["acme.com", "eu.acme.com"], actor="user:u-1")
    assert org.pull_events() == []
    assert is_declared(org, "Ada@ACME.com")
    assert not is_declared(org, "ada@mail.acme.com")  # a subdomain is another domain
    assert not is_declared(org, "ada@acme.com.evil.test")
    assert not is_declared(org, None)


@pytest.mark.parametrize(
    "domain", ["*.acme.com", "acme", "acme..com", "-acme.com", "acme.com/x", "a@acme.com", ""]
)
def test_what_is_not_a_domain_is_refused(domain: str) -> None:
    with pytest.raises(InvalidValue):
        declare(Org.create("Acme", actor="admin"), [domain], actor="admin")
