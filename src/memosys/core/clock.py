"""Clocks: the only place memosys asks for the current time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol

from memosys.core.errors import InvalidInputError


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved; for tests and replays."""

    def __init__(self, at: datetime) -> None:
        self._at = to_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = to_utc(at)


def to_utc(value: datetime, what: str = "time") -> datetime:
    """The same instant as an aware UTC datetime; naive values are taken as UTC.

    An instant that falls outside years 1 to 9999 in UTC (such as
    ``0001-01-01T00:00+05:00``) is refused, naming ``what``.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidInputError(
            f"{what} {value.isoformat()} falls outside years 1 to 9999 in UTC; "
            "use a time within that range",
            detail={"field": what},
        ) from None


def json_time(value: datetime | date, what: str = "time") -> str:
    """A datetime or date as memosys writes it into JSON (metadata): a datetime in UTC,
    ISO 8601 ending in ``Z`` (as the item's own times are stored), a date ``YYYY-MM-DD``."""
    if isinstance(value, datetime):
        return to_utc(value, what).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def checked_time(value: object, what: str) -> datetime:
    """``value`` if it is a datetime (a string is refused, not parsed); InvalidInputError."""
    if not isinstance(value, datetime):
        raise InvalidInputError(f"{what} must be a datetime, got {value!r}")
    return value
