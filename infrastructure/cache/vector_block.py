"""One partition's vectors in this process: a matrix of normalised float32 rows searched by
brute force (one matrix-vector product: ~1 ms for 100,000 rows of 256 dimensions), bounded by
`capacity` rows (grown by doubling: a partition of one question holds a few rows); past it,
the oldest row is overwritten.

The product runs on one thread: BLAS's own threads, on a machine busy with requests, wait for
cores and turn a 0.2 ms search into tens of milliseconds at the 99th percentile (measured on 2
busy cores: p99 28 ms with its threads, 4 ms without). Set before numpy loads (the gateway
loads it only here and in the embeddings model); an operator's own setting wins."""

from __future__ import annotations

import os
import sys

if "numpy" not in sys.modules:
    for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_name, "1")

import numpy as np


class VectorBlock:
    def __init__(self, capacity: int, dimensions: int | None = None) -> None:
        """`dimensions`: those of the first vector added, when not given (a provider's model
        has its own)."""
        self.capacity = capacity
        self._rows = np.zeros((min(capacity, 4), dimensions or 0), dtype=np.float32)
        self._expires = np.zeros(len(self._rows), dtype=np.float64)
        self._keys: list[str] = []
        self._slots: dict[str, int] = {}
        self._next = 0  # the slot written next once full (the oldest)

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def nbytes(self) -> int:
        return int(self._rows.nbytes + self._expires.nbytes)

    def add(self, vector: bytes, key: str, expires: float) -> None:
        row = np.frombuffer(vector, dtype=np.float32)
        if not self._keys and self._rows.shape[1] != len(row):
            self._rows = np.zeros((len(self._rows), len(row)), dtype=np.float32)
        if row.shape != (self._rows.shape[1],):
            return  # (another model's vector)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._free_slot()
            if slot < len(self._keys):
                del self._slots[self._keys[slot]]
                self._keys[slot] = key
            else:
                self._keys.append(key)
            self._slots[key] = slot
        self._rows[slot] = row
        self._expires[slot] = expires

    def _free_slot(self) -> int:
        count = len(self._keys)
        if count < self.capacity:
            if count == len(self._rows):
                grown = min(self.capacity, 2 * count)
                self._rows = np.resize(self._rows, (grown, self._rows.shape[1]))
                self._expires = np.resize(self._expires, grown)
            return count
        slot = self._next
        self._next = (slot + 1) % self.capacity
        return slot

    def nearest(self, vector: bytes, now: float) -> tuple[str, float] | None:
        count = len(self._keys)
        if not count:
            return None
        query = np.frombuffer(vector, dtype=np.float32)
        if query.shape != (self._rows.shape[1],):
            return None
        similarities = self._rows[:count] @ query
        similarities[self._expires[:count] <= now] = -2.0
        best = int(np.argmax(similarities))
        similarity = float(similarities[best])
        if similarity < -1.0:
            return None
        return self._keys[best], min(similarity, 1.0)
