"""RemoteMemOS: the MemOS API over HTTP, against a ``memosys serve`` server.

It has the same methods, arguments and return types as :class:`~memosys.MemOS`
for everything the REST API covers, and raises the same
:class:`~memosys.core.errors.MemosysError` subclass that the server raised.
``user_id`` defaults to the API key's user; naming a user the key may not act
for gives :class:`~memosys.core.errors.NotFoundError`, like a missing item.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import quote

import httpx
import numpy as np
from pydantic import TypeAdapter
from pydantic_core import to_jsonable_python

from memosys.core.cube import MemCube
from memosys.core.errors import InvalidInputError, MemosysError, error_class
from memosys.core.history import CubeSnapshot, ItemVersion, RestoreReport
from memosys.core.items import MemoryItem
from memosys.core.results import SearchHit, SessionHit
from memosys.governance.models import (
    ApiKeyInfo,
    AuditRecord,
    AuditVerification,
    IssuedKey,
    Share,
)
from memosys.lifecycle.forget import ForgetReceipt

if TYPE_CHECKING:
    from memosys.governance.models import Access
    from memosys.retrieval.search import FusionName, Mode
    from memosys.stores.base import OrderBy, Vectors

DEFAULT_TIMEOUT_S = 60.0
# aliases, because the method ``RemoteMemOS.list`` shadows the builtin inside the class
Items: TypeAlias = list[MemoryItem]
Cubes: TypeAlias = list[MemCube]
Shares: TypeAlias = list[Share]
Keys: TypeAlias = list[ApiKeyInfo]
Records: TypeAlias = list[AuditRecord]
Hits: TypeAlias = list[SearchHit]
SessionHits: TypeAlias = list[SessionHit]
Versions: TypeAlias = list[ItemVersion]
Snapshots: TypeAlias = list[CubeSnapshot]
CubeRef: TypeAlias = str | list[str] | None


def _segment(value: object, what: str) -> str:
    """A path segment, percent-encoded; an empty or non-string value is refused here."""
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{what} must be a non-empty string, got {value!r}")
    return quote(value, safe="")


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    return to_jsonable_python(value)


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: _jsonable(value) for key, value in values.items() if value is not None}


def _raise_for(response: httpx.Response) -> None:
    """Re-raise the server's error as the same MemosysError subclass."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
        name, message, detail = body["error"], body["message"], body.get("detail") or {}
    except (ValueError, KeyError, TypeError):
        raise MemosysError(
            f"HTTP {response.status_code} from {response.request.url}: {response.text[:200]}",
            detail={"status": response.status_code},
        ) from None
    raise error_class(str(name))(str(message), detail=dict(detail))


class RemoteMemOS:
    """A memory system on a server: ``RemoteMemOS("http://127.0.0.1:8765", api_key=...)``.

    ``transport`` replaces the network (e.g. an in-process ASGI transport in
    tests). It is a context manager; :meth:`close` releases the connections.
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url, headers=headers, transport=transport, timeout=timeout
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> RemoteMemOS:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- transport -------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise MemosysError(
                f"cannot reach the memosys server at {self.url} ({exc}); "
                "check the URL and that `memosys serve` is running",
                detail={"url": self.url},
            ) from exc
        _raise_for(response)
        return None if response.status_code == 204 else response.json()

    def _get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params=_without_none(params))

    def _send(self, method: str, path: str, **body: Any) -> Any:
        return self._request(method, path, json=_without_none(body))

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
        path = f"/v1/cubes/{_segment(name_or_id, 'cube')}"
        return MemCube.model_validate(self._get(path, user_id=user_id))

    def list_cubes(self, *, user_id: str | None = None) -> Cubes:
        """The user's cubes, then the cubes shared with the user."""
        data = self._get("/v1/cubes", user_id=user_id)
        return [MemCube.model_validate(cube) for cube in data["cubes"]]

    def share_cube(
        self, cube: str, *, user_id: str | None = None, with_user: str, access: Access = "read"
    ) -> Share:
        """Share a cube with another user, ``read`` or ``write``."""
        path = f"/v1/cubes/{_segment(cube, 'cube')}/shares"
        data = self._send("POST", path, user_id=user_id, with_user=with_user, access=access)
        return Share.model_validate(data)

    def unshare_cube(self, cube: str, *, user_id: str | None = None, with_user: str) -> None:
        """Revoke a share."""
        path = f"/v1/cubes/{_segment(cube, 'cube')}/shares/{_segment(with_user, 'with_user')}"
        self._request("DELETE", path, params=_without_none({"user_id": user_id}))

    def list_shares(self, cube: str, *, user_id: str | None = None) -> Shares:
        """Who a cube is shared with."""
        data = self._get(f"/v1/cubes/{_segment(cube, 'cube')}/shares", user_id=user_id)
        return [Share.model_validate(share) for share in data["shares"]]

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
        """Bulk import of plain texts; pass ``embeddings`` to skip the embedder."""
        return self._items(
            self._send(
                "POST",
                "/v1/memories/texts",
                user_id=user_id,
                texts=texts,
                cube=cube,
                embeddings=embeddings,
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
        form = _without_none(
            {
                "user_id": user_id,
                "cube": cube,
                "title": title,
                "tags": tags,
                "metadata": None if metadata is None else _json_text(metadata),
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
    ) -> MemoryItem:
        """Change a memory's content or metadata; a new content is re-embedded."""
        data = self._send(
            "PATCH",
            f"/v1/memories/{_segment(id, 'id')}",
            user_id=user_id,
            content=content,
            metadata=metadata,
            tags=tags,
            importance=importance,
            kind=kind,
        )
        return MemoryItem.model_validate(data)

    def delete(self, id: str, *, user_id: str | None = None) -> None:
        """Delete a memory."""
        path = f"/v1/memories/{_segment(id, 'id')}"
        self._request("DELETE", path, params=_without_none({"user_id": user_id}))

    # -- reads -----------------------------------------------------------------

    def get(self, id: str, *, user_id: str | None = None) -> MemoryItem:
        """One memory by id; NotFoundError if missing or not visible."""
        path = f"/v1/memories/{_segment(id, 'id')}"
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
            filters=None if filters is None else _json_text(filters),
            limit=limit,
            offset=offset,
            order_by=order_by,
            include_history=include_history,
            include_archived=include_archived,
            as_of=as_of,
            snapshot=snapshot,
        )
        return self._items(data)

    def count(
        self,
        *,
        user_id: str | None = None,
        cube: str | None = None,
        filters: dict[str, Any] | None = None,
    ) -> int:
        """How many memories match."""
        data = self._get(
            "/v1/memories/count",
            user_id=user_id,
            cube=cube,
            filters=None if filters is None else _json_text(filters),
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
    ) -> Hits:
        """Hybrid search; every hit carries an ``explain``."""
        data = self._send(
            "POST",
            "/v1/search",
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
            as_of=as_of,
            snapshot=snapshot,
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
    ) -> SessionHits:
        """Sessions ranked by the message hits they contain."""
        data = self._send(
            "POST",
            "/v1/search/sessions",
            query=query,
            user_id=user_id,
            cube=cube,
            top_k=top_k,
            filters=filters,
            mode=mode,
        )
        return _SESSIONS.validate_python(data["sessions"])

    def stats(self) -> dict[str, Any]:
        """Counts of users, cubes, items and vectors, and the database size."""
        result: dict[str, Any] = self._get("/v1/stats")
        return result

    # -- lifecycle -------------------------------------------------------------

    def history(self, id: str, *, user_id: str | None = None) -> Versions:
        """Every version of a memory, numbered from 1."""
        data = self._get(f"/v1/memories/{_segment(id, 'id')}/history", user_id=user_id)
        return _VERSIONS.validate_python(data["versions"])

    def rollback(self, id: str, version: int, *, user_id: str | None = None) -> MemoryItem:
        """Make an earlier version current again, as a new version."""
        path = f"/v1/memories/{_segment(id, 'id')}/rollback"
        return MemoryItem.model_validate(self._send("POST", path, version=version, user_id=user_id))

    def freeze(self, id: str, *, user_id: str | None = None) -> MemoryItem:
        """Freeze a memory: it cannot change until unfrozen."""
        return self._change_state(id, "freeze", user_id)

    def unfreeze(self, id: str, *, user_id: str | None = None) -> MemoryItem:
        """Give a frozen memory back the state it had."""
        return self._change_state(id, "unfreeze", user_id)

    def archive(self, id: str, *, user_id: str | None = None) -> MemoryItem:
        """Archive a memory: left out of search and list unless ``include_archived``."""
        return self._change_state(id, "archive", user_id)

    def unarchive(self, id: str, *, user_id: str | None = None) -> MemoryItem:
        """Bring an archived memory back."""
        return self._change_state(id, "unarchive", user_id)

    def _change_state(self, id: str, change: str, user_id: str | None) -> MemoryItem:
        path = f"/v1/memories/{_segment(id, 'id')}/{change}"
        return MemoryItem.model_validate(self._send("POST", path, user_id=user_id))

    def forget(self, id: str, *, user_id: str | None = None) -> ForgetReceipt:
        """Remove a memory everywhere (the receipt carries no texts over HTTP)."""
        path = f"/v1/memories/{_segment(id, 'id')}/forget"
        return ForgetReceipt(**self._send("POST", path, user_id=user_id))

    def forget_user(self, user_id: str) -> ForgetReceipt:
        """Remove everything of a user (that user's key, or an admin key)."""
        path = f"/v1/users/{_segment(user_id, 'user_id')}"
        return ForgetReceipt(**self._request("DELETE", path))

    def snapshot(self, cube: str, name: str, *, user_id: str | None = None) -> CubeSnapshot:
        """Name the cube's present state."""
        path = f"/v1/cubes/{_segment(cube, 'cube')}/snapshots"
        return CubeSnapshot.model_validate(self._send("POST", path, name=name, user_id=user_id))

    def list_snapshots(
        self, *, user_id: str | None = None, cube: str | None = None
    ) -> Snapshots:
        """Snapshots of the user's cubes (or of one cube)."""
        data = self._get("/v1/snapshots", user_id=user_id, cube=cube)
        return [CubeSnapshot.model_validate(s) for s in data["snapshots"]]

    def restore_snapshot(
        self, cube: str, name: str, *, user_id: str | None = None
    ) -> RestoreReport:
        """Make the cube's memories what they were at the snapshot."""
        path = f"/v1/cubes/{_segment(cube, 'cube')}/snapshots/{_segment(name, 'name')}/restore"
        return RestoreReport.model_validate(self._send("POST", path, user_id=user_id))

    # -- governance ------------------------------------------------------------

    def create_user(self, user_id: str, *, admin: bool = False) -> IssuedKey:
        """Create a user with its first API key (admin keys only)."""
        data = self._send("POST", "/v1/users", user_id=user_id, admin=admin)
        return IssuedKey.model_validate(data)

    def create_key(self, *, user_id: str | None = None, name: str = "") -> IssuedKey:
        """A new API key for the user; its plaintext is shown only here."""
        return IssuedKey.model_validate(self._send("POST", "/v1/keys", user_id=user_id, name=name))

    def revoke_key(self, key_id: str, *, user_id: str | None = None) -> None:
        """Revoke one of the user's keys."""
        path = f"/v1/keys/{_segment(key_id, 'key_id')}"
        self._request("DELETE", path, params=_without_none({"user_id": user_id}))

    def list_keys(self, *, user_id: str | None = None) -> Keys:
        """The user's API keys, without their secrets."""
        data = self._get("/v1/keys", user_id=user_id)
        return [ApiKeyInfo.model_validate(key) for key in data["keys"]]

    def audit_log(
        self,
        *,
        user_id: str | None = None,
        cube: str | None = None,
        item_id: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> Records:
        """Audit records the user may see."""
        data = self._get(
            "/v1/audit",
            user_id=user_id,
            cube=cube,
            item_id=item_id,
            action=action,
            since=since,
            limit=limit,
        )
        return [AuditRecord.model_validate(record) for record in data["records"]]

    def verify_audit(self) -> AuditVerification:
        """Check the audit hash chain on the server."""
        return AuditVerification.model_validate(self._get("/v1/audit/verify"))


_HITS = TypeAdapter(Hits)
_SESSIONS = TypeAdapter(SessionHits)
_VERSIONS = TypeAdapter(Versions)


def _json_text(value: Any) -> str:
    return json.dumps(_jsonable(value))
