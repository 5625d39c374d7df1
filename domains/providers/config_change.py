"""What the operator's configuration says about the gateway, with every secret left out, and
how two such summaries differ: the audit log records each change of configuration once.

A summary maps each provider to its kind, address, whether it has an API key (never the key,
nor a hash of it) and its models with their upstream names, prices and output limits; and, when
any are configured, the routing policies (`policies`: their `order` and each rule by name).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

Summary = Mapping[str, Any]


def changes(previous: Summary | None, current: Summary) -> dict[str, list[str]]:
    """Providers and models added, removed or changed ("provider" or "provider/model"), routing
    policy rules likewise ("policies/rule", and "policies.order" when the same rules are
    reordered), and other sections by name."""
    before: Mapping[str, Any] = (previous or {}).get("providers", {})
    after: Mapping[str, Any] = current.get("providers", {})
    added: list[str] = []
    for name in sorted(set(after) - set(before)):
        added += [name, *(f"{name}/{m}" for m in sorted(after[name].get("models", {})))]
    removed = sorted(set(before) - set(after))
    changed: list[str] = []
    for name in sorted(set(before) & set(after)):
        old, new = dict(before[name]), dict(after[name])
        old_models, new_models = old.pop("models", {}), new.pop("models", {})
        if old != new:
            changed.append(name)
        added += [f"{name}/{m}" for m in sorted(set(new_models) - set(old_models))]
        removed += [f"{name}/{m}" for m in sorted(set(old_models) - set(new_models))]
        changed += [
            f"{name}/{m}"
            for m in sorted(set(old_models) & set(new_models))
            if old_models[m] != new_models[m]
        ]
    _policy_changes(
        (previous or {}).get("policies"), current.get("policies"), added, removed, changed
    )
    skipped = ("providers", "policies")
    old_sections = {k: v for k, v in (previous or {}).items() if k not in skipped}
    new_sections = {k: v for k, v in current.items() if k not in skipped}
    added += sorted(set(new_sections) - set(old_sections))
    removed += sorted(set(old_sections) - set(new_sections))
    changed += sorted(
        k for k in set(old_sections) & set(new_sections) if old_sections[k] != new_sections[k]
    )
    return {"added": added, "removed": removed, "changed": changed}


def _policy_changes(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    added: list[str],
    removed: list[str],
    changed: list[str],
) -> None:
    old: Mapping[str, Any] = (before or {}).get("rules", {})
    new: Mapping[str, Any] = (after or {}).get("rules", {})
    added += [f"policies/{name}" for name in sorted(set(new) - set(old))]
    removed += [f"policies/{name}" for name in sorted(set(old) - set(new))]
    changed += [
        f"policies/{name}" for name in sorted(set(old) & set(new)) if old[name] != new[name]
    ]
    kept_before = [name for name in (before or {}).get("order", []) if name in new]
    kept_after = [name for name in (after or {}).get("order", []) if name in old]
    if kept_before != kept_after:  # the rules both have, in another order: another outcome
        changed.append("policies.order")


class ConfigRecord(Protocol):
    """The summary of the configuration the gateway last started with."""

    async def current(self) -> Summary | None: ...

    async def replace(self, previous: Summary | None, current: Summary) -> bool:
        """Stores `current` if the stored one is still `previous`; False if another process
        got there first (it records the change, this one does not)."""
        ...
