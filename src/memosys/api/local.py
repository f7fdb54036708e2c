"""MemOS: the in-process facade and composition root.

It builds the store, the embedder and the retriever from one settings
object, resolves users and cubes, validates every argument, and delegates.
This module holds the memory methods (add, search, get, update, delete,
list, bulk); the other method groups live next to it, one module each:
``governance_methods``, ``version_methods``, ``upkeep_methods``,
``parametric_methods`` and ``generation_methods``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeAlias

from memosys.api.access import AccessRecorder
from memosys.api.cubes import Cubes
from memosys.api.facade import DATABASE_FILE
from memosys.api.generation_methods import GenerationMethods
from memosys.api.given_vectors import checked_embeddings, checked_query_vector
from memosys.api.governance_methods import GovernanceMethods
from memosys.api.parametric_methods import ParametricMethods
from memosys.api.transfer_methods import TransferMethods
from memosys.api.upkeep_methods import UpkeepMethods
from memosys.api.version_methods import VersionMethods
from memosys.core.checks import checked_flag
from memosys.core.clock import Clock, SystemClock
from memosys.core.cube import MemCube
from memosys.core.errors import InvalidInputError, NotFoundError, StoreError
from memosys.core.events import ChangeEvents
from memosys.core.files import replace_text
from memosys.core.filters import Eq, parse_filter
from memosys.core.items import MemoryItem, content_hash
from memosys.core.results import SearchHit, SessionHit
from memosys.governance.service import Governance
from memosys.governance.store import governance_store
from memosys.lifecycle import versions as lifecycle_versions
from memosys.lifecycle.fact_lookup import lead_with_current_facts
from memosys.lifecycle.merge_repair import MergeRepair
from memosys.lifecycle.supersede import RuleJudge, Superseder
from memosys.lifecycle.versions import version_store
from memosys.models.embedders.base import Embedder
from memosys.reader.documents import read_document
from memosys.reader.enrich import analyse
from memosys.reader.messages import read_messages
from memosys.reader.texts import text_items
from memosys.reader.validate import checked_changes, checked_content
from memosys.retrieval.search import (
    FusionName,
    Mode,
    Retriever,
    SearchOptions,
    checked_query,
    visible_filter,
)
from memosys.settings import MemosysSettings
from memosys.stores.base import OrderBy, Scope, Store, Vectors

SETTINGS_FILE = "settings.json"
# aliases, because the method ``MemOS.list`` shadows the builtin inside the class
Items: TypeAlias = list[MemoryItem]
Hits: TypeAlias = list[SearchHit]
SessionHits: TypeAlias = list[SessionHit]
CubeList: TypeAlias = list[MemCube]
CubeRef: TypeAlias = str | list[str] | None


def default_home() -> Path:
    """``$MEMOSYS_HOME``, else ``~/.memosys`` (read at call time)."""
    return Path(os.environ.get("MEMOSYS_HOME") or Path.home() / ".memosys")


def _settings_for(directory: Path | None, given: MemosysSettings | None) -> MemosysSettings:
    from memosys.settings import load_settings

    saved = directory / SETTINGS_FILE if directory else None
    if given is not None:
        settings = given
    elif saved is not None and saved.exists():
        settings = load_settings(saved)
    else:
        settings = load_settings()
    if saved is not None:
        _save_settings(saved, settings.model_dump_json(indent=2))
    return settings


def _save_settings(path: Path, text: str) -> None:
    """Write ``settings.json`` unless it already says ``text``; whole, because the other
    processes that open the data directory (``--workers``, write processes) read it."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass  # not there yet, or unreadable: written anew
    replace_text(path, text)


class MemOS(
    GovernanceMethods,
    VersionMethods,
    UpkeepMethods,
    ParametricMethods,
    GenerationMethods,
    TransferMethods,
):
    """A memory system: add, search, get, update, delete and list memories.

    Open one with :meth:`open`; it is a context manager. Every method that
    touches memories takes the ``user_id`` it acts for.
    """

    def __init__(
        self,
        store: Store,
        settings: MemosysSettings,
        embedder: Embedder,
        clock: Clock,
        data_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.data_dir = data_dir
        self._store = store
        self._clock = clock
        self._embedder = embedder
        self._governance = Governance(governance_store(store), clock, settings.governance)
        self._cubes = Cubes(store, clock, self._governance)
        self._retriever = Retriever(store, embedder, settings.retrieval, clock)
        self._access = AccessRecorder(store)
        self.events = ChangeEvents(store.transaction)
        """Subscribe here to hear about every committed add, update and delete."""
        self.events.journal(self._governance.record_change)  # audited in the same transaction
        judge = RuleJudge(settings.lifecycle.supersede_min_similarity)
        self.superseder = Superseder(store, embedder, self.events, clock, judge)
        """Knowledge-update detection; set its ``judge`` to plug in another ConflictJudge."""
        if settings.lifecycle.supersede:
            self.events.subscribe(self.superseder)
        self.events.subscribe(MergeRepair(store, embedder, self.events, clock))
        # KV caches and adapters on disk hear every change, even before this instance uses them
        self.events.subscribe(self._tell_activation)
        self.events.subscribe(self._tell_parametric)

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        settings: MemosysSettings | None = None,
        clock: Clock | None = None,
        embedder: Embedder | None = None,
        background_jobs: bool | None = None,
        create: bool = True,
        shared_indexes: bool = False,
    ) -> MemOS:
        """Open (creating if needed) the memory system in a data directory.

        ``path`` is a directory, or ``":memory:"`` for a throw-away instance;
        ``None`` means ``$MEMOSYS_HOME``, else ``~/.memosys``. Settings are saved
        in the directory on first open and reused later unless given.
        ``background_jobs`` (default: ``lifecycle.background_jobs``) runs the
        scheduled upkeep jobs in a background thread until close (see
        :meth:`start_jobs`). ``create=False`` opens only an existing data
        directory (NotFoundError otherwise), so that a mistyped path is not
        taken for a new, empty one, nor an emptied database file for a new
        store (StoreError). ``shared_indexes`` shares each large cube's HNSW
        index with the other processes that open the directory so (one keeps
        it, the others map its saved copy: ``memosys serve --workers``).
        """
        from memosys.models.embedders.cached import CachingEmbedder
        from memosys.models.embedders.factory import build_embedder
        from memosys.stores.sqlite import SQLiteStore

        clock = clock or SystemClock()
        directory: Path | None = None
        if str(path) != ":memory:":
            directory = Path(path) if path is not None else default_home()
            if directory.exists() and not directory.is_dir():
                raise InvalidInputError(f"{directory} is a file; pass a data directory")
            if not create and not (directory / DATABASE_FILE).is_file():
                raise NotFoundError(
                    f"no memosys data directory at {directory}; check the path, "
                    f"or create one with `memosys init --data {directory}`",
                    detail={"data_dir": str(directory)},
                )
            if not create and (directory / DATABASE_FILE).stat().st_size == 0:
                raise StoreError(
                    f"the database {directory / DATABASE_FILE} is empty (truncated, or lost "
                    "in a copy); restore it from a backup: an empty store would start in its "
                    "place, without its memories, users or keys",
                    detail={"data_dir": str(directory)},
                )
            directory.mkdir(parents=True, exist_ok=True)
        settings = _settings_for(directory, settings)
        db = str(directory / DATABASE_FILE) if directory else ":memory:"
        store = SQLiteStore(db, settings.store, clock, shared_indexes=shared_indexes)
        inner = embedder or build_embedder(settings.embedder)
        opened = cls(store, settings, CachingEmbedder(inner), clock, directory)
        if settings.lifecycle.background_jobs if background_jobs is None else background_jobs:
            opened.start_jobs()
        return opened

    def close(self) -> None:
        """Stop the background jobs and close the store; the object is unusable afterwards."""
        self.stop_jobs()
        activation = getattr(self, "_activation_memory", None)
        if activation is not None:  # waits for a background promotion pass
            activation.close()
        self._access.close()
        self._store.close()

    def __enter__(self) -> MemOS:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def store(self) -> Store:
        """The storage backend (for tools and tests; prefer the methods here)."""
        return self._store

    @property
    def embedder(self) -> Embedder:
        """The configured embedder (recent query vectors remembered in memory)."""
        return self._embedder

    # -- cubes ---------------------------------------------------------------

    def create_cube(self, name: str, *, owner: str, description: str = "") -> MemCube:
        """Create a cube owned by ``owner``; ConflictError if the name is taken."""
        owner = self._cubes.ensure_user(owner)
        return self._cubes.create(name, owner, description)

    def cube(self, name_or_id: str, *, user_id: str) -> MemCube:
        """A cube of the user by name or id."""
        return self._cubes.find(self._cubes.reader(user_id), name_or_id)

    def list_cubes(self, *, user_id: str) -> CubeList:
        """The user's own cubes, then the cubes shared with it."""
        return self._cubes.visible(self._cubes.reader(user_id))

    # -- writes ----------------------------------------------------------------

    def add(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        user_id: str,
        cube: str | None = None,
        session_id: str | None = None,
        session_time: datetime | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> Items:
        """Store conversation messages, one memory per message (or per window).

        A message is ``{"role", "content"}`` plus optional ``name`` (speaker),
        ``timestamp`` and ``metadata`` (kept verbatim on its memory). A memory of a
        window (``reader.window_size`` > 1) carries every message's speaker, id, time
        (``event_time`` to ``event_end``) and metadata (see
        :func:`memosys.reader.messages.read_messages`).
        """
        user = self._cubes.ensure_user(user_id)
        target = self._cubes.for_write(user, cube)
        start = 0 if session_id is None else self._next_position(user, target, session_id)
        items = read_messages(
            messages,
            user_id=user,
            cube_id=target.id,
            session_id=session_id,
            session_time=session_time,
            metadata=metadata,
            tags=tags,
            start_position=start,
            settings=self.settings.reader,
            clock=self._clock,
        )
        return self._write(items, None)

    def add_texts(
        self,
        texts: Sequence[str],
        *,
        user_id: str,
        cube: str | None = None,
        embeddings: Vectors | Sequence[Sequence[float]] | None = None,
        metadatas: Sequence[dict[str, Any]] | None = None,
        kind: str = "note",
        tags: list[str] | None = None,
        event_times: Sequence[datetime] | None = None,
    ) -> Items:
        """Bulk import of plain texts; pass ``embeddings`` to skip the embedder."""
        user = self._cubes.ensure_user(user_id)
        target = self._cubes.for_write(user, cube)
        items = text_items(
            texts,
            user_id=user,
            cube_id=target.id,
            metadatas=metadatas,
            kind=kind,
            tags=tags,
            event_times=event_times,
            settings=self.settings.reader,
            clock=self._clock,
        )
        vectors = (None if embeddings is None
                   else checked_embeddings(embeddings, len(items), self._embedder.dimensions))
        return self._write(items, vectors)

    def add_document(
        self,
        source: str | Path,
        *,
        user_id: str,
        cube: str | None = None,
        text: str | None = None,
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> Items:
        """Chunk a document (a path, or ``text`` named by ``source``) into memories."""
        user = self._cubes.ensure_user(user_id)
        target = self._cubes.for_write(user, cube)
        items = read_document(
            source,
            text=text,
            user_id=user,
            cube_id=target.id,
            title=title,
            metadata=metadata,
            tags=tags,
            settings=self.settings.reader,
            clock=self._clock,
        )
        return self._write(items, None)

    def update(
        self,
        id: str,
        *,
        user_id: str,
        content: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
        importance: float | None = None,
        kind: str | None = None,
        if_version: int | None = None,
    ) -> MemoryItem:
        """Change a memory's content or metadata; a new content is re-embedded.

        Only values that differ from the current ones make a new version; an
        update that changes nothing returns the memory as it is. A change
        written by someone else meanwhile is kept (the update applies to it).
        ``if_version``: change the memory only if it is still at that version
        (VersionConflictError otherwise), so that a client does not overwrite a
        change it has not seen.
        """
        wanted = checked_changes(metadata, tags, importance, kind)
        reader = self.settings.reader
        text = None if content is None else checked_content(content, "content", reader)
        user = self._cubes.ensure_user(user_id)
        scope = self._cubes.scope(user, None)
        vectors: dict[str, Vectors] = {}  # by search text: made again, the change reuses them

        def writable(current: MemoryItem) -> None:
            self._cubes.check_write(user, current.cube_id)

        def make(current: MemoryItem) -> MemoryItem:
            changes = {k: v for k, v in wanted.items() if v != getattr(current, k)}
            if text is not None and text != current.content:
                memory_kind = changes.get("kind", current.kind)
                found = analyse(text, current.event_time or self._clock.now())
                changes.update(
                    content=text,
                    content_hash=content_hash(memory_kind.value, text),
                    keywords=found.keywords,
                    entities=found.entities,
                    time_refs=found.time_refs,
                )
            if not changes:
                return current
            updated = current.model_copy(update={**changes, "updated_at": self._clock.now()})
            vector = None
            if "content" in changes:
                seen = updated.search_text()
                vector = vectors.get(seen)
                if vector is None:
                    vector = vectors[seen] = self._embedder.embed([seen])
            with self.events.changing():
                stored = self._store.update_item(scope, updated, vector)
                self.events.emit("updated", [stored.id], cube_id=stored.cube_id, user_id=user)
            return stored

        return self._change(scope, id, make, if_version, writable)

    def delete(self, id: str, *, user_id: str, if_version: int | None = None) -> None:
        """Delete a memory: it becomes a tombstone, hidden everywhere, its history kept
        for time travel. :meth:`forget` removes it for good. ``if_version``: only if it
        is still at that version (VersionConflictError otherwise)."""
        user = self._cubes.ensure_user(user_id)
        scope = self._cubes.scope(user, None)

        def make(target: MemoryItem) -> MemoryItem:
            self._cubes.check_write(user, target.cube_id)
            with self.events.changing():
                tombstone = lifecycle_versions.delete(self._store, scope, target, self._clock.now())
                self.events.emit("deleted", [target.id], cube_id=target.cube_id, user_id=user)
            return tombstone

        self._change(scope, id, make, if_version)

    # -- reads -----------------------------------------------------------------

    def get(self, id: str, *, user_id: str) -> MemoryItem:
        """One memory by id; NotFoundError if missing or not the user's."""
        return self._get(self._cubes.scope(self._cubes.reader(user_id), None), id)

    def list(
        self,
        *,
        user_id: str,
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
        """Memories of the user (optionally one cube), filtered, in a stable order.

        Current memories only, unless ``include_history`` (superseded and merged
        ones too) or ``include_archived``, or the filter names ``state``.
        ``as_of`` (a time) or ``snapshot`` (a snapshot's name) list the memories
        as they stood then.
        """
        if not isinstance(limit, int) or limit < 1 or not isinstance(offset, int) or offset < 0:
            raise InvalidInputError("limit must be >= 1 and offset >= 0 (integers)")
        if order_by not in ("created_at", "event_time", "position"):
            raise InvalidInputError("order_by must be created_at, event_time or position")
        scope = self._cubes.search_scope(self._cubes.reader(user_id), cube)
        shown = visible_filter(
            parse_filter(filters),
            include_history=checked_flag(include_history, "include_history"),
            include_archived=checked_flag(include_archived, "include_archived"),
        )
        if as_of is not None or snapshot is not None:
            scope, at = self._time_point(scope, as_of, snapshot)
            versions = version_store(self._store)
            return versions.list_as_of(scope, at, shown, limit, offset, order_by)
        self._access.settle()
        return self._store.list_items(scope, shown, limit, offset, order_by)

    def count(
        self,
        *,
        user_id: str,
        cube: str | None = None,
        filters: dict[str, Any] | None = None,
        include_history: bool = False,
        include_archived: bool = False,
    ) -> int:
        """How many memories match, as :meth:`list` would return them (current ones only,
        unless ``include_history`` or ``include_archived``, or the filter names ``state``)."""
        scope = self._cubes.search_scope(self._cubes.reader(user_id), cube)
        shown = visible_filter(
            parse_filter(filters),
            include_history=checked_flag(include_history, "include_history"),
            include_archived=checked_flag(include_archived, "include_archived"),
        )
        self._access.settle()
        return self._store.count_items(scope, shown)

    def search(
        self,
        query: str,
        *,
        user_id: str,
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
        """Hybrid search (BM25 + dense, fused); every hit carries an ``explain``.

        ``mmr`` (0..1) trades relevance for diversity; ``neighbours`` adds the
        messages around each hit as context; the weights add recency and
        importance to the fused score. Current facts only, unless
        ``include_history`` (superseded and merged memories too) or
        ``include_archived``. ``as_of`` (a time) or ``snapshot`` (a snapshot's
        name) search the memories as they stood then (an exact scan; see
        :mod:`memosys.lifecycle.timetravel`). The hits count as used (their
        access count and time, which decay and the LRU/LFU caps read) unless
        ``record_access`` is false, as for browsing. ``query_vector`` is the query's
        embedding by the configured embedder, for a caller that has it: the query
        is then not embedded again (:mod:`memosys.api.given_vectors`).
        """
        record_access = checked_flag(record_access, "record_access")
        query = checked_query(query, self.settings.retrieval.max_query_chars)
        scope = self._cubes.search_scope(self._cubes.reader(user_id), cube)
        if mode != "bm25":
            self._cubes.check_embedder(scope, self._embedder.fingerprint)
        options = SearchOptions(
            top_k=top_k,
            mode=mode,
            fusion=fusion,
            recency_weight=recency_weight,
            importance_weight=importance_weight,
            mmr=mmr,
            neighbours=neighbours,
            query_vector=self._query_vector(query_vector),
        )
        shown = visible_filter(
            parse_filter(filters),
            include_history=checked_flag(include_history, "include_history"),
            include_archived=checked_flag(include_archived, "include_archived"),
        )
        if as_of is not None or snapshot is not None:
            return self._search_as_of(scope, query, shown, options, as_of, snapshot)
        hits = self._retriever.search(scope, query, shown, options)
        if self.settings.lifecycle.fact_lookup:
            limit = None if neighbours else top_k
            hits = lead_with_current_facts(self._store, scope, query, shown, hits, limit)
        if record_access:
            self._access.record([h.item.id for h in hits], self._clock.now())
        return hits

    def search_sessions(
        self,
        query: str,
        *,
        user_id: str,
        cube: CubeRef = None,
        top_k: int = 10,
        filters: dict[str, Any] | None = None,
        mode: Mode = "hybrid",
        query_vector: Vectors | Sequence[float] | None = None,
    ) -> SessionHits:
        """Sessions ranked by the message hits they contain (``query_vector`` as for
        :meth:`search`)."""
        scope = self._cubes.search_scope(self._cubes.reader(user_id), cube)
        if mode != "bm25":
            self._cubes.check_embedder(scope, self._embedder.fingerprint)
        return self._retriever.search_sessions(scope, query, parse_filter(filters), top_k, mode,
                                               self._query_vector(query_vector))

    def stats(self, *, user_id: str | None = None) -> dict[str, int]:
        """Counts of users, cubes, items and vectors, and the database size; with
        ``user_id``, counts of the cubes the user owns or shares, and of their items
        and vectors."""
        if user_id is None:
            return self._store.stats()
        scope = self._cubes.scope(self._cubes.ensure_user(user_id), None)
        return self._store.stats(scope.cube_ids)

    # -- helpers ---------------------------------------------------------------

    def _next_position(self, user: str, cube: MemCube, session_id: str) -> int:
        """Where the next message of a session goes: after the messages stored."""
        scope, session = Scope(user, (cube.id,)), Eq("session_id", session_id)
        count = self._store.count_items(scope, session)
        if count == 0:
            return 0
        (last,) = self._store.list_items(scope, session, 1, count - 1, "position")
        return (last.position or 0) + last.message_count

    def _query_vector(self, vector: object) -> Vectors | None:
        return None if vector is None else checked_query_vector(vector, self._embedder.dimensions)
