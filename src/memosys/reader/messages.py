"""Raw-mode conversation reader: chat messages become MESSAGE memories, no LLM.

Each window of ``settings.window_size`` messages (moving by
``settings.window_stride``) becomes one item. With a window size of 1 an item
holds the message text and its speaker; with a larger one every item holds
``speaker: text`` lines, and its speaker and role are set only when all of
its messages share them. Either way an item carries what all of its messages
give (see :func:`read_messages`): ``speakers`` lists each of them,
``message_ids`` their ids, ``event_time`` and ``event_end`` the first and last
timestamp, and ``metadata`` every message's metadata merged by
:func:`merged_metadata`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from memosys.core.clock import Clock
from memosys.core.errors import ConfigurationError
from memosys.core.ids import new_id
from memosys.core.items import MemoryItem, MemoryKind, SourceType, content_hash
from memosys.reader.enrich import analyse
from memosys.reader.entities import name_evidence
from memosys.reader.validate import (
    Message,
    check_messages,
    check_metadata,
    check_tags,
    parse_timestamp,
)
from memosys.settings import ReaderSettings


def windows(count: int, size: int, stride: int) -> list[range]:
    """Index ranges of the windows over ``count`` messages; the last one reaches the end."""
    if stride > size:
        raise ConfigurationError(
            f"reader.window_stride ({stride}) is larger than reader.window_size ({size}), "
            "which would skip messages; set window_stride <= window_size"
        )
    spans: list[range] = []
    for start in range(0, count, stride):
        spans.append(range(start, min(start + size, count)))
        if start + size >= count:
            break
    return spans


def _one_or_none(values: Sequence[str]) -> str | None:
    return values[0] if len(set(values)) == 1 else None


def merged_metadata(base: dict[str, Any], window: Sequence[Message]) -> dict[str, Any]:
    """The metadata of an item made of ``window``: the call-level ``base``, each key a
    message gives replacing it. A key on which the window's messages disagree holds the
    list of their distinct values in message order (``{"dia_id": "D1"}`` and
    ``{"dia_id": "D2"}`` give ``{"dia_id": ["D1", "D2"]}``, which a filter
    ``metadata.dia_id = "D2"`` matches); a key they agree on, or that one message
    gives, keeps its value. One message's item keeps that message's metadata as given.
    """
    given: dict[str, list[Any]] = {}
    for message in window:
        for key, value in message.metadata.items():
            values = given.setdefault(key, [])
            # typed comparison: True and 1 (or 1 and 1.0) are different JSON values
            if not any(type(v) is type(value) and v == value for v in values):
                values.append(value)
    merged = {**base, **{k: v[0] if len(v) == 1 else v for k, v in given.items()}}
    return copy.deepcopy(merged)


def _line(message: Message) -> str:
    return f"{message.speaker}: {message.content}"


def _text(window: list[Message], as_lines: bool) -> str:
    """An item's content: the message, or ``speaker: text`` lines for a window."""
    if as_lines:
        return "\n".join(_line(m) for m in window)
    return window[0].content


def _dated_lines(window: list[Message], first_time: datetime) -> list[tuple[str, datetime]]:
    """A window's lines, each with the time its message was written: its timestamp, else
    the latest one before it in the window, else the window's ``first_time``."""
    dated, when = [], first_time
    for message in window:
        when = message.timestamp or when
        dated.append((_line(message), when))
    return dated


def _build(
    window: list[Message],
    *,
    as_lines: bool,
    position: int,
    event_time: datetime,
    user_id: str,
    cube_id: str,
    session_id: str,
    base_metadata: dict[str, Any],
    tags: list[str],
    names: set[str],
    now: datetime,
    repeat: int,
) -> MemoryItem:
    content = _text(window, as_lines)
    later_times = [m.timestamp for m in window[1:] if m.timestamp is not None]
    speaker = _one_or_none([m.speaker for m in window])
    # each message's "yesterday" is the day before that message, not the window's first
    parts = _dated_lines(window, event_time) if as_lines else []
    found = analyse(content, event_time, names, parts)
    return MemoryItem(
        id=new_id(),
        cube_id=cube_id,
        user_id=user_id,
        owner=user_id,
        kind=MemoryKind.MESSAGE,
        source_type=SourceType.CONVERSATION,
        content=content,
        content_hash=content_hash(
            MemoryKind.MESSAGE.value,
            speaker,
            content,
            session_id,
            event_time.isoformat(),
            *([f"repeat {repeat}"] if repeat else []),
        ),
        created_at=now,
        updated_at=now,
        event_time=event_time,
        event_end=later_times[-1] if later_times else None,
        session_id=session_id,
        position=position,
        message_count=len(window),
        message_ids=[m.id for m in window if m.id is not None],
        speaker=speaker,
        speakers=list(dict.fromkeys(m.speaker for m in window)),
        role=_one_or_none([m.role for m in window]),
        tags=list(tags),
        keywords=found.keywords,
        entities=found.entities,
        time_refs=found.time_refs,
        metadata=merged_metadata(base_metadata, window),
    )


def read_messages(
    messages: Any,
    user_id: str,
    cube_id: str,
    session_id: str | None,
    session_time: datetime | None,
    metadata: dict[str, Any] | None,
    tags: list[str] | None,
    start_position: int,
    settings: ReaderSettings,
    clock: Clock,
) -> list[MemoryItem]:
    """Turn a list of chat messages into MESSAGE items, validating everything first.

    ``messages`` is a list of dicts with ``role`` and ``content`` and optional
    ``name``, ``timestamp`` (datetime or ISO 8601), ``metadata`` (dict, kept
    verbatim over the call-level ``metadata``) and ``id``. Speakers and names
    used anywhere in the batch count as entities in every item. An item's
    ``event_time`` is its first message's timestamp, else ``session_time``,
    else the clock's now; ``position`` counts from ``start_position``. An item
    of a window (``settings.window_size`` > 1) carries all of its messages:
    ``speakers`` (every speaker, first-seen order; ``speaker`` and ``role`` only
    when all share one), ``message_ids``, ``event_end`` (the last timestamp of a
    message after the first; None if none has one), the metadata merged by
    :func:`merged_metadata` (a key the messages disagree on lists their values) and the
    time expressions of all its messages, a relative one ("yesterday") resolved against
    its own message's timestamp (else the latest one before it in the window). The same
    words from the same speaker at the same time, twice in the batch, are two
    items (their hashes differ), so only a repeated batch is an exact repeat. Raises
    :class:`~memosys.core.errors.InvalidInputError` or a subclass and returns
    nothing when any message is bad.
    """
    checked = check_messages(messages, settings)
    base_metadata = check_metadata(metadata, "metadata")
    tag_list = check_tags(tags)
    size = settings.window_size
    spans = windows(len(checked), size, settings.window_stride or size)
    session_start = parse_timestamp(session_time, "session_time")
    now = clock.now()
    fallback = session_start or now
    session = session_id or new_id()
    names = {m.speaker for m in checked}.union(*(name_evidence(m.content) for m in checked))
    items: list[MemoryItem] = []
    seen: dict[tuple[str | None, str, datetime], int] = {}
    for span in spans:
        window = [checked[i] for i in span]
        event_time = checked[span.start].timestamp or fallback
        # The same words from the same speaker at the same time, twice in one conversation
        # ("ok" ... "ok"), are two messages: each later one gets a hash of its own, so only
        # a repeat of the whole batch (a retry, a re-import) is taken for the stored items.
        key = (_one_or_none([m.speaker for m in window]), _text(window, size > 1), event_time)
        repeat = seen[key] = seen.get(key, -1) + 1
        items.append(
            _build(
                window,
                as_lines=size > 1,
                position=start_position + span.start,
                event_time=event_time,
                user_id=user_id,
                cube_id=cube_id,
                session_id=session,
                base_metadata=base_metadata,
                tags=tag_list,
                names=names,
                now=now,
                repeat=repeat,
            )
        )
    return items
