"""RFC 3339 date-times read exactly (section 5.6), not as ISO 8601's many other forms.

Python's `datetime.fromisoformat` and Django's `parse_datetime` (what DRF's DateTimeField uses)
read ISO 8601: week dates (`2026-W49-2T17:00Z`), the basic format (`20261201T170000Z`), hours
without minutes or seconds, offsets without a colon, a comma before the fraction, and (Django's
`\\d`) the digits of every script, full-width ones included. SPEC §1 promises RFC 3339 for
`due_at`, so only its `date-time` is read here:

    YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)

ASCII digits only; `T` and `Z` in either case (RFC 3339 §5.6, note on case); a fraction of any
length (kept to the microsecond, as Python holds it); and a space in place of the `T`, which
RFC 3339 §5.6 allows applications "for the sake of readability" and this API always accepted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

FORMAT = "YYYY-MM-DDTHH:MM:SS, an optional .fraction, then Z or ±HH:MM"

_DATE_TIME = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt ]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?"
    r"(?:[Zz]|(?P<sign>[+-])(?P<offset_hour>[0-9]{2}):(?P<offset_minute>[0-9]{2}))"
)


class NotRfc3339(ValueError):
    """The text does not have the form of an RFC 3339 date-time with an offset."""


def parse_date_time(text: str) -> datetime:
    """The instant `text` names, timezone-aware, with the offset it was given.

    Raises `NotRfc3339` when `text` is not of the form above (RFC 3339 §5.6 `date-time`, or
    with a space for the `T`), and `ValueError` when it is but names no such time: a day the
    month does not have, hour 24, second 60 (a leap second, which Python cannot hold), year 0000,
    or an offset beyond ±23:59 (RFC 3339 `time-numoffset`).
    """
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        raise NotRfc3339(f"{text!r} is not an RFC 3339 date-time")
    parts = match.groupdict()
    zone = UTC
    if parts["sign"] is not None:
        hours, minutes = int(parts["offset_hour"]), int(parts["offset_minute"])
        if hours > 23 or minutes > 59:
            raise ValueError("an offset's hours are 00 to 23 and its minutes 00 to 59")
        offset = timedelta(hours=hours, minutes=minutes)
        zone = timezone(-offset if parts["sign"] == "-" else offset)
    fraction = parts["fraction"] or ""
    return datetime(
        int(parts["year"]),
        int(parts["month"]),
        int(parts["day"]),
        int(parts["hour"]),
        int(parts["minute"]),
        int(parts["second"]),
        int(fraction[:6].ljust(6, "0")),
        tzinfo=zone,
    )
