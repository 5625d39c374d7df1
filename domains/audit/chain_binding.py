"""Which checkpoints belong to a chain.

A chain is named by the hash of its genesis row (seq 1), and every checkpoint names the chain it
was signed for (its `chain`, covered by the signature). Checkpoints of other chains (another
database's, found in the same directory) are not evidence about this one: they are set aside
with a note, never read as a rewrite. A checkpoint written before checkpoints named their chain
(no `chain`) is taken as this chain's only where the chain has its row with its hash.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from domains.audit.checkpoint import Checkpoint, Finding

_SHOWN = 5


@dataclass(frozen=True, slots=True)
class Bound:
    own: list[Checkpoint]
    """The checkpoints of this chain."""
    notes: list[str]
    """One line for each kind of checkpoint set aside."""


def bind_to_chain(
    checkpoints: Iterable[Checkpoint], chain: str | None, hash_at: Mapping[int, str]
) -> Bound:
    """Sorts checkpoints into this chain's and the others; `hash_at` holds the chain's hash at
    the seq of each checkpoint that names no chain (where the chain has such a row)."""
    own: list[Checkpoint] = []
    foreign: dict[str, set[int]] = defaultdict(set)
    unmatched: set[int] = set()
    for checkpoint in set(checkpoints):
        if checkpoint.chain is None:
            if hash_at.get(checkpoint.seq) == checkpoint.hash:
                own.append(checkpoint)
            else:
                unmatched.add(checkpoint.seq)
        elif checkpoint.chain == chain:
            own.append(checkpoint)
        else:
            foreign[checkpoint.chain].add(checkpoint.seq)
    this = f"this chain ({chain})" if chain is not None else "this chain (no rows yet)"
    notes = [
        f"{_count(seqs)} of another chain ({other}) at {_seqs(seqs)}, not of {this}: not used"
        for other, seqs in sorted(foreign.items())
    ]
    if unmatched:
        notes.append(
            f"{_count(unmatched)} naming no chain (written before checkpoints named their chain) "
            f"at {_seqs(unmatched)} not matching {this}'s rows: not used (another chain's, or "
            "this chain's before a rewrite)"
        )
    return Bound(sorted(own, key=lambda c: (c.seq, c.signature)), notes)


def stored_for_another_chain(checkpoint: Checkpoint, chain: str | None) -> Finding:
    """A checkpoint stored beside the chain (in its database) that names another chain: the
    chain's first row is no longer the one that was signed."""
    return Finding(
        1,
        f"the checkpoint stored at seq {checkpoint.seq} is of chain {checkpoint.chain}, but this "
        f"chain's genesis row hashes to {chain or '(no row)'} (the chain was rewritten from its "
        "first row)",
    )


def _count(seqs: set[int]) -> str:
    return "1 checkpoint" if len(seqs) == 1 else f"{len(seqs)} checkpoints"


def _seqs(seqs: set[int]) -> str:
    ordered = sorted(seqs)
    shown = ", ".join(str(seq) for seq in ordered[:_SHOWN])
    more = f" and {len(ordered) - _SHOWN} more" if len(ordered) > _SHOWN else ""
    return f"seq {shown}{more}"
