"""Plain texts (bulk import, notes, facts) into memory items."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from memosys.core.clock import Clock
from memosys.core.errors import EmptyInputError, InputTooLargeError, InvalidInputError
from memosys.core.ids import new_id
from memosys.core.items import MemoryItem, SourceType, content_hash
from memosys.reader.enrich import analyse
from memosys.reader.validate import (
    check_metadata,
    check_tags,
    checked_content,
    checked_kind,
    parse_timestamp,
)
from memosys.settings import ReaderSettings


def _aligned(name: str, values: Sequence[Any] | None, count: int) -> list[Any]:
    if values is None:
        return [None] * count
    if not isinstance(values, (list, tuple)) or len(values) != count:
        raise InvalidInputError(f"{name} must be a list with one entry per text ({count})")
    return list(values)


def text_items(
    texts: Sequence[str],
    *,
    user_id: str,
    cube_id: str,
    metadatas: Sequence[dict[str, Any]] | None,
    kind: str,
    tags: list[str] | None,
    event_times: Sequence[datetime | None] | None,
    settings: ReaderSettings,
    clock: Clock,
) -> list[MemoryItem]:
    """One enriched item per text; validates the whole batch before building any."""
    if not isinstance(texts, (list, tuple)):
        raise InvalidInputError(f"texts must be a list of strings, got {type(texts).__name__}")
    if not texts:
        raise EmptyInputError("texts is empty; pass at least one text")
    if len(texts) > settings.max_batch_items:
        raise InputTooLargeError(
            f"{len(texts)} texts in one call, over the limit of {settings.max_batch_items}; "
            "send smaller batches"
        )
    memory_kind = checked_kind(kind)
    tag_list = check_tags(tags)
    metas = [
        check_metadata(m, f"metadatas[{i}]")
        for i, m in enumerate(_aligned("metadatas", metadatas, len(texts)))
    ]
    times = [
        parse_timestamp(t, f"event_times[{i}]")
        for i, t in enumerate(_aligned("event_times", event_times, len(texts)))
    ]
    contents = [checked_content(raw, f"texts[{i}]", settings) for i, raw in enumerate(texts)]
    now = clock.now()
    items = []
    for text, meta, when in zip(contents, metas, times, strict=True):
        event_time = when or now
        found = analyse(text, event_time)
        items.append(MemoryItem(
            id=new_id(),
            cube_id=cube_id,
            user_id=user_id,
            kind=memory_kind,
            content=text,
            content_hash=content_hash(memory_kind.value, text),
            created_at=now,
            updated_at=now,
            event_time=event_time,
            source_type=SourceType.API,
            tags=tag_list,
            owner=user_id,
            metadata=meta,
            keywords=found.keywords,
            entities=found.entities,
            time_refs=found.time_refs,
        ))
    return items
