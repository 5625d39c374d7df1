"""A request whose JSON numbers with a fraction or an exponent are read as Decimal."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException

_exact_json = msgspec.json.Decoder(float_hook=Decimal)


class ExactJsonRequest(Request[Any, Any, Any]):
    """Reads a JSON number with a fraction or an exponent as a Decimal, from its text: money
    sent as 0.1 is Decimal("0.1"), never the float nearest to it."""

    async def json(self) -> Any:
        try:
            return _exact_json.decode(await self.body() or b"null")
        except msgspec.DecodeError as error:
            raise SerializationException(str(error)) from error
