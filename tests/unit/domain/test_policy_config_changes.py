"""A changed routing policy is named in the configuration audit: the rule added, removed or
changed, or the order; a configuration without policies sums up as it always did."""

from __future__ import annotations

import msgspec

from domains.providers.config_change import changes
from infrastructure.settings import Settings
from interfaces.config_summary import summary_of


def settings(*rules: dict[str, object]) -> Settings:
    return msgspec.convert({"routing": {"policies": list(rules)}}, Settings)


PII = {"name": "pii", "match": {"tags": "pii"}, "effects": {"pin": "self_hosted"}}
CAP = {"name": "cap", "effects": {"max_tokens": 100}, "continue": True}


def test_no_policies_leave_the_summary_as_it_was() -> None:
    assert "policies" not in summary_of(settings())


def test_each_rule_change_is_named() -> None:
    before = summary_of(settings(PII, CAP))
    assert before["policies"]["order"] == ["pii", "cap"]
    assert before["policies"]["rules"]["cap"]["continue"] is True
    same = summary_of(settings(PII, CAP))
    assert changes(before, same) == {"added": [], "removed": [], "changed": []}
    lowered = {**CAP, "effects": {"max_tokens": 50}}
    interns = {"name": "interns", "effects": {"force_model": "llama3"}}
    after = summary_of(settings(lowered, interns))
    assert changes(before, after) == {
        "added": ["policies/interns"],
        "removed": ["policies/pii"],
        "changed": ["policies/cap"],
    }
    assert changes(before, summary_of(settings(CAP, PII)))["changed"] == ["policies.order"]
    assert changes(before, summary_of(settings()))["removed"] == ["policies/cap", "policies/pii"]
    assert {"policies/cap", "policies/pii", "billing"} <= set(changes(None, before)["added"])
