"""Request and response bodies of the REST API (they make the OpenAPI schema).

Requests check types and hard bounds only (numbers strictly: JSON tells ``5``
from ``"5"`` or ``true``, and MemOS refuses those too); every other rule is checked by
:class:`~memosys.MemOS` itself, so the server and the library raise the same
error classes for the same bad input.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
)

from memosys.core.cube import MemCube
from memosys.core.history import CubeSnapshot, ItemVersion
from memosys.core.items import MemoryItem
from memosys.core.results import SearchHit, SessionHit
from memosys.governance.models import ApiKeyInfo, AuditRecord, Share

MAX_TOP_K = 1000
MAX_PAGE = 1000
MAX_OFFSET = 1_000_000_000
MAX_NEIGHBOURS = 50

ACT_FOR = "act for this user (admins only); default: the key's user"
UserField = Field(None, description=ACT_FOR)
UserQuery = Annotated[str | None, Query(description=ACT_FOR)]
IF_VERSION = "change the memory only if it is still at this version (409 VersionConflictError)"
Weight = Field(0.0, ge=0, allow_inf_nan=False)


def _not_a_number(value: object) -> object:
    """Refuse a number for a time: pydantic would read ``1700000000`` (or ``"20240501"``)
    as Unix seconds, where MemOS takes only times and ISO 8601 text."""
    if isinstance(value, int | float) or (isinstance(value, str) and _is_number(value)):
        raise ValueError(
            f"give an ISO 8601 date or date-time (e.g. 2024-05-01T12:00:00Z), not {value!r}"
        )
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


Time = Annotated[datetime, BeforeValidator(_not_a_number)]  # a time in a request


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MessageIn(BaseModel):
    """One chat message."""

    model_config = ConfigDict(extra="allow")

    role: str = Field(description="e.g. user or assistant")
    content: str
    name: str | None = Field(None, description="the speaker's name")
    timestamp: Time | None = None
    id: str | None = None
    metadata: dict[str, Any] | None = None


class AddMessagesIn(_In):
    """``POST /v1/memories/messages``."""

    user_id: str | None = UserField
    messages: list[MessageIn]
    cube: str | None = Field(None, description="cube name or id (created if missing)")
    session_id: str | None = None
    session_time: Time | None = None
    metadata: dict[str, Any] | None = None
    tags: list[str] | None = None


class AddTextsIn(_In):
    """``POST /v1/memories/texts``."""

    user_id: str | None = UserField
    texts: list[str]
    cube: str | None = None
    embeddings: list[list[float]] | None = Field(
        None, description="one unit vector per text from the configured embedder"
    )
    embeddings_base64: str | None = Field(
        None,
        description="the embeddings packed instead: little-endian float32 values, one vector "
        "per text, row after row, in one base64 string (a quarter of the JSON list's size, "
        "and far cheaper to write and to read)",
        json_schema_extra={"contentEncoding": "base64"},
    )
    metadatas: list[dict[str, Any]] | None = None
    kind: str = "note"
    tags: list[str] | None = None
    event_times: list[Time] | None = None


class UpdateIn(_In):
    """``PATCH /v1/memories/{id}``: only the fields given change."""

    user_id: str | None = UserField
    content: str | None = None
    metadata: dict[str, Any] | None = None
    tags: list[str] | None = None
    importance: StrictFloat | None = Field(None, allow_inf_nan=False)
    kind: str | None = None
    if_version: StrictInt | None = Field(None, ge=1, description=IF_VERSION)


class SessionSearchIn(_In):
    """``POST /v1/search/sessions``."""

    user_id: str | None = UserField
    query: str
    cube: str | list[str] | None = Field(None, description="cube name/id, a list, or all")
    top_k: StrictInt = Field(10, ge=1, le=MAX_TOP_K)
    filters: dict[str, Any] | None = None
    mode: Literal["hybrid", "bm25", "dense"] = "hybrid"
    query_vector: list[float] | None = Field(
        None, description="the query's embedding by the configured embedder, if the client "
        "has it (the server then does not embed the query)"
    )
    query_vector_base64: str | None = Field(
        None, description="query_vector packed instead: little-endian float32 values in one "
        "base64 string", json_schema_extra={"contentEncoding": "base64"},
    )


class SearchIn(SessionSearchIn):
    """``POST /v1/search``."""

    fusion: Literal["rrf", "weighted"] | None = None
    recency_weight: StrictFloat = Weight
    importance_weight: StrictFloat = Weight
    mmr: StrictFloat | None = Field(None, ge=0, le=1, allow_inf_nan=False)
    neighbours: StrictInt = Field(0, ge=0, le=MAX_NEIGHBOURS)
    include_history: StrictBool = Field(
        False, description="also earlier versions and deleted items"
    )
    include_archived: StrictBool = False
    as_of: Time | None = Field(None, description="search the memories as they were then")
    snapshot: str | None = Field(None, description="search a named snapshot of the cube")
    record_access: StrictBool = Field(
        True, description="count the hits as used (decay, LRU/LFU caps); false when browsing"
    )


class CubeIn(_In):
    """``POST /v1/cubes``."""

    name: str
    owner: str | None = UserField
    description: str = ""


class ShareIn(_In):
    """``POST /v1/cubes/{cube}/shares``."""

    user_id: str | None = UserField
    with_user: str
    access: Literal["read", "write"] = "read"


class NewUserIn(_In):
    """``POST /v1/users`` (admins only)."""

    user_id: str
    admin: StrictBool = False


class KeyIn(_In):
    """``POST /v1/keys``."""

    user_id: str | None = UserField
    name: str = ""


class UserIn(_In):
    """A body that only names the user to act for."""

    user_id: str | None = UserField


class RollbackIn(UserIn):
    """``POST /v1/memories/{id}/rollback``."""

    version: StrictInt = Field(ge=1)


class SnapshotIn(UserIn):
    """``POST /v1/cubes/{cube}/snapshots``."""

    name: str


class ForgetOut(BaseModel):
    """What was forgotten (the removed texts are never sent back)."""

    item_ids: list[str]
    by_cube: dict[str, list[str]]
    versions: int
    user_id: str | None = None
    compacted: bool


class VersionsOut(BaseModel):
    """Every version of a memory, oldest first."""

    versions: list[ItemVersion]


class SnapshotsOut(BaseModel):
    """Named snapshots of cubes."""

    snapshots: list[CubeSnapshot]


class ItemsOut(BaseModel):
    """Memories."""

    items: list[MemoryItem]


class CountOut(BaseModel):
    """How many memories match."""

    count: int


class HitsOut(BaseModel):
    """Search hits, best first."""

    hits: list[SearchHit]


class SessionsOut(BaseModel):
    """Sessions ranked by their hits."""

    sessions: list[SessionHit]


class CubesOut(BaseModel):
    """Cubes: the user's own, then those shared with the user."""

    cubes: list[MemCube]


class SharesOut(BaseModel):
    """Who a cube is shared with."""

    shares: list[Share]


class KeysOut(BaseModel):
    """API keys (never their secret)."""

    keys: list[ApiKeyInfo]


class RecordsOut(BaseModel):
    """Audit records."""

    records: list[AuditRecord]


class MeOut(BaseModel):
    """The principal of the API key."""

    user_id: str
    admin: bool


class HealthOut(BaseModel):
    """Liveness."""

    status: Literal["ok"] = "ok"


class ReadyOut(BaseModel):
    """Readiness: ``warming`` (HTTP 503) while the startup warm-up loads the model and
    the search indexes, then ``ready``; ``draining`` (503) once a SIGTERM asked the
    server to stop (``serve --drain-s``)."""

    status: Literal["ready", "warming", "draining"]
