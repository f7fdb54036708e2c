"""The memory item: one unit of textual, activation or parametric memory.

An item is a pydantic model with a flat metadata header, so that filters can
name fields directly (``kind``, ``session_id``, ``event_time``, ...) and the
caller's own ``metadata`` dict (``metadata.<key>`` in filters) is kept
verbatim. Fields that only a later subsystem fills (versions, activation
caches, adapters) are part of the schema from the start.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from memosys.core.clock import to_utc


class MemoryType(StrEnum):
    """The three memory types of a MemCube."""

    TEXTUAL = "textual"
    ACTIVATION = "activation"
    PARAMETRIC = "parametric"


class MemoryKind(StrEnum):
    """What a textual memory holds."""

    MESSAGE = "message"
    FACT = "fact"
    PREFERENCE = "preference"
    EVENT = "event"
    CHUNK = "chunk"
    SUMMARY = "summary"
    NOTE = "note"


class SourceType(StrEnum):
    """Where a memory came from."""

    CONVERSATION = "conversation"
    DOCUMENT = "document"
    API = "api"


class LifecycleState(StrEnum):
    """Lifecycle states; ``deleted`` is a tombstone."""

    GENERATED = "generated"
    ACTIVATED = "activated"
    MERGED = "merged"
    ARCHIVED = "archived"
    FROZEN = "frozen"
    SUPERSEDED = "superseded"
    DELETED = "deleted"


class Visibility(StrEnum):
    """Who may read an item beyond its owner."""

    PRIVATE = "private"
    SHARED = "shared"
    PUBLIC = "public"


class TimeRef(BaseModel):
    """A time expression found in the text, resolved to an absolute date range."""

    model_config = ConfigDict(frozen=True)

    text: str
    start: datetime
    end: datetime
    granularity: str = "day"  # day | week | month | year

    def words(self) -> str:
        """The range in words a full-text index can match.

        Days read "Tuesday 9 May 2023", weeks "week of Monday 8 May 2023",
        months "May 2023", years "2023"; a range of several units names each
        of them (at most seven).
        """
        words: list[str] = []
        start, end = self.start.date(), self.end.date()
        while start < end and len(words) < 7:
            if self.granularity == "year":
                words.append(f"{start.year}")
                start = date(start.year + 1, 1, 1)
            elif self.granularity == "month":
                words.append(f"{calendar.month_name[start.month]} {start.year}")
                start = date(start.year + start.month // 12, start.month % 12 + 1, 1)
            elif self.granularity == "week":
                words.append(f"week of {_day_words(start)}")
                start += timedelta(days=7)
            else:
                words.append(_day_words(start))
                start += timedelta(days=1)
        return " ".join(words)


def _day_words(day: date) -> str:
    weekday, month = calendar.day_name[day.weekday()], calendar.month_name[day.month]
    return f"{weekday} {day.day} {month} {day.year}"


class ActivationInfo(BaseModel):
    """Header of an activation (KV-cache) item."""

    model_fingerprint: dict[str, str] = Field(default_factory=dict)
    token_count: int = 0
    rendered_text: str = ""
    source_memory_versions: dict[str, int] = Field(default_factory=dict)
    byte_size: int = 0
    path: str | None = None
    stale: bool = False
    hits: int = 0


class ParametricInfo(BaseModel):
    """Header of a parametric (LoRA adapter) item."""

    base_model_fingerprint: dict[str, str] = Field(default_factory=dict)
    source_memory_versions: dict[str, int] = Field(default_factory=dict)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = None
    loss_curve: list[float] = Field(default_factory=list)
    metrics: dict[str, float] = Field(default_factory=dict)
    path: str | None = None
    stale: bool = False


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else to_utc(value)


class MemoryItem(BaseModel):
    """One memory with its full metadata header.

    Timestamps are timezone-aware UTC. ``event_time`` is when the content
    happened in the world (the message time; a window's first message), ``event_end``
    when a window of messages ended (its last timestamped message), ``valid_from``/``valid_to``
    bound when a fact holds, and ``created_at``/``updated_at`` are when
    memosys recorded it.
    """

    model_config = ConfigDict(validate_assignment=True)

    # identity
    id: str
    cube_id: str
    user_id: str
    type: MemoryType = MemoryType.TEXTUAL
    kind: MemoryKind = MemoryKind.NOTE
    content: str
    content_hash: str = ""

    # descriptive
    created_at: datetime
    updated_at: datetime
    event_time: datetime | None = None
    event_end: datetime | None = None  # a window's last message time; None for one message
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    source_type: SourceType = SourceType.API
    session_id: str | None = None
    position: int | None = None  # order of the first message within its session
    message_count: int = 1  # how many source messages the item covers (a window)
    message_ids: list[str] = Field(default_factory=list)
    speaker: str | None = None
    role: str | None = None
    speakers: list[str] = Field(default_factory=list)  # of all its messages, first-seen order
    source_ref: str | None = None  # document path or title
    headings: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    entities: list[str] = Field(default_factory=list)
    time_refs: list[TimeRef] = Field(default_factory=list)

    # governance
    owner: str
    visibility: Visibility = Visibility.PRIVATE
    acl: dict[str, str] = Field(default_factory=dict)  # user id -> "read" | "write"
    expires_at: datetime | None = None
    priority: int = 0
    sensitivity: str = "normal"

    # behavioural
    access_count: int = 0
    last_accessed_at: datetime | None = None
    importance: float = 0.5

    # lifecycle
    state: LifecycleState = LifecycleState.GENERATED
    version: int = 1
    previous_versions: list[str] = Field(default_factory=list)
    supersedes: list[str] = Field(default_factory=list)
    superseded_by: str | None = None
    merged_from: list[str] = Field(default_factory=list)

    # other memory types
    activation: ActivationInfo | None = None
    parametric: ParametricInfo | None = None

    # the caller's own metadata, stored and returned verbatim
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator(
        "created_at",
        "updated_at",
        "event_time",
        "event_end",
        "valid_from",
        "valid_to",
        "expires_at",
        "last_accessed_at",
    )
    @classmethod
    def _aware_utc(cls, value: datetime | None) -> datetime | None:
        return _utc_or_none(value)

    def search_text(self) -> str:
        """The text that the full-text and vector indexes see for this item.

        The speaker, the content, then the heading path of a chunk
        ("Guide > Install") and each resolved time expression in words.
        """
        text = f"{self.speaker}: {self.content}" if self.speaker else self.content
        extra = [" > ".join(self.headings)] if self.headings else []
        extra.extend(ref.words() for ref in self.time_refs)
        return " | ".join([text, *extra])


@dataclass(frozen=True, slots=True)
class ItemView:
    """What search re-ranking reads of a memory: loaded from the store's columns,
    without decoding the whole item (see :meth:`Store.item_views`)."""

    id: str
    cube_id: str
    content: str
    speaker: str | None
    session_id: str | None
    position: int | None
    message_count: int
    event_time: datetime | None
    speakers: tuple[str, ...] = ()  # a window's, when it has no one ``speaker``


def speakers_of(item: MemoryItem | ItemView) -> list[str]:
    """Everyone who speaks in ``item``: a window's ``speakers``, else its one ``speaker``."""
    if item.speakers:
        return list(item.speakers)
    return [item.speaker] if item.speaker else []


def content_hash(*parts: str | None) -> str:
    """A stable hash of the given parts, used to find exact repeats."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update((part or "").encode("utf-8"))
        digest.update(b"\x1f")
    return digest.hexdigest()[:32]
