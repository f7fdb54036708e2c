"""Memories: add messages, texts and documents; get, list, count, update, delete."""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from memosys.api.packed_vectors import sent
from memosys.core.errors import InvalidInputError
from memosys.core.items import MemoryItem
from memosys.reader.validate import check_text
from memosys.server.auth import CallerDep
from memosys.server.paths import SegmentRoute
from memosys.server.schemas import (
    IF_VERSION,
    MAX_OFFSET,
    MAX_PAGE,
    AddMessagesIn,
    AddTextsIn,
    CountOut,
    ItemsOut,
    Time,
    UpdateIn,
    UserQuery,
)
from memosys.stores.base import OrderBy

router = APIRouter(prefix="/v1/memories", tags=["memories"], route_class=SegmentRoute)
CubeQuery = Annotated[str | None, Query(description="cube name or id; default: all cubes")]
FiltersQuery = Annotated[
    str | None, Query(description='a filter as JSON, e.g. {"kind": "fact"}')
]


def _json_object(text: str | None, name: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInputError(f"{name} is not valid JSON: {exc}", detail={"field": name}) from exc
    except RecursionError:
        raise InvalidInputError(
            f"{name} nests too deeply to read; flatten it", detail={"field": name}
        ) from None
    if not isinstance(value, dict):
        raise InvalidInputError(f"{name} must be a JSON object", detail={"field": name})
    return value


@router.post("/messages", response_model=ItemsOut, status_code=201)
def add_messages(body: AddMessagesIn, caller: CallerDep) -> ItemsOut:
    """Store chat messages, one memory per message (or per window)."""
    return ItemsOut(items=caller.write_body("add", body, "messages"))


@router.post("/texts", response_model=ItemsOut, status_code=201)
def add_texts(body: AddTextsIn, caller: CallerDep) -> ItemsOut:
    """Bulk import of plain texts, optionally with their embeddings (as a list, or packed)."""
    values = body.model_dump(exclude={"embeddings_base64"})
    values["embeddings"] = sent(body.embeddings, body.embeddings_base64, len(body.texts),
                                "embeddings_base64")
    return ItemsOut(items=caller.write_values("add_texts", values, "texts"))


@router.post("/documents", response_model=ItemsOut, status_code=201)
def add_document(
    caller: CallerDep,
    file: Annotated[UploadFile, File(description="the document; its name picks the format")],
    user_id: Annotated[str | None, Form()] = None,
    cube: Annotated[str | None, Form()] = None,
    title: Annotated[str | None, Form()] = None,
    metadata: Annotated[str | None, Form(description="a JSON object")] = None,
    tags: Annotated[list[str] | None, Form(description="one field per tag")] = None,
) -> ItemsOut:
    """Upload a document (text, Markdown, HTML, reStructuredText) and chunk it."""
    name = file.filename or "upload.txt"
    content = check_text(file.file.read(), "file")
    items = caller.write(
        "add_document",
        name,
        text=content,
        user_id=caller.user(user_id),
        cube=cube,
        title=title,
        metadata=_json_object(metadata, "metadata"),
        tags=tags,
    )
    return ItemsOut(items=items)


@router.get("", response_model=ItemsOut)
def list_memories(
    caller: CallerDep,
    user_id: UserQuery = None,
    cube: CubeQuery = None,
    filters: FiltersQuery = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    order_by: OrderBy = "created_at",
    include_history: bool = False,
    include_archived: bool = False,
    as_of: Annotated[Time | None, Query(description="the memories as they were then")] = None,
    snapshot: Annotated[str | None, Query(description="a named snapshot of the cube")] = None,
) -> ItemsOut:
    """Memories in a stable order, filtered, one page at a time."""
    items = caller.run(
        caller.mos.list,
        user_id=caller.user(user_id),
        cube=cube,
        filters=_json_object(filters, "filters"),
        limit=limit,
        offset=offset,
        order_by=order_by,
        include_history=include_history,
        include_archived=include_archived,
        as_of=as_of,
        snapshot=snapshot,
    )
    return ItemsOut(items=items)


@router.get("/count", response_model=CountOut)
def count_memories(
    caller: CallerDep,
    user_id: UserQuery = None,
    cube: CubeQuery = None,
    filters: FiltersQuery = None,
    include_history: bool = False,
    include_archived: bool = False,
) -> CountOut:
    """How many memories match, as the list would return them."""
    count = caller.run(
        caller.mos.count,
        user_id=caller.user(user_id),
        cube=cube,
        filters=_json_object(filters, "filters"),
        include_history=include_history,
        include_archived=include_archived,
    )
    return CountOut(count=count)


@router.get("/{id}", response_model=MemoryItem)
def get_memory(id: str, caller: CallerDep, user_id: UserQuery = None) -> MemoryItem:
    """One memory by id (404 if missing or not visible)."""
    return caller.run(caller.mos.get, id, user_id=caller.user(user_id))


@router.patch("/{id}", response_model=MemoryItem)
def update_memory(id: str, body: UpdateIn, caller: CallerDep) -> MemoryItem:
    """Change content or metadata; new content is re-embedded."""
    return caller.run_body(partial(caller.mos.update, id), body)


@router.delete("/{id}", status_code=204, response_class=Response)
def delete_memory(
    id: str,
    caller: CallerDep,
    user_id: UserQuery = None,
    if_version: Annotated[int | None, Query(ge=1, description=IF_VERSION)] = None,
) -> Response:
    """Delete a memory everywhere."""
    caller.run(caller.mos.delete, id, user_id=caller.user(user_id), if_version=if_version)
    return Response(status_code=204)
