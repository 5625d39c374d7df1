"""What the audit context needs from the outside world."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from domains.audit.chain import AuditRow
from domains.audit.checkpoint import Checkpoint


class AuditLog(Protocol):
    async def lock_head(self, event_ids: Iterable[str]) -> tuple[tuple[int, str] | None, set[str]]:
        """Serialise appends to the chain; then give the head (seq, hash), or None when empty,
        and the ids among `event_ids` already appended (replays append nothing), both read
        under the lock."""
        ...

    async def append_all(self, rows: Sequence[tuple[AuditRow, str | None]]) -> None:
        """Appends the rows (each with the event it records), in order, in one go."""
        ...


class CheckpointLog(Protocol):
    """The chain as the checkpoint writer sees it, and the checkpoints stored beside it."""

    async def head(self) -> tuple[int, str] | None:
        """The newest row's (seq, hash), or None when the log is empty."""
        ...

    async def row_at(self, seq: int) -> AuditRow | None: ...

    def rows(self, from_seq: int, to_seq: int) -> AsyncIterator[AuditRow]:
        """The rows from `from_seq` to `to_seq` (both included), in seq order."""
        ...

    async def latest(self) -> Checkpoint | None:
        """The stored checkpoint with the highest seq."""
        ...

    async def add(
        self, checkpoint: Checkpoint, also: Callable[[Checkpoint], Awaitable[None]]
    ) -> bool:
        """Stores the checkpoint, running `also` before the commit; False (nothing stored) when
        another process is storing one or has already anchored this seq or a later one."""
        ...


class CheckpointArchive(Protocol):
    """Where checkpoints are kept outside the database, each chain's apart."""

    async def latest(self, chain: str) -> Checkpoint | None:
        """The newest checkpoint kept for this chain (it may name another, if put there)."""
        ...

    async def write(self, checkpoint: Checkpoint) -> None:
        """Keeps the checkpoint with the others of its chain."""
        ...


class CheckpointSigner(Protocol):
    @property
    def key_id(self) -> str: ...

    def sign(self, payload: bytes) -> str:
        """The base64 Ed25519 signature of `payload`."""
        ...

    def check(self, checkpoint: Checkpoint) -> str | None:
        """None when this key signed the checkpoint, else why not."""
        ...
