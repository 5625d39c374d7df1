"""Checkpoints as files: one JSON object per file, `checkpoint-<seq, 20 digits>.json`, plus
`latest.json` (a copy of the newest), in a directory meant to be shipped elsewhere: each chain's
in a subdirectory named after the chain (the hash of its genesis row), so the checkpoints of two
databases kept in one directory never mix. Checkpoints written before checkpoints named their
chain are in the directory itself.

Files are written whole (a temporary file renamed into place). Reading accepts a checkpoint
object, an export line `{"checkpoint": {...}}`, or several of either, one per line.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
from pathlib import Path

from domains.audit.checkpoint import Checkpoint

LATEST = "latest.json"
_NAMED = re.compile(r"checkpoint-(\d+)\.json")
_CHAIN = re.compile(r"[0-9a-f]{64}")


def file_name(seq: int) -> str:
    return f"checkpoint-{seq:020d}.json"


def seq_of_file(path: Path) -> int | None:
    """The seq a checkpoint file is named after (None for `latest.json` and other names)."""
    match = _NAMED.fullmatch(path.name)
    return int(match[1]) if match else None


def encode(checkpoint: Checkpoint) -> str:
    return json.dumps(checkpoint.as_dict(), separators=(",", ":")) + "\n"


def parse_checkpoints(content: str) -> list[Checkpoint]:
    """The checkpoints in a file's text. ValueError when any part is not a checkpoint."""
    try:
        records = [json.loads(content)]
    except json.JSONDecodeError:
        records = [json.loads(line) for line in content.splitlines() if line.strip()]
    checkpoints = []
    for record in records:
        wrapped = isinstance(record, dict) and "checkpoint" in record  # an export line
        checkpoints.append(Checkpoint.from_dict(record["checkpoint"] if wrapped else record))
    return checkpoints


def read_checkpoint_file(path: Path) -> list[Checkpoint]:
    """OSError or ValueError (naming nothing but the problem) when it cannot be read."""
    return parse_checkpoints(path.read_text(encoding="utf-8"))


def checkpoint_files(directory: Path) -> list[Path]:
    """The `*.json` files of a checkpoint directory, in name order."""
    return sorted(path for path in directory.glob("*.json") if path.is_file())


def chain_directories(directory: Path) -> list[Path]:
    """The subdirectories of a checkpoint directory that hold a chain's checkpoints."""
    if not directory.is_dir():
        return []
    return sorted(path for path in directory.iterdir() if _CHAIN.fullmatch(path.name))


def read_checkpoint_dir(
    directory: Path, chains: bool = False
) -> tuple[list[Checkpoint], list[tuple[Path, str]]]:
    """Every checkpoint in the directory (`chains`: and in each chain's subdirectory), and the
    files that could not be read (with why). A directory that does not exist holds none."""
    found: list[Checkpoint] = []
    failed: list[tuple[Path, str]] = []
    if not directory.is_dir():
        return found, failed
    paths = checkpoint_files(directory)
    for chain_directory in chain_directories(directory) if chains else []:
        paths += checkpoint_files(chain_directory)
    for path in paths:
        try:
            found.extend(read_checkpoint_file(path))
        except (OSError, ValueError) as error:
            failed.append((path, str(error)))
    return found, failed


def _write_whole(path: Path, content: str) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class CheckpointDirectory:
    """The archive outside the database: a directory of checkpoint files, a subdirectory for
    each chain."""

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory)

    def of_chain(self, chain: str | None) -> Path:
        """Where a chain's checkpoints are (None: those that name no chain)."""
        return self.path / chain if chain is not None else self.path

    def _latest(self, chain: str | None) -> Checkpoint | None:
        latest = self.of_chain(chain) / LATEST
        if not latest.exists():
            return None
        return max(read_checkpoint_file(latest), key=lambda c: c.seq, default=None)

    async def latest(self, chain: str) -> Checkpoint | None:
        """The checkpoint in the chain's `latest.json`; ValueError when that file is not a
        checkpoint."""
        return await asyncio.to_thread(self._latest, chain)

    def _write(self, checkpoint: Checkpoint) -> None:
        directory = self.of_chain(checkpoint.chain)
        directory.mkdir(parents=True, exist_ok=True)
        content = encode(checkpoint)
        _write_whole(directory / file_name(checkpoint.seq), content)
        current = self._latest_or_none(checkpoint.chain)  # another chain's is replaced
        if current is None or current.chain != checkpoint.chain or current.seq <= checkpoint.seq:
            _write_whole(directory / LATEST, content)

    def _latest_or_none(self, chain: str | None) -> Checkpoint | None:
        try:
            return self._latest(chain)
        except (OSError, ValueError):
            return None

    async def write(self, checkpoint: Checkpoint) -> None:
        await asyncio.to_thread(self._write, checkpoint)

    def read_all(self, chain: str | None) -> tuple[list[Checkpoint], list[tuple[Path, str]]]:
        """The checkpoints of this chain's subdirectory and those in the directory itself."""
        found, failed = read_checkpoint_dir(self.path)
        if chain is not None:
            more, more_failed = read_checkpoint_dir(self.of_chain(chain))
            found, failed = found + more, failed + more_failed
        return found, failed

    def other_chains(self, chain: str | None) -> list[str]:
        """The chains other than this one that have a subdirectory here."""
        return [path.name for path in chain_directories(self.path) if path.name != chain]
