"""A team's prompt library: prompts with numbered versions whose messages may hold
`{{variables}}`. Everyone in the team's org reads it; owners, admins and members publish and
delete; viewers only read. Publishing adds a version, never changes one.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, delete, get, post

from application.conversations.commands import CreatePrompt, DeletePrompt, PublishPromptVersion
from application.teams.access import no_such, require_prompt_writer
from domains.conversations.prompts import Prompt, PromptVersion
from domains.conversations.template import TemplateError
from infrastructure.queries.directory import TeamView
from infrastructure.queries.prompts import (
    PromptVersionView,
    PromptView,
    prompt_named,
    prompts_of,
    versions_of,
)
from interfaces.http.admin.conversations_schemas import (
    CreatePromptBody,
    PromptDeletedOut,
    PromptDetailOut,
    PromptOut,
    PromptVersionOut,
    PublishPromptBody,
)
from interfaces.http.admin.guard import require_admin
from interfaces.http.dependencies import Bus, Engine, Visible
from interfaces.http.errors import ApiError


def prompt_out(prompt: Prompt | PromptView) -> PromptOut:
    return PromptOut(
        id=prompt.id,
        team_id=prompt.team_id,
        name=prompt.name,
        description=prompt.description,
        latest_version=prompt.latest_version,
        created_at=prompt.created_at,
        updated_at=prompt.updated_at,
    )


def version_out(version: PromptVersion | PromptVersionView) -> PromptVersionOut:
    return PromptVersionOut(
        version=version.version,
        messages=version.messages,
        variables=version.variables,
        created_by=version.created_by,
        created_at=version.created_at,
    )


async def _writable_team(visible: Visible, team_id: str) -> TeamView:
    team = await visible.team(team_id)
    require_prompt_writer(visible.principal)
    return team


async def _prompt(engine: Engine, team_id: str, name: str) -> PromptView:
    found = await prompt_named(engine, team_id, name)
    if found is None:
        raise no_such("prompt")
    return found


async def _handle(bus: Bus, command: Any) -> Any:
    try:
        return await bus.handle(command)
    except TemplateError as error:  # name the offending field in the problem's detail
        raise ApiError(400, f"{error.param}: {error.message}", code="invalid_value") from None


class PromptsController(Controller):
    path = "/admin/v1/teams/{team_id:str}/prompts"
    guards = [require_admin]
    tags = ["Admin: prompt library"]

    @post("", status_code=201, summary="Create a prompt (its version 1)")
    async def create_prompt(
        self, bus: Bus, visible: Visible, team_id: str, data: CreatePromptBody
    ) -> PromptDetailOut:
        team = await _writable_team(visible, team_id)
        prompt: Prompt
        version: PromptVersion
        prompt, version = await _handle(
            bus,
            CreatePrompt(
                org_id=team.org_id,
                team_id=team.id,
                name=data.name,
                messages=data.messages,
                description=data.description,
                actor=visible.principal.actor,
            ),
        )
        return PromptDetailOut(prompt=prompt_out(prompt), versions=[version_out(version)])

    @get("", summary="The team's prompts, by name")
    async def list_prompts(self, engine: Engine, visible: Visible, team_id: str) -> list[PromptOut]:
        team = await visible.team(team_id)
        return [prompt_out(p) for p in await prompts_of(engine, team.id)]

    @get("/{name:str}", summary="A prompt and all its versions, oldest first")
    async def get_prompt(
        self, engine: Engine, visible: Visible, team_id: str, name: str
    ) -> PromptDetailOut:
        team = await visible.team(team_id)
        prompt = await _prompt(engine, team.id, name)
        versions = await versions_of(engine, prompt.id)
        return PromptDetailOut(
            prompt=prompt_out(prompt), versions=[version_out(v) for v in versions]
        )

    @post("/{name:str}/versions", status_code=201, summary="Publish the prompt's next version")
    async def publish_version(
        self,
        bus: Bus,
        engine: Engine,
        visible: Visible,
        team_id: str,
        name: str,
        data: PublishPromptBody,
    ) -> PromptDetailOut:
        team = await _writable_team(visible, team_id)
        found = await _prompt(engine, team.id, name)
        prompt: Prompt
        version: PromptVersion
        prompt, version = await _handle(
            bus,
            PublishPromptVersion(
                prompt_id=found.id,
                messages=data.messages,
                description=data.description,
                actor=visible.principal.actor,
            ),
        )
        return PromptDetailOut(prompt=prompt_out(prompt), versions=[version_out(version)])

    @delete("/{name:str}", status_code=200, summary="Delete a prompt and all its versions")
    async def delete_prompt(
        self, bus: Bus, engine: Engine, visible: Visible, team_id: str, name: str
    ) -> PromptDeletedOut:
        team = await _writable_team(visible, team_id)
        found = await _prompt(engine, team.id, name)
        await _handle(bus, DeletePrompt(prompt_id=found.id, actor=visible.principal.actor))
        return PromptDeletedOut(id=found.id, deleted=True)
