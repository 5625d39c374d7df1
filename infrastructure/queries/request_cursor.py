"""Where a page of the request log continues: the (ts, id) of the last record it held, as an
opaque text for a query parameter (URL-safe base64, no padding).

A request log page is newest first; the next one holds the records before that key.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_CURSOR = 200
"""No cursor of ours is longer."""


class BadCursor(ValueError):
    """The text is not a cursor this gateway gave."""


@dataclass(frozen=True, slots=True)
class Cursor:
    ts: datetime
    id: str

    def encode(self) -> str:
        moment = self.ts.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
        raw = f"{moment}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        if not text or len(text) > MAX_CURSOR:
            raise BadCursor("no cursor of the request log has this length")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
            moment, _, record_id = raw.partition("|")
            ts = datetime.fromisoformat(moment)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise BadCursor("not a cursor of the request log") from None
        if ts.tzinfo is not None or not record_id or not record_id.isalnum():
            raise BadCursor("not a cursor of the request log")
        return cls(ts.replace(tzinfo=UTC), record_id)
