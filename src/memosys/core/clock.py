"""Clocks: the only place memosys asks for the current time."""

from __future__ import annotations

from datetime import UTC, datetime
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


def to_utc(value: datetime) -> datetime:
    """The same instant as an aware UTC datetime; naive values are taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def checked_time(value: object, what: str) -> datetime:
    """``value`` if it is a datetime (a string is refused, not parsed); InvalidInputError."""
    if not isinstance(value, datetime):
        raise InvalidInputError(f"{what} must be a datetime, got {value!r}")
    return value
