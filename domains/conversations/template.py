"""Prompt templates: chat messages whose text may hold `{{variables}}`.

A variable is `{{name}}` (spaces inside the braces allowed), a name being a letter or `_` then
letters, digits or `_`. Anything else between braces stays as it is. Rendering needs a value
for every variable and refuses values for variables the prompt does not have; values are
inserted as they are and never scanned for variables themselves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from domains.shared.errors import InvalidValue

ROLES = ("system", "developer", "user", "assistant")
MAX_MESSAGES = 100
MAX_TEXT = 100_000
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}")


class TemplateError(InvalidValue):
    """A template or its variables are not valid; `param` names the offending field."""

    def __init__(self, message: str, *, param: str) -> None:
        super().__init__(message)
        self.param = param


def checked(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """The template's messages as stored: `{role, content[, name]}` each, content a string."""
    if not 1 <= len(messages) <= MAX_MESSAGES:
        raise TemplateError(
            f"A prompt has between 1 and {MAX_MESSAGES} messages.", param="messages"
        )
    out = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, Mapping):
            raise TemplateError("A message is an object.", param=where)
        if message.get("role") not in ROLES:
            raise TemplateError(f"`role` is one of {', '.join(ROLES)}.", param=f"{where}.role")
        content = message.get("content")
        if not isinstance(content, str) or not 1 <= len(content) <= MAX_TEXT:
            raise TemplateError(
                f"`content` is a string of 1 to {MAX_TEXT} characters.", param=f"{where}.content"
            )
        unknown = set(message) - {"role", "content", "name"}
        if unknown:
            raise TemplateError(
                f"Unknown field `{sorted(unknown)[0]}`.", param=f"{where}.{sorted(unknown)[0]}"
            )
        kept: dict[str, Any] = {"role": message["role"], "content": content}
        if "name" in message:
            if not isinstance(message["name"], str) or not message["name"]:
                raise TemplateError("`name` is a non-empty string.", param=f"{where}.name")
            kept["name"] = message["name"]
        out.append(kept)
    return out


def variables_of(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """The variables the messages use, sorted."""
    found: set[str] = set()
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            found.update(_VARIABLE.findall(content))
    return sorted(found)


def render(
    messages: Sequence[Mapping[str, Any]], variables: Mapping[str, str]
) -> list[dict[str, Any]]:
    needed = variables_of(messages)
    for name in needed:
        if name not in variables:
            raise TemplateError(
                f"The prompt needs a value for the variable `{name}`.",
                param=f"prompt.variables.{name}",
            )
    for name in variables:
        if name not in needed:
            has = ", ".join(f"`{n}`" for n in needed) or "none"
            raise TemplateError(
                f"The prompt has no variable `{name[:64]}` (it has {has}).",
                param=f"prompt.variables.{name[:64]}",
            )
    rendered = []
    for message in messages:
        copy = dict(message)
        if isinstance(copy.get("content"), str):
            copy["content"] = _VARIABLE.sub(lambda m: variables[m.group(1)], copy["content"])
        rendered.append(copy)
    return rendered
