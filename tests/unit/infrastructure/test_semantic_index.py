"""The semantic cache's vectors in memory: the nearest row is the most similar (as a plain
Python search finds it), bounded per partition (the oldest overwritten) and in all (the least
recently used partitions go), an expired row never found; and the static model's embeddings
(loaded from the `wordllama` package, nothing downloaded) put a paraphrase near its question
and a near-miss far."""

from __future__ import annotations

import math
import socket

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.cache.semantic_memory import MemorySemanticIndex
from infrastructure.cache.vector_block import VectorBlock


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def unit(values: list[float]) -> bytes:
    array = np.asarray(values, dtype=np.float32)
    return (array / np.linalg.norm(array)).astype(np.float32).tobytes()


vectors = st.lists(st.floats(-1, 1, allow_nan=False, width=32), min_size=4, max_size=4).filter(
    lambda values: math.sqrt(sum(v * v for v in values)) > 0.1
)


@settings(max_examples=60, deadline=None)
@given(st.lists(vectors, min_size=1, max_size=30), vectors)
def test_the_nearest_row_is_the_most_similar(rows: list[list[float]], query: list[float]) -> None:
    block = VectorBlock(capacity=100, dimensions=4)
    for index, row in enumerate(rows):
        block.add(unit(row), f"k{index}", expires=10)
    found = block.nearest(unit(query), now=0)
    assert found is not None
    q = np.frombuffer(unit(query), dtype=np.float32)
    expected = [float(np.frombuffer(unit(row), dtype=np.float32) @ q) for row in rows]
    assert found[1] == pytest.approx(max(expected), abs=1e-5)
    assert expected[int(found[0][1:])] == pytest.approx(max(expected), abs=1e-5)


def test_a_full_block_overwrites_its_oldest_row() -> None:
    block = VectorBlock(capacity=3, dimensions=4)
    for index in range(5):
        block.add(unit([1, index, 0, 0]), f"k{index}", expires=10)
    assert len(block) == 3
    assert block.nearest(unit([1, 0, 0, 0]), now=0) == ("k2", pytest.approx(block_sim(2, 0)))
    block.add(unit([1, 4, 0, 0]), "k4", expires=10)  # the same key: rewritten in place
    assert len(block) == 3


def block_sim(a: int, b: int) -> float:
    return float(
        np.frombuffer(unit([1, a, 0, 0]), np.float32)
        @ np.frombuffer(unit([1, b, 0, 0]), np.float32)
    )


def test_an_expired_row_is_never_found() -> None:
    block = VectorBlock(capacity=3, dimensions=4)
    block.add(unit([1, 0, 0, 0]), "old", expires=5)
    block.add(unit([0, 1, 0, 0]), "new", expires=50)
    assert block.nearest(unit([1, 0, 0, 0]), now=1)[0] == "old"  # type: ignore[index]
    assert block.nearest(unit([1, 0, 0, 0]), now=6)[0] == "new"  # type: ignore[index]
    assert block.nearest(unit([1, 0, 0, 0]), now=60) is None


async def test_the_memory_index_is_bounded_and_keeps_partitions_apart() -> None:
    clock = Clock()
    index = MemorySemanticIndex(max_entries=4, max_entries_per_partition=3, clock=clock)
    vector = np.zeros(256, dtype=np.float32)
    vector[0] = 1
    for name in range(4):
        await index.add("a", vector.tobytes(), f"a{name}", 60)
    assert len(index) == 3
    assert await index.nearest("b", vector.tobytes()) is None  # another partition: nothing
    await index.add("b", vector.tobytes(), "b0", 60)
    await index.add("b", vector.tobytes(), "b1", 60)  # 5 in all: the least used partition goes
    assert len(index) == 2
    assert await index.nearest("a", vector.tobytes()) is None
    assert (await index.nearest("b", vector.tobytes()) or ("", 0))[0] in ("b0", "b1")
    clock.now = 61
    assert await index.nearest("b", vector.tobytes()) is None


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*args: object, **kwargs: object) -> None:
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refused)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


async def test_the_static_model_runs_offline(offline: None) -> None:
    from domains.providers.semantic_cache import compared
    from infrastructure.embeddings.static_model import StaticEmbedder, StaticModel

    model = StaticModel()  # loaded here, not the process's: with the network refused

    def similarity(a: str, b: str) -> float:
        return float(model.array(compared(a)) @ model.array(compared(b)))

    paraphrase = similarity(
        "How do I reverse a list in Python?", "How can I reverse a list in Python?"
    )
    near_miss = similarity("What is the capital of Austria?", "What is the capital of Australia?")
    assert paraphrase > 0.95 > near_miss
    vector = await StaticEmbedder().embed("hello")
    assert len(vector) == 256 * 4
    assert float(np.linalg.norm(np.frombuffer(vector, np.float32))) == pytest.approx(1, abs=1e-5)
