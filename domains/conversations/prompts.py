"""The prompt library: a team's shared prompts, each a name with numbered versions.

Publishing never changes a version: it adds the next one. A chat names a prompt and gets its
latest version unless it names one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domains.conversations.events import PromptDeleted, PromptPublished
from domains.conversations.template import checked, variables_of
from domains.shared.aggregate import Aggregate
from domains.shared.clock import utcnow
from domains.shared.ids import new_id


@dataclass(frozen=True, slots=True)
class PromptVersion:
    prompt_id: str
    version: int
    messages: list[dict[str, Any]]
    variables: list[str]
    created_by: str
    created_at: datetime = field(default_factory=utcnow)


@dataclass(eq=False)
class Prompt(Aggregate):
    id: str
    org_id: str
    team_id: str
    name: str
    description: str | None = None
    latest_version: int = 0
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        Aggregate.__init__(self)

    @classmethod
    def create(
        cls,
        *,
        org_id: str,
        team_id: str,
        name: str,
        description: str | None,
        messages: Sequence[Any],
        actor: str,
    ) -> tuple[Prompt, PromptVersion]:
        prompt = cls(
            id=new_id(), org_id=org_id, team_id=team_id, name=name, description=description
        )
        return prompt, prompt.publish(messages, actor=actor)

    def publish(
        self, messages: Sequence[Any], *, actor: str, description: str | None = None
    ) -> PromptVersion:
        """The next version (TemplateError for messages that are not a valid template)."""
        kept = checked(messages)
        self.latest_version += 1
        self.updated_at = utcnow()
        if description is not None:
            self.description = description
        version = PromptVersion(
            prompt_id=self.id,
            version=self.latest_version,
            messages=kept,
            variables=variables_of(kept),
            created_by=actor,
        )
        self.record(
            PromptPublished(
                prompt_id=self.id,
                org_id=self.org_id,
                team_id=self.team_id,
                name=self.name,
                version=version.version,
                variables=version.variables,
                actor=actor,
            )
        )
        return version

    def delete(self, *, actor: str) -> None:
        self.record(
            PromptDeleted(
                prompt_id=self.id,
                org_id=self.org_id,
                team_id=self.team_id,
                name=self.name,
                versions=self.latest_version,
                actor=actor,
            )
        )
