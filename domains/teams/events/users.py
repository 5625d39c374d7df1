"""People of an org: created, changed, renamed by the identity provider, deleted."""

from __future__ import annotations

from domains.shared.events import Event


class UserCreated(Event, frozen=True, kw_only=True, tag=True):
    user_id: str
    org_id: str
    email: str | None  # None: a person provisioned without an address
    display_name: str | None
    role: str
    active: bool
    external_id: str | None
    actor: str
    user_name: str | None = None  # the identity provider's login name (SCIM)


class UserChanged(Event, frozen=True, kw_only=True, tag=True):
    """A user's role, active flag or display name changed: the values after, and which changed."""

    user_id: str
    org_id: str
    role: str
    active: bool
    display_name: str | None
    changed: tuple[str, ...]
    actor: str


class UserIdentityChanged(Event, frozen=True, kw_only=True, tag=True):
    """The identity provider changed how it names a person: the values after, and which
    changed (`user_name`, `email`, `external_id`)."""

    user_id: str
    org_id: str
    user_name: str | None
    email: str | None
    external_id: str | None
    changed: tuple[str, ...]
    actor: str


class UserDeleted(Event, frozen=True, kw_only=True, tag=True):
    """Deprovisioned: the person is gone from the directory. The row stays (usage and audit
    rows name it), refused everywhere, with its login name and email free for someone else."""

    user_id: str
    org_id: str
    actor: str


EVENTS: tuple[type[Event], ...] = (
    UserCreated,
    UserChanged,
    UserIdentityChanged,
    UserDeleted,
)
