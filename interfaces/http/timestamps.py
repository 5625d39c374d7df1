"""RFC 3339 date-times in query parameters: parsed strictly, or a 400 naming the parameter."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from interfaces.http.errors import ApiError

_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})"
    r"(?:\.(?P<frac>\d{1,9}))?(?:(?P<z>[Zz])|(?P<sign>[+-])(?P<oh>\d{2}):(?P<om>\d{2}))",
    re.ASCII,
)


def parse_rfc3339(value: str, param: str) -> datetime:
    """`value` (e.g. ``2026-11-23T19:00:00Z``, ``2026-11-23T20:00:00.5+01:00``) as an aware
    UTC datetime; fractions beyond microseconds are cut, a leap second is the instant before
    the next minute. A time without an offset is refused: it names no instant."""
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise _invalid(param, "is not an RFC 3339 date-time with an offset")
    second = int(match["s"])
    leap = second == 60
    try:
        offset = timedelta(0)
        if match["sign"] is not None:
            hours, minutes = int(match["oh"]), int(match["om"])
            if hours > 23 or minutes > 59:
                raise ValueError("offset out of range")
            offset = timedelta(hours=hours, minutes=minutes)
            if match["sign"] == "-":
                offset = -offset
        moment = datetime.fromisoformat(match["date"]).replace(
            hour=int(match["h"]),
            minute=int(match["m"]),
            second=59 if leap else second,
            microsecond=999_999 if leap else int((match["frac"] or "0").ljust(6, "0")[:6]),
            tzinfo=timezone(offset),
        )
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _invalid(param, "is not a valid date-time") from None


def _invalid(param: str, why: str) -> ApiError:
    return ApiError(400, f"`{param}` {why}.", code="invalid_time", param=param)
