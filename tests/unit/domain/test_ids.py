"""Identifiers: 32 hex characters, time first, never repeated (in a forked child either)."""

from __future__ import annotations

import os
import re
import time

from domains.shared.ids import new_id


def test_an_id_is_32_hex_characters_starting_with_the_time_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    made = new_id()
    after = time.time_ns() // 1_000_000
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert before <= int(made[:12], 16) <= after


def test_ids_do_not_repeat() -> None:
    made = {new_id() for _ in range(100_000)}
    assert len(made) == 100_000


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        os.close(read_end)
        os.write(write_end, "".join(new_id()[12:] for _ in range(100)).encode())
        os._exit(0)
    os.close(write_end)
    mine = {new_id()[12:] for _ in range(100)}
    with os.fdopen(read_end, "rb") as pipe:
        text = pipe.read().decode()
    os.waitpid(pid, 0)
    theirs = {text[i : i + 20] for i in range(0, len(text), 20)}
    assert len(theirs) == 100
    assert not mine & theirs
