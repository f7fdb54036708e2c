"""Export memories to JSON Lines and read them back."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from memosys.core.clock import Clock
from memosys.core.errors import ConflictError, EmptyInputError, InvalidInputError
from memosys.core.files import replacing
from memosys.core.ids import new_id
from memosys.core.items import LifecycleState, MemoryItem
from memosys.reader.texts import text_items
from memosys.settings import ReaderSettings
from memosys.stores.base import Scope, Store

PAGE = 1000


@dataclass(frozen=True, slots=True)
class ImportCounts:
    """What an import did: ``added`` new memories, and ``existing`` lines that repeat a
    memory already stored (not stored again)."""

    added: int
    existing: int


def export_items(
    store: Store, scope: Scope, path: Path, *, data_dir: Path | None, overwrite: bool
) -> int:
    """Write every item in scope as one JSON object per line; returns the count.

    The file is written whole or not at all (a failed export leaves any old file
    as it was). A path inside ``data_dir`` is refused, and so is an existing file
    unless ``overwrite``.
    """
    _check_export_target(path, data_dir, overwrite)
    count = 0
    try:
        with replacing(path) as out:
            offset = 0
            while page := store.list_items(scope, None, PAGE, offset, "created_at"):
                for item in page:
                    out.write(item.model_dump_json() + "\n")
                offset += len(page)
                count += len(page)
    except OSError as exc:
        raise InvalidInputError(
            f"cannot write export file {path}: {exc.strerror or exc}; "
            "give a file path in an existing folder you can write to",
            detail={"path": str(path)},
        ) from None
    return count


def _check_export_target(path: Path, data_dir: Path | None, overwrite: bool) -> None:
    if not path.name or path.is_dir():
        raise InvalidInputError(
            f"export path {str(path)!r} is a folder; give a file path such as memories.jsonl",
            detail={"path": str(path)},
        )
    if data_dir is not None and path.resolve().is_relative_to(data_dir.resolve()):
        raise InvalidInputError(
            f"export file {path} is inside the data directory {data_dir}, which holds "
            "memosys's own database and settings; export to a path outside it",
            detail={"path": str(path)},
        )
    if not overwrite and path.exists():
        raise ConflictError(
            f"export file {path} already exists; give another path, or replace it "
            "(memosys export --force, or overwrite=True)",
            detail={"path": str(path)},
        )


def _parse_lines(path: Path) -> dict[int, dict[str, Any]]:
    """The file's records by line number (blank lines hold none)."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a leading BOM is no JSON
        # JSON Lines end at "\n" (or "\r\n") only: a JSON string may hold U+2028, U+2029
        # or NEL raw, as an export writes them, and str.splitlines() would cut it there
        lines = text.split("\n")
    except FileNotFoundError:
        raise InvalidInputError(f"import file {path} does not exist") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"import file {path} is not UTF-8 text") from None
    records: dict[int, dict[str, Any]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise InvalidInputError(f"{path}:{number} is not JSON: {exc}") from None
        if not isinstance(record, dict) or "content" not in record:
            raise InvalidInputError(f"{path}:{number} must be an object with a 'content' key")
        records[number] = record
    if not records:
        raise EmptyInputError(
            f"import file {path} holds no memories; give a file with one JSON object per "
            "line, as `memosys export` writes",
            detail={"path": str(path)},
        )
    return records


def read_import_file(
    path: Path,
    *,
    user_id: str,
    cube_id: str,
    settings: ReaderSettings,
    clock: Clock,
    batch: int = 500,
) -> Iterator[tuple[list[MemoryItem], int]]:
    """Items to import, in batches, with the total; the whole file is validated first.

    A line is either a full item written by :func:`export_items` (its fields
    are kept, with a new id, cube and owner; its links to other memories of the
    file follow their new ids, links to memories outside it are dropped) or
    ``{"content", "metadata"?, "kind"?, "tags"?}``.
    """
    records = _parse_lines(path)
    exported = {n: _exported(record, n, path) for n, record in records.items()
                if "id" in record and "created_at" in record}
    fresh_ids = {number: new_id() for number in exported}
    new_ids: dict[str, str] = {}  # an exported id -> the new id of its first record
    for number, item in exported.items():
        new_ids.setdefault(item.id, fresh_ids[number])
    prepared: list[MemoryItem] = []
    for number, record in records.items():
        if number in exported:
            prepared.append(
                _moved(exported[number], fresh_ids[number], new_ids, user_id, cube_id)
            )
        else:
            prepared.append(_plain(record, number, path, user_id, cube_id, settings, clock))
    for start in range(0, len(prepared), batch):
        yield prepared[start : start + batch], len(prepared)


#: the names text_items gives the fields of its one text, and the line's own names
_FIELDS = {"texts[0]": "content", "metadatas[0]": "metadata", "event_times[0]": "event_time"}


def _plain(
    record: dict[str, Any],
    number: int,
    path: Path,
    user_id: str,
    cube_id: str,
    settings: ReaderSettings,
    clock: Clock,
) -> MemoryItem:
    """The memory of a ``{"content", ...}`` line; a bad value is named with its line."""
    try:
        (fresh,) = text_items(
            [record["content"]],
            user_id=user_id,
            cube_id=cube_id,
            metadatas=[record.get("metadata") or {}],
            kind=record.get("kind", "note"),
            tags=record.get("tags"),
            event_times=[record.get("event_time")],
            settings=settings,
            clock=clock,
        )
    except InvalidInputError as exc:
        message = exc.message
        for internal, name in _FIELDS.items():
            message = message.replace(internal, name)
        raise type(exc)(
            f"{path}:{number}: {message}", detail={**exc.detail, "path": str(path), "line": number}
        ) from None
    return fresh


def _exported(record: dict[str, Any], number: int, path: Path) -> MemoryItem:
    try:
        return MemoryItem.model_validate(record)
    except ValidationError as exc:
        raise InvalidInputError(
            f"{path}:{number} is not a memory: {exc}", detail={"path": str(path), "line": number}
        ) from None


def _moved(
    item: MemoryItem, id: str, new_ids: dict[str, str], user_id: str, cube_id: str
) -> MemoryItem:
    """An exported item as the importing user's memory ``id``, its links renamed by
    ``new_ids`` (those to memories outside the file are dropped)."""
    return _relinked(
        item, new_ids.get, id=id, cube_id=cube_id, user_id=user_id, owner=user_id
    )


def without_links_to(item: MemoryItem, gone: set[str], now: datetime) -> MemoryItem | None:
    """``item`` without its links to ``gone`` ids (None if it has none): for an
    imported line that links to a line stored as a repeat of an earlier memory."""
    links = {*item.supersedes, *item.merged_from, *item.previous_versions, item.superseded_by}
    if not links & gone:
        return None
    return _relinked(item, lambda i: None if i in gone else i, updated_at=now)


def _relinked(item: MemoryItem, follow: Callable[[str], str | None], **changes: Any) -> MemoryItem:
    """``item`` with each link renamed by ``follow`` (None: dropped) and ``changes``; a
    superseded item left without a successor is current again."""
    def linked(ids: list[str]) -> list[str]:
        return [new for i in ids if (new := follow(i)) is not None]

    successor = follow(item.superseded_by) if item.superseded_by else None
    changes.update(
        supersedes=linked(item.supersedes),
        superseded_by=successor,
        merged_from=linked(item.merged_from),
        previous_versions=linked(item.previous_versions),
    )
    if item.state == LifecycleState.SUPERSEDED and successor is None:  # current here
        changes.update(state=LifecycleState.ACTIVATED, valid_to=None)
    return item.model_copy(update=changes)
