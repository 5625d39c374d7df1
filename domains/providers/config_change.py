"""What the operator's configuration says about the gateway, with every secret left out, and
how two such summaries differ: the audit log records each change of configuration once.

A summary maps each provider to its kind, address, whether it has an API key (never the key,
nor a hash of it) and its models with their upstream names, prices and output limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

Summary = Mapping[str, Any]


def changes(previous: Summary | None, current: Summary) -> dict[str, list[str]]:
    """Providers and models added, removed or changed ("provider" or "provider/model")."""
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
    old_sections = {k: v for k, v in (previous or {}).items() if k != "providers"}
    new_sections = {k: v for k, v in current.items() if k != "providers"}
    added += sorted(set(new_sections) - set(old_sections))
    removed += sorted(set(old_sections) - set(new_sections))
    changed += sorted(
        k for k in set(old_sections) & set(new_sections) if old_sections[k] != new_sections[k]
    )
    return {"added": added, "removed": removed, "changed": changed}


class ConfigRecord(Protocol):
    """The summary of the configuration the gateway last started with."""

    async def current(self) -> Summary | None: ...

    async def replace(self, previous: Summary | None, current: Summary) -> bool:
        """Stores `current` if the stored one is still `previous`; False if another process
        got there first (it records the change, this one does not)."""
        ...
