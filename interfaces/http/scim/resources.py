"""SCIM resources to and from what the teams context keeps.

A person's SCIM attributes are kept as the directory sent them (never a password); the gateway
reads its own columns from them: the login name, the active flag, the external id, an email
address (the primary one, else a work one, else the first, else the login name if it is an
address) and a display name (`displayName`, else `name.formatted`, else given and family names).
"""

from __future__ import annotations

from typing import Any

from scim2_models import InvalidValueException, Resource

from domains.shared.errors import DomainError
from domains.teams.directory import Entry
from infrastructure.queries.scim import GroupRecord, UserRecord

NOT_KEPT = ("id", "meta", "password", "groups")  # given by the gateway, or never stored


def version_tag(version: int) -> str:
    return f'W/"{version}"'


def version_of(tag: str | None) -> int | None:
    """The version number in an ETag the gateway gave out; None for anything else."""
    if tag is None:
        return None
    digits = tag.removeprefix("W/").strip('"')
    return int(digits) if digits.isdigit() and len(digits) < 19 else None


def _primary_email(user: Any) -> str | None:
    emails = [email for email in user.emails or [] if email.value]
    for wanted in (
        lambda email: email.primary,
        lambda email: str(email.type or "").lower() == "work",
        lambda email: True,
    ):
        for email in emails:
            if wanted(email):
                return str(email.value)
    name = user.user_name or ""
    return name if "@" in name and " " not in name else None


def _display_name(user: Any) -> str | None:
    if user.display_name:
        return str(user.display_name)
    if user.name is not None:
        if user.name.formatted:
            return str(user.name.formatted)
        parts = [part for part in (user.name.given_name, user.name.family_name) if part]
        if parts:
            return " ".join(str(part) for part in parts)
    return None


def entry_of(user: Any) -> Entry:
    """What the directory says of a person, from a validated SCIM User."""
    if not user.user_name:
        raise InvalidValueException(detail="userName is required")
    attributes = user.model_dump(mode="json")
    for name in NOT_KEPT:
        attributes.pop(name, None)
    try:
        return Entry(
            user_name=str(user.user_name),
            active=True if user.active is None else bool(user.active),
            email=_primary_email(user),
            display_name=_display_name(user),
            external_id=user.external_id,
            attributes=attributes,
        )
    except DomainError as exc:
        raise InvalidValueException(detail=exc.message) from exc


def _meta(resource_type: str, record: UserRecord | GroupRecord) -> dict[str, Any]:
    return {
        "resourceType": resource_type,
        "created": record.created_at.isoformat(),
        "lastModified": (record.updated_at or record.created_at).isoformat(),
        "version": version_tag(record.version),
    }


def user_resource(
    model: type[Resource[Any]], record: UserRecord, groups: list[tuple[str, str]]
) -> Resource[Any]:
    document = dict(record.attributes)
    document.update(id=record.id, userName=record.user_name, meta=_meta("User", record))
    if "active" in record.attributes or not record.active:  # absent reads as active
        document["active"] = record.active
    if record.external_id is not None:
        document["externalId"] = record.external_id
    else:
        document.pop("externalId", None)
    if groups:
        document["groups"] = [
            {"value": group_id, "$ref": f"Groups/{group_id}", "display": name, "type": "direct"}
            for group_id, name in groups
        ]
    return model.model_validate(document)


def group_resource(model: type[Resource[Any]], record: GroupRecord) -> Resource[Any]:
    document: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": record.id,
        "displayName": record.display_name,
        "meta": _meta("Group", record),
    }
    if record.external_id is not None:
        document["externalId"] = record.external_id
    if record.members:
        document["members"] = [
            {"value": user_id, "$ref": f"Users/{user_id}", "type": "User"}
            | ({"display": display} if display is not None else {})
            for user_id, display in record.members
        ]
    return model.model_validate(document)


def members_of(group: Any) -> tuple[tuple[str, str | None], ...]:
    """(user id, label) of each member a SCIM Group names; groups as members are refused."""
    members: dict[str, str | None] = {}
    for member in group.members or []:
        if str(member.type or "User").lower() not in ("user", ""):
            raise InvalidValueException(detail="only users may be members of a group")
        value = member.value or (
            str(member.ref).rstrip("/").rsplit("/", 1)[-1] if member.ref else None
        )
        if not value:
            raise InvalidValueException(detail="a member needs a value (a user id)")
        display = str(member.display) if member.display is not None else None
        if "\x00" in str(value) or (
            display is not None and ("\x00" in display or len(display) > 300)
        ):
            raise InvalidValueException(detail="a member's value or display is not valid")
        members[str(value)] = display
    return tuple(members.items())
