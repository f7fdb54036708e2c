"""RemoteMemOS: the MemOS API over HTTP, against a ``memosys serve`` server.

It has the same methods, arguments and return types as :class:`~memosys.MemOS`
for everything the REST API covers, and raises the same
:class:`~memosys.core.errors.MemosysError` subclass that the server raised.
``user_id`` defaults to the API key's user; naming a user the key may not act
for gives :class:`~memosys.core.errors.NotFoundError`, like a missing item.
The lifecycle and governance calls live in :mod:`memosys.api.remote_lifecycle`
and :mod:`memosys.api.remote_governance`, the HTTP plumbing in
:mod:`memosys.api.remote_http`.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from pydantic import TypeAdapter

from memosys.api.packed_vectors import pack, pack_one
from memosys.api.remote_governance import GovernanceCalls
from memosys.api.remote_http import json_text, memory_segment, segment, without_none
from memosys.api.remote_lifecycle import LifecycleCalls
from memosys.core.checks import checked_flag
from memosys.core.clock import checked_time
from memosys.core.cube import MemCube
from memosys.core.errors import InvalidInputError
from memosys.core.items import MemoryItem
from memosys.core.results import SearchHit, SessionHit

if TYPE_CHECKING:
    from memosys.retrieval.search import FusionName, Mode
    from memosys.stores.base import OrderBy, Vectors

# aliases, because the method ``RemoteMemOS.list`` shadows the builtin inside the class
Items: TypeAlias = list[MemoryItem]
Cubes: TypeAlias = list[MemCube]
Hits: TypeAlias = list[SearchHit]
SessionHits: TypeAlias = list[SessionHit]
CubeRef: TypeAlias = str | list[str] | None


class RemoteMemOS(LifecycleCalls, GovernanceCalls):
    """A memory system on a server: ``RemoteMemOS("http://127.0.0.1:8765", api_key=...)``.

    ``verify`` says how to check an ``https://`` server's certificate: the system's
    CA certificates (True), a PEM file (its self-signed certificate or CA bundle) or
    an :class:`ssl.SSLContext`. ``retries``: how many more times to try connecting
    when the server cannot be reached (nothing was sent yet, so it is safe; after 0,
    0.5, 1, 2, ... s), e.g. while it restarts. ``transport`` replaces the network
    (e.g. an in-process ASGI transport in tests). It is a context manager;
    :meth:`close` releases the connections.
    """

    def _items(self, data: Any) -> Items:
        return [MemoryItem.model_validate(item) for item in data["items"]]

    # -- identity --------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        """The user the API key acts as: ``{"user_id", "admin"}``."""
        result: dict[str, Any] = self._get("/v1/me")
        return result

    # -- cubes -----------------------------------------------------------------

    def create_cube(self, name: str, *, owner: str | None = None, description: str = "") -> MemCube:
        """Create a cube owned by ``owner``; ConflictError if the name is taken."""
        data = self._send("POST", "/v1/cubes", name=name, owner=owner, description=description)
        return MemCube.model_validate(data)

    def cube(self, name_or_id: str, *, user_id: str | None = None) -> MemCube:
        """A cube of the user by name or id."""
        path = f"/v1/cubes/{segment(name_or_id, 'cube')}"
        return MemCube.model_validate(self._get(path, user_id=user_id))

    def list_cubes(self, *, user_id: str | None = None) -> Cubes:
        """The user's cubes, then the cubes shared with the user."""
        data = self._get("/v1/cubes", user_id=user_id)
        return [MemCube.model_validate(cube) for cube in data["cubes"]]

    # -- writes ----------------------------------------------------------------

    def add(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        user_id: str | None = None,
        cube: str | None = None,
        session_id: str | None = None,
        session_time: datetime | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> Items:
        """Store conversation messages, one memory per message (or per window)."""
        return self._items(
            self._send(
                "POST",
                "/v1/memories/messages",
                user_id=user_id,
                messages=messages,
                cube=cube,
                session_id=session_id,
                session_time=session_time,
                metadata=metadata,
                tags=tags,
            )
        )

    def add_texts(
        self,
        texts: Sequence[str],
        *,
        user_id: str | None = None,
        cube: str | None = None,
        embeddings: Vectors | Sequence[Sequence[float]] | None = None,
        metadatas: Sequence[dict[str, Any]] | None = None,
        kind: str = "note",
        tags: list[str] | None = None,
        event_times: Sequence[datetime] | None = None,
    ) -> Items:
        """Bulk import of plain texts; pass ``embeddings`` to skip the embedder (sent
        packed: :mod:`memosys.api.packed_vectors`)."""
        packed = None if embeddings is None else pack(embeddings, _count(texts))
        return self._items(
            self._send(
                "POST",
                "/v1/memories/texts",
                user_id=user_id,
                texts=texts,
                cube=cube,
                embeddings=embeddings if packed is None else None,
                embeddings_base64=packed,
                metadatas=metadatas,
                kind=kind,
                tags=tags,
                event_times=event_times,
            )
        )

    def add_document(
        self,
        source: str | Path,
        *,
        user_id: str | None = None,
        cube: str | None = None,
        text: str | bytes | None = None,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> Items:
        """Upload a document (a path, or ``text`` named by ``source``) to be chunked.

        A file is read here and uploaded under its path, which becomes
        ``source_ref`` as it would locally; a file whose suffix names no known
        format is read as Markdown (locally: as plain paragraphs).
        """
        if not isinstance(source, str | Path) or not str(source).strip():
            raise InvalidInputError(
                "source must be a file path, or a name for the text given with text=",
                detail={"field": "source"},
            )
        content = self._document_bytes(Path(source), text)
        form = without_none(
            {
                "user_id": user_id,
                "cube": cube,
                "title": title,
                "tags": tags,
                "metadata": None if metadata is None else json_text(metadata, "metadata"),
            }
        )
        files = {"file": (str(source), content, "application/octet-stream")}
        return self._items(self._request("POST", "/v1/memories/documents", data=form, files=files))

    @staticmethod
    def _document_bytes(path: Path, text: str | bytes | None) -> bytes:
        if isinstance(text, bytes):
            return text
        if isinstance(text, str):
            return text.encode("utf-8", "surrogatepass")
        if text is not None:
            raise InvalidInputError("text must be a string", detail={"field": "text"})
        try:
            return path.read_bytes()
        except OSError as exc:
            raise InvalidInputError(
                f"cannot read document {path}: {exc.strerror}; pass an existing file or text=",
                detail={"field": "source"},
            ) from exc

    def update(
        self,
        id: str,
        *,
        user_id: str | None = None,
        content: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
        importance: float | None = None,
        kind: str | None = None,
        if_version: int | None = None,
    ) -> MemoryItem:
        """Change a memory's content or metadata; a new content is re-embedded
        (``if_version``: only if it is still at that version)."""
        data = self._send(
            "PATCH",
            f"/v1/memories/{memory_segment(id)}",
            user_id=user_id,
            content=content,
            metadata=metadata,
            tags=tags,
            importance=importance,
            kind=kind,
            if_version=if_version,
        )
        return MemoryItem.model_validate(data)

    def delete(
        self, id: str, *, user_id: str | None = None, if_version: int | None = None
    ) -> None:
        """Delete a memory (``if_version``: only if it is still at that version)."""
        path = f"/v1/memories/{memory_segment(id)}"
        params = without_none({"user_id": user_id, "if_version": if_version})
        self._request("DELETE", path, params=params)

    # -- reads -----------------------------------------------------------------

    def get(self, id: str, *, user_id: str | None = None) -> MemoryItem:
        """One memory by id; NotFoundError if missing or not visible."""
        path = f"/v1/memories/{memory_segment(id)}"
        return MemoryItem.model_validate(self._get(path, user_id=user_id))

    def list(
        self,
        *,
        user_id: str | None = None,
        cube: str | None = None,
        filters: dict[str, Any] | None = None,
        limit: int = 100,
        offset: int = 0,
        order_by: OrderBy = "created_at",
        include_history: bool = False,
        include_archived: bool = False,
        as_of: datetime | None = None,
        snapshot: str | None = None,
    ) -> Items:
        """Memories of the user (optionally one cube), filtered, in a stable order."""
        data = self._get(
            "/v1/memories",
            user_id=user_id,
            cube=cube,
            filters=None if filters is None else json_text(filters, "filters"),
            limit=limit,
            offset=offset,
            order_by=order_by,
            include_history=checked_flag(include_history, "include_history"),
            include_archived=checked_flag(include_archived, "include_archived"),
            as_of=None if as_of is None else checked_time(as_of, "as_of"),
            snapshot=_snapshot_name(snapshot),
        )
        return self._items(data)

    def count(
        self,
        *,
        user_id: str | None = None,
        cube: str | None = None,
        filters: dict[str, Any] | None = None,
        include_history: bool = False,
        include_archived: bool = False,
    ) -> int:
        """How many memories match, as :meth:`list` would return them."""
        data = self._get(
            "/v1/memories/count",
            user_id=user_id,
            cube=cube,
            filters=None if filters is None else json_text(filters, "filters"),
            include_history=checked_flag(include_history, "include_history"),
            include_archived=checked_flag(include_archived, "include_archived"),
        )
        return int(data["count"])

    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        cube: CubeRef = None,
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        mode: Mode = "hybrid",
        fusion: FusionName | None = None,
        recency_weight: float = 0.0,
        importance_weight: float = 0.0,
        mmr: float | None = None,
        neighbours: int = 0,
        include_history: bool = False,
        include_archived: bool = False,
        as_of: datetime | None = None,
        snapshot: str | None = None,
        record_access: bool = True,
        query_vector: Vectors | Sequence[float] | None = None,
    ) -> Hits:
        """Hybrid search; every hit carries an ``explain``."""
        data = self._send(
            "POST",
            "/v1/search",
            **_query_vector(query_vector),
            query=query,
            user_id=user_id,
            cube=cube,
            top_k=top_k,
            filters=filters,
            mode=mode,
            fusion=fusion,
            recency_weight=recency_weight,
            importance_weight=importance_weight,
            mmr=mmr,
            neighbours=neighbours,
            include_history=include_history,
            include_archived=include_archived,
            as_of=None if as_of is None else checked_time(as_of, "as_of"),
            snapshot=snapshot,
            record_access=record_access,
        )
        return _HITS.validate_python(data["hits"])

    def search_sessions(
        self,
        query: str,
        *,
        user_id: str | None = None,
        cube: CubeRef = None,
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        mode: Mode = "hybrid",
        query_vector: Vectors | Sequence[float] | None = None,
    ) -> SessionHits:
        """Sessions ranked by the message hits they contain."""
        data = self._send(
            "POST",
            "/v1/search/sessions",
            **_query_vector(query_vector),
            query=query,
            user_id=user_id,
            cube=cube,
            top_k=top_k,
            filters=filters,
            mode=mode,
        )
        return _SESSIONS.validate_python(data["sessions"])

    def stats(self, *, user_id: str | None = None) -> dict[str, int]:
        """Counts of users, cubes, items and vectors, and the database size, for an admin
        key acting for itself; otherwise counts of the user's cubes, items and vectors."""
        result: dict[str, int] = self._get("/v1/stats", user_id=user_id)
        return result


_HITS = TypeAdapter(Hits)
_SESSIONS = TypeAdapter(SessionHits)


def _snapshot_name(name: object) -> str | None:
    """A snapshot name as a query parameter: text (the server checks the rest), as
    ``5`` would be sent as the name ``"5"``."""
    if name is not None and not isinstance(name, str):
        raise InvalidInputError(f"snapshot name must be printable text, got {name!r}")
    return name


def _count(texts: object) -> int:
    """How many texts were given (0 when ``texts`` has no length: the server says why)."""
    return len(texts) if isinstance(texts, Sized) else 0


def _query_vector(vector: object) -> dict[str, Any]:
    """A search's query vector as sent: packed, else (not a finite vector) as a list for
    the server to name what is wrong."""
    packed = None if vector is None else pack_one(vector)
    return {"query_vector": vector} if packed is None else {"query_vector_base64": packed}
