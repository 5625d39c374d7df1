"""Log lines: one write a turn of the event loop; errors, and lines logged off a loop, at once."""

from __future__ import annotations

import asyncio
import io

from infrastructure.observability.log_lines import LineWriter


class Stream(io.BytesIO):
    """A binary stream that keeps each write apart."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.writes.append(bytes(data))
        return super().write(data)


async def after_the_turn() -> None:
    """Until the event loop has run the turn after this one (where waiting lines are written)."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)


def test_lines_logged_off_a_loop_are_written_at_once() -> None:
    stream = Stream()
    writer = LineWriter(stream)
    writer.info(b'{"event":"a"}')
    writer.warning(b'{"event":"b"}')
    assert stream.writes == [b'{"event":"a"}\n', b'{"event":"b"}\n']


async def test_the_lines_of_one_turn_go_out_in_one_write_after_it() -> None:
    stream = Stream()
    writer = LineWriter(stream)
    writer.info(b"1")
    writer.info(b"2")
    assert stream.writes == []  # not during the turn
    await after_the_turn()
    assert stream.writes == [b"1\n2\n"]
    writer.info(b"3")
    await after_the_turn()
    assert stream.writes == [b"1\n2\n", b"3\n"]


async def test_an_error_is_written_at_once_after_what_waits() -> None:
    stream = Stream()
    writer = LineWriter(stream)
    writer.info(b"before")
    writer.error(b"failed")
    assert stream.writes == [b"before\nfailed\n"]
    await after_the_turn()
    assert stream.writes == [b"before\nfailed\n"]  # nothing left for the turn's flush


async def test_flush_writes_what_waits() -> None:
    stream = Stream()
    writer = LineWriter(stream)
    writer.info(b"last words")
    writer.flush()  # what runs at exit
    assert stream.getvalue() == b"last words\n"


def test_lines_left_by_a_loop_that_stopped_go_out_on_the_next_loops_turn() -> None:
    stream = Stream()
    writer = LineWriter(stream)

    async def log_and_leave() -> None:
        asyncio.get_running_loop().stop()  # after this turn: the one that would write never comes
        writer.info(b"last of the first loop")

    first = asyncio.new_event_loop()
    first.run_until_complete(log_and_leave())
    first.close()
    assert stream.writes == []

    async def log_again() -> None:
        writer.info(b"first of the second")
        await after_the_turn()

    asyncio.run(log_again())
    assert stream.writes == [b"last of the first loop\nfirst of the second\n"]
