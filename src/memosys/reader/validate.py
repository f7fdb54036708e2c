"""Validation of raw reader input: every check runs before any item is built.

Each error names the offending field (``messages[3].timestamp``) and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from memosys.core.clock import json_time, to_utc
from memosys.core.errors import (
    EmptyInputError,
    EncodingError,
    InputTooLargeError,
    InvalidInputError,
)
from memosys.core.items import MemoryKind
from memosys.settings import ReaderSettings


@dataclass(frozen=True, slots=True)
class Message:
    """One validated chat message."""

    role: str
    content: str
    name: str | None
    timestamp: datetime | None
    metadata: dict[str, Any]
    id: str | None

    @property
    def speaker(self) -> str:
        """The display name of the author: ``name`` if given, else ``role``."""
        return self.name or self.role


def check_text(value: str | bytes | bytearray, where: str) -> str:
    """``value`` as a str that is valid UTF-8; bytes are decoded as UTF-8."""
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EncodingError(
                f"{where} is not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                "decode it to str or re-encode it as UTF-8",
                detail={"field": where},
            ) from None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodingError(
            f"{where} contains an unpaired surrogate at character {exc.start}; "
            "send well-formed Unicode text",
            detail={"field": where},
        ) from None
    return value


def check_metadata(value: Any, where: str) -> dict[str, Any]:
    """``value`` as a metadata dict of JSON values with string keys (``None`` means empty).

    It comes back as it is stored and read back: tuples as lists, datetimes as
    ISO 8601 text in UTC (``...Z``), dates as ``YYYY-MM-DD``. A value JSON cannot
    hold (a set, bytes, an object, NaN, a key that is not a string) is refused.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            f"{where} must be a dict, got {type(value).__name__}", detail={"field": where}
        )
    try:
        checked: dict[str, Any] = _json_value(value, where)
    except RecursionError:
        raise InvalidInputError(
            f"{where} nests too deeply; flatten it", detail={"field": where}
        ) from None
    return checked


def _json_value(value: Any, where: str) -> Any:
    """``value`` as JSON stores it; refuses what JSON cannot hold, naming where it is."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(
                f"{where} is {value!r}; JSON holds only finite numbers", detail={"field": where}
            )
        return value
    if isinstance(value, datetime | date):
        return json_time(value, where)
    if isinstance(value, Mapping):
        bad = [key for key in value if not isinstance(key, str)]
        if bad:
            raise InvalidInputError(
                f"{where} keys must be strings, got {bad[0]!r}", detail={"field": where}
            )
        return {key: _json_value(inner, f"{where}.{key}") for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(inner, f"{where}[{index}]") for index, inner in enumerate(value)]
    raise InvalidInputError(
        f"{where} holds a {type(value).__name__} value, which JSON cannot hold; "
        "give a string, number, boolean, null, list or dict",
        detail={"field": where},
    )


def check_tags(value: Any) -> list[str]:
    """``value`` as a list of tag strings (``None`` means no tags)."""
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(t, str) for t in value):
        raise InvalidInputError("tags must be a list of strings", detail={"field": "tags"})
    return list(value)


def parse_timestamp(value: Any, where: str) -> datetime | None:
    """An aware UTC datetime from a datetime, a date or an ISO 8601 string."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_utc(value, where)
    if isinstance(value, date):
        return to_utc(datetime(value.year, value.month, value.day))
    if isinstance(value, str):
        text = value.strip()
        try:
            return to_utc(datetime.fromisoformat(text), where)
        except ValueError:
            raise InvalidInputError(
                f"{where} {value!r} is not an ISO 8601 date-time; "
                "use e.g. '2023-05-07T14:30:00Z' or a datetime object",
                detail={"field": where},
            ) from None
    raise InvalidInputError(
        f"{where} must be a datetime or an ISO 8601 string, got {type(value).__name__}",
        detail={"field": where},
    )


def _optional_str(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(
            f"{where}.{key} must be a string, got {type(value).__name__}",
            detail={"field": f"{where}.{key}"},
        )
    return check_text(value, f"{where}.{key}")


def _message_id(raw: Mapping[str, Any], where: str) -> str | None:
    value = raw.get("id")
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _optional_str(raw, "id", where)


def _check_message(raw: Any, index: int, settings: ReaderSettings) -> Message:
    where = f"messages[{index}]"
    if not isinstance(raw, Mapping):
        raise InvalidInputError(
            f"{where} must be a dict with 'role' and 'content', got {type(raw).__name__}",
            detail={"field": where},
        )
    for key in ("role", "content"):
        if key not in raw:
            raise InvalidInputError(
                f"{where} has no '{key}'; each message needs 'role' and 'content'",
                detail={"field": f"{where}.{key}"},
            )
    role = raw["role"]
    if not isinstance(role, str) or not role.strip():
        raise InvalidInputError(
            f"{where}.role must be a non-empty string such as 'user' or 'assistant'",
            detail={"field": f"{where}.role"},
        )
    text = checked_content(raw["content"], f"{where}.content", settings)
    name = _optional_str(raw, "name", where)
    if name is not None:
        name = name.strip() or None
    return Message(
        role=check_text(role, f"{where}.role").strip(),
        content=text,
        name=name,
        timestamp=parse_timestamp(raw.get("timestamp"), f"{where}.timestamp"),
        metadata=check_metadata(raw.get("metadata"), f"{where}.metadata"),
        id=_message_id(raw, where),
    )


def check_messages(messages: Any, settings: ReaderSettings) -> list[Message]:
    """Validate a whole batch of raw messages; raises on the first problem."""
    if not isinstance(messages, list | tuple):
        raise InvalidInputError(
            "messages must be a list of dicts like [{'role': 'user', 'content': '...'}], "
            f"got {type(messages).__name__}; wrap a single message in a list",
            detail={"field": "messages"},
        )
    if not messages:
        raise EmptyInputError(
            "messages is empty; pass at least one message", detail={"field": "messages"}
        )
    if len(messages) > settings.max_batch_items:
        raise InputTooLargeError(
            f"{len(messages)} messages in one call, over the limit of "
            f"{settings.max_batch_items}; send them in smaller batches",
            detail={"field": "messages", "limit": settings.max_batch_items},
        )
    return [_check_message(raw, i, settings) for i, raw in enumerate(messages)]


def checked_kind(value: object) -> MemoryKind:
    """``value`` as a :class:`MemoryKind`, or an error that lists the kinds."""
    try:
        return MemoryKind(str(value))
    except ValueError:
        kinds = ", ".join(k.value for k in MemoryKind)
        raise InvalidInputError(
            f"kind must be one of {kinds}, got {value!r}", detail={"field": "kind"}
        ) from None


def checked_content(raw: object, where: str, settings: ReaderSettings) -> str:
    """One memory's text (a message's, a plain text's, an update's): a non-blank,
    well-formed string within ``settings.max_message_chars``."""
    if not isinstance(raw, str | bytes | bytearray):
        raise InvalidInputError(
            f"{where} must be a string, got {type(raw).__name__}", detail={"field": where}
        )
    text = check_text(raw, where)
    if not text.strip():
        raise EmptyInputError(f"{where} is blank; drop it or give some text",
                              detail={"field": where})
    if len(text) > settings.max_message_chars:
        raise InputTooLargeError(
            f"{where} has {len(text)} characters, over the limit of "
            f"{settings.max_message_chars}; split it or add it as a document",
            detail={"field": where, "limit": settings.max_message_chars},
        )
    return text


def check_importance(value: object) -> float:
    """An importance: a real number from 0 to 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InvalidInputError(
            f"importance must be a number from 0 to 1, got {value!r}",
            detail={"field": "importance"},
        )
    return float(value)


def checked_changes(
    metadata: Any, tags: Any, importance: Any, kind: Any
) -> dict[str, Any]:
    """The fields an update gives (those not None), each checked."""
    given = {
        "metadata": None if metadata is None else check_metadata(metadata, "metadata"),
        "tags": None if tags is None else check_tags(tags),
        "importance": None if importance is None else check_importance(importance),
        "kind": None if kind is None else checked_kind(kind),
    }
    return {name: value for name, value in given.items() if value is not None}

