"""Checks of argument types shared by the local and the remote API."""

from __future__ import annotations

from typing import TypeGuard

from memosys.core.errors import InvalidInputError


def checked_flag(value: object, what: str) -> bool:
    """``value`` if it is a bool; InvalidInputError otherwise (``"yes"`` or ``1`` are not)."""
    if not isinstance(value, bool):
        raise InvalidInputError(f"{what} must be true or false, got {value!r}")
    return value


def is_number(value: object) -> bool:
    """Whether ``value`` is an int or a float, and not a bool (``True`` is an int too)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_whole(value: object) -> TypeGuard[int]:
    """Whether ``value`` is an int, and not a bool (``True`` is an int too)."""
    return isinstance(value, int) and not isinstance(value, bool)
