"""How many WebSocket chat connections each virtual key holds open in this process, so that one
key cannot take every connection (`websocket.max_connections_per_key`). With `server.workers`
above 1 each worker counts its own."""

from __future__ import annotations


class KeyConnections:
    __slots__ = ("_open",)

    def __init__(self) -> None:
        self._open: dict[str, int] = {}

    def take(self, key_id: str, most: int) -> bool:
        """Counts one more connection of `key_id` in; False (nothing counted) when it holds
        `most` already."""
        held = self._open.get(key_id, 0)
        if held >= most:
            return False
        self._open[key_id] = held + 1
        return True

    def give_back(self, key_id: str) -> None:
        held = self._open[key_id] - 1
        if held:
            self._open[key_id] = held
        else:
            del self._open[key_id]

    def held(self, key_id: str) -> int:
        return self._open.get(key_id, 0)
